/**
 * A small Debug Adapter Protocol client over TCP, to drive debugpy in a dev container the way
 * VS Code does (initialize, attach, setBreakpoints, configurationDone, stopped, continue).
 */
import * as net from 'node:net';

export interface DapMessage {
  readonly seq: number;
  readonly type: 'request' | 'response' | 'event';
  readonly command?: string;
  readonly event?: string;
  readonly success?: boolean;
  readonly message?: string;
  readonly request_seq?: number;
  readonly body?: Record<string, unknown>;
}

export class DapClient {
  private seq = 1;
  private buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, { resolve: (m: DapMessage) => void; reject: (e: Error) => void }>();
  private readonly waiters: Array<{ event: string; resolve: (m: DapMessage) => void }> = [];
  readonly events: DapMessage[] = [];
  readonly output: string[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('close', () => {
      for (const { reject } of this.pending.values()) reject(new Error('the debug adapter closed the connection'));
      this.pending.clear();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<DapClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new DapClient(socket)));
      socket.once('error', reject);
    });
  }

  request(command: string, args: Record<string, unknown> = {}): Promise<DapMessage> {
    const seq = this.seq++;
    const body = JSON.stringify({ seq, type: 'request', command, arguments: args });
    this.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return new Promise((resolve, reject) => this.pending.set(seq, { resolve, reject }));
  }

  /** The next `event` (or one already received after `after` events). */
  waitForEvent(event: string, timeoutMs = 60_000, after = 0): Promise<DapMessage> {
    const seen = this.events.slice(after).find((m) => m.event === event);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        event,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString())?.[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const message = JSON.parse(this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString()) as DapMessage;
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.dispatch(message);
    }
  }

  private dispatch(message: DapMessage): void {
    if (message.type === 'response' && message.request_seq !== undefined) {
      const pending = this.pending.get(message.request_seq);
      this.pending.delete(message.request_seq);
      pending?.resolve(message);
      return;
    }
    if (message.type !== 'event') return;
    this.events.push(message);
    if (message.event === 'output' && typeof message.body?.output === 'string') this.output.push(message.body.output);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter && waiter.event === message.event) {
        this.waiters.splice(i, 1);
        waiter.resolve(message);
      }
    }
  }
}

/** A full attach to a listening debugpy: breakpoints set, configuration done; resolves with the client once attached. */
export async function attachDebugpy(
  port: number,
  options: { readonly pathMappings: ReadonlyArray<{ localRoot: string; remoteRoot: string }>; readonly breakpoints?: Record<string, number[]> },
): Promise<DapClient> {
  const client = await DapClient.connect(port);
  const init = await client.request('initialize', { clientID: 'modelarts-test', adapterID: 'debugpy', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
  if (!init.success) throw new Error(`initialize failed: ${init.message}`);
  // debugpy answers attach only after configurationDone, so do not wait for it first.
  const attached = client.request('attach', { justMyCode: true, redirectOutput: true, pathMappings: options.pathMappings });
  await client.waitForEvent('initialized');
  for (const [file, lines] of Object.entries(options.breakpoints ?? {})) {
    const set = await client.request('setBreakpoints', { source: { path: file }, breakpoints: lines.map((line) => ({ line })) });
    if (!set.success) throw new Error(`setBreakpoints failed: ${set.message}`);
  }
  await client.request('configurationDone');
  const attach = await attached;
  if (!attach.success) throw new Error(`attach failed: ${attach.message}`);
  return client;
}
