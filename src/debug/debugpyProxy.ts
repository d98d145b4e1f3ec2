/**
 * The debug adapter of a debug session: VS Code speaks the Debug Adapter Protocol to debugpy in the
 * dev container through this small relay on 127.0.0.1, which turns the session's `launch` into the
 * `attach` debugpy needs (it already runs the program and waits). The session stays a launch, so the
 * toolbar says Stop, not Disconnect; restarting makes a new container (a restart request is not
 * offered to VS Code, so it ends this session and asks for a new adapter).
 */
import * as net from 'node:net';
import * as vscode from 'vscode';

type Message = { readonly seq: number; readonly type: string; command?: string; event?: string; body?: Record<string, unknown>; arguments?: Record<string, unknown> };

const HEADER_END = '\r\n\r\n';

export class DebugpyProxy implements vscode.DebugAdapter {
  private readonly messages = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.messages.event;
  private readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private readonly queued: string[] = [];
  private connected = false;
  private terminated = false;
  /** Seq numbers of launch requests relayed as attach: their responses go back as launch. */
  private readonly launches = new Set<number>();

  constructor(
    port: number,
    /** What debugpy's attach takes: justMyCode, redirectOutput, pathMappings. */
    private readonly attachArguments: Readonly<Record<string, unknown>>,
  ) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('connect', () => {
      this.connected = true;
      for (const frame of this.queued.splice(0)) this.socket.write(frame);
    });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.output(`The connection to debugpy failed: ${error.message}\n`));
    this.socket.on('close', () => this.end());
  }

  handleMessage(raw: vscode.DebugProtocolMessage): void {
    const message = { ...(raw as Message) };
    if (message.type === 'request' && message.command === 'launch') {
      this.launches.add(message.seq);
      message.command = 'attach';
      message.arguments = { ...message.arguments, ...this.attachArguments, request: 'attach' };
    }
    this.send(message);
  }

  private send(message: Message): void {
    const body = JSON.stringify(message);
    const frame = `Content-Length: ${Buffer.byteLength(body, 'utf8')}${HEADER_END}${body}`;
    if (this.connected) this.socket.write(frame);
    else this.queued.push(frame);
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf(HEADER_END);
      if (headerEnd < 0) return;
      const length = Number(/Content-Length:\s*(\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'))?.[1] ?? NaN);
      if (!Number.isFinite(length)) {
        this.buffer = Buffer.alloc(0);
        return;
      }
      const start = headerEnd + HEADER_END.length;
      if (this.buffer.length < start + length) return;
      const body = this.buffer.subarray(start, start + length).toString('utf8');
      this.buffer = this.buffer.subarray(start + length);
      try {
        this.deliver(JSON.parse(body) as Message);
      } catch {
        // A frame that is not JSON: debugpy never sends one; skip it rather than end the session.
      }
    }
  }

  private deliver(message: Message): void {
    if (message.type === 'response' && message.command === 'initialize' && message.body) {
      message.body = { ...message.body, supportsRestartRequest: false };
    }
    const requestSeq = (message as { request_seq?: number }).request_seq;
    if (message.type === 'response' && message.command === 'attach' && requestSeq !== undefined && this.launches.delete(requestSeq)) {
      message.command = 'launch';
    }
    if (message.type === 'event' && message.event === 'terminated') this.terminated = true;
    this.messages.fire(message as vscode.DebugProtocolMessage);
  }

  private output(text: string): void {
    this.messages.fire({ seq: 0, type: 'event', event: 'output', body: { category: 'console', output: text } } as vscode.DebugProtocolMessage);
  }

  /** debugpy went away (the program ended, or the container was removed): the session ends too. */
  private end(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.messages.fire({ seq: 0, type: 'event', event: 'terminated' } as vscode.DebugProtocolMessage);
  }

  dispose(): void {
    this.socket.destroy();
    this.messages.dispose();
  }
}
