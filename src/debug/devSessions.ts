/**
 * Debug sessions of type `modelarts`: each adapter VS Code asks for gets a fresh dev container.
 * Debugging, VS Code speaks to debugpy in the container through a relay on 127.0.0.1 (debugpyProxy.ts;
 * no Python extension needed); run without debugging (Ctrl+F5), a small inline adapter streams the
 * container's output into the Debug Console and ends with the program.
 *
 * A container lives exactly as long as its adapter: the adapter's stop (end, stop button, restart)
 * and the session's end both remove it, and so does the extension's deactivation.
 */
import { StringDecoder } from 'node:string_decoder';
import * as vscode from 'vscode';
import { withCancellableProgress } from '../cancellableProgress';
import { errorMessage } from '../core/errors';
import { DEBUG_TYPE } from '../core/launchConfig';
import type { JobCreateRequest } from '../core/job';
import type { BackendRegistry } from '../backends/backendRegistry';
import type { DevContainer, DevContainerOutput, DevContainerShell } from '../backends/capabilities';
import { DebugpyProxy } from './debugpyProxy';
import { ATTACH_KEY, FLAVOR_REASON_KEY, JOB_REQUEST_KEY, requireDevContainers } from './launchConfigurations';

export interface DevSession {
  readonly session: vscode.DebugSession;
  readonly container: DevContainer;
  /** The job request the container was built from: what promotion creates. */
  readonly request: JobCreateRequest;
  /** Why the request has its flavor. */
  readonly flavorReason: string | undefined;
}

export class DevSessions implements vscode.DebugAdapterDescriptorFactory, vscode.DebugAdapterTrackerFactory, vscode.Disposable {
  private readonly sessions = new Map<string, DevSession>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** A dev session started or ended. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly disposables: vscode.Disposable[] = [this.changeEmitter];

  constructor(
    private readonly backends: BackendRegistry,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, this),
      vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, this),
      vscode.debug.onDidTerminateDebugSession((session) => void this.end(session.id)),
      vscode.debug.onDidStartDebugSession((session) => this.greet(session)),
    );
  }

  /** The dev session of a debug session (the active one by default). */
  get(session: vscode.DebugSession | undefined = vscode.debug.activeDebugSession): DevSession | undefined {
    return session ? this.sessions.get(session.id) : undefined;
  }

  get all(): readonly DevSession[] {
    return [...this.sessions.values()];
  }

  async createDebugAdapterDescriptor(session: vscode.DebugSession): Promise<vscode.DebugAdapterDescriptor> {
    await this.end(session.id); // a restart: the previous container goes first
    const request = session.configuration[JOB_REQUEST_KEY] as JobCreateRequest | undefined;
    if (!request) throw new Error(`Launch configuration "${session.name}" was not resolved by the ModelArts extension.`);
    const debug = session.configuration.noDebug !== true;
    const runAdapter = debug ? undefined : new RunAdapter(session.name);
    const container = await withCancellableProgress(`ModelArts: ${debug ? 'debugging' : 'running'} ${session.name}`, (signal, onProgress) =>
      requireDevContainers(this.backends).host.launch(request, {
        debug,
        signal,
        onProgress,
        ...(runAdapter ? { onOutput: (output: DevContainerOutput) => runAdapter.output(output) } : {}),
      }),
    );
    const flavorReason = typeof session.configuration[FLAVOR_REASON_KEY] === 'string' ? (session.configuration[FLAVOR_REASON_KEY] as string) : undefined;
    this.sessions.set(session.id, { session, container, request, flavorReason });
    this.changeEmitter.fire();
    void vscode.commands.executeCommand('setContext', 'modelarts.devSessionActive', true);
    this.log.info(`Dev container ${container.id} (${container.containerId.slice(0, 12)}) for "${session.name}": ${container.command.join(' ')}`);
    if (runAdapter) {
      runAdapter.bind(container);
      return new vscode.DebugAdapterInlineImplementation(runAdapter);
    }
    const attach = (session.configuration[ATTACH_KEY] ?? {}) as Record<string, unknown>;
    return new vscode.DebugAdapterInlineImplementation(new DebugpyProxy(container.debugPort ?? 0, attach));
  }

  createDebugAdapterTracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    // The adapter stops at the end, at a stop, and before a restart: its container goes with it.
    return { onWillStopSession: () => void this.end(session.id), onExit: () => void this.end(session.id) };
  }

  /** What the launch did before the program started, in the session's Debug Console. */
  private greet(session: vscode.DebugSession): void {
    const dev = this.sessions.get(session.id);
    if (!dev || vscode.debug.activeDebugSession?.id !== session.id) return;
    const lines = [
      `ModelArts dev container ${dev.container.id} (${dev.container.job.algorithm.engine.image_url}): ${dev.container.command.join(' ')}`,
      ...dev.container.preparation,
    ];
    vscode.debug.activeDebugConsole.appendLine(lines.join('\n'));
  }

  private async end(sessionId: string): Promise<void> {
    const dev = this.sessions.get(sessionId);
    if (!dev) return;
    this.sessions.delete(sessionId);
    void vscode.commands.executeCommand('setContext', 'modelarts.devSessionActive', this.sessions.size > 0);
    this.changeEmitter.fire();
    try {
      await dev.container.remove();
      this.log.info(`Dev container ${dev.container.id} removed`);
    } catch (error) {
      this.log.warn(`Removing dev container ${dev.container.id}: ${errorMessage(error)}`);
    }
  }

  dispose(): void {
    for (const id of [...this.sessions.keys()]) void this.end(id);
    for (const disposable of this.disposables) disposable.dispose();
  }
}

type DapRequest = { readonly seq: number; readonly type: 'request'; readonly command: string; readonly arguments?: unknown };

/**
 * The adapter of a run without debugging: the program already runs in its container; this
 * answers the protocol's few requests, puts the output into the Debug Console, and ends the
 * session when the program ends (or removes the container when the user stops it).
 */
class RunAdapter implements vscode.DebugAdapter {
  private readonly messages = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
  readonly onDidSendMessage = this.messages.event;
  private seq = 1;
  private launched = false;
  private readonly pending: DevContainerOutput[] = [];
  private container: DevContainer | undefined;

  constructor(private readonly name: string) {}

  output(output: DevContainerOutput): void {
    if (this.launched) this.event('output', { category: output.stream, output: output.text });
    else this.pending.push(output);
  }

  bind(container: DevContainer): void {
    this.container = container;
  }

  handleMessage(message: vscode.DebugProtocolMessage): void {
    const request = message as DapRequest;
    if (request.type !== 'request') return;
    switch (request.command) {
      case 'initialize':
        this.respond(request, { supportsConfigurationDoneRequest: true, supportsTerminateRequest: true });
        this.event('initialized');
        break;
      case 'launch':
        this.respond(request);
        this.started();
        break;
      case 'disconnect':
      case 'terminate':
        void this.container?.remove().then(() => this.respond(request));
        break;
      case 'threads':
        this.respond(request, { threads: [] });
        break;
      default:
        this.respond(request);
    }
  }

  private started(): void {
    this.launched = true;
    const container = this.container;
    this.event('process', { name: this.name, isLocalProcess: false, startMethod: 'launch' });
    for (const output of this.pending.splice(0)) this.output(output);
    void container?.exited.then(({ exitCode, oomKilled }) => {
      const how = oomKilled ? ` (killed: out of memory for the flavor ${container.job.spec.resource.flavor_id})` : '';
      this.event('output', { category: 'console', output: `\nThe program ended with exit code ${exitCode}${how}.\n` });
      this.event('exited', { exitCode });
      this.event('terminated');
    });
  }

  private respond(request: DapRequest, body: Record<string, unknown> = {}): void {
    this.messages.fire({ seq: this.seq++, type: 'response', request_seq: request.seq, command: request.command, success: true, body } as vscode.DebugProtocolMessage);
  }

  private event(event: string, body?: Record<string, unknown>): void {
    this.messages.fire({ seq: this.seq++, type: 'event', event, ...(body ? { body } : {}) } as vscode.DebugProtocolMessage);
  }

  dispose(): void {
    this.messages.dispose();
  }
}

/** A terminal attached to a shell in the dev container (TTY, resizable), through Docker's exec API. */
export function devContainerTerminal(dev: DevSession, log: vscode.LogOutputChannel): vscode.Terminal {
  const written = new vscode.EventEmitter<string>();
  const closed = new vscode.EventEmitter<number | void>();
  let shell: DevContainerShell | undefined;
  const typed: string[] = [];
  const pty: vscode.Pseudoterminal = {
    onDidWrite: written.event,
    onDidClose: closed.event,
    open: (dimensions) => {
      const size = { columns: dimensions?.columns ?? 80, rows: dimensions?.rows ?? 24 };
      dev.container.openShell(size).then(
        (opened) => {
          shell = opened;
          const decoder = new StringDecoder('utf8');
          opened.stream.on('data', (chunk: Buffer) => written.fire(decoder.write(chunk)));
          void opened.exited.then((code) => closed.fire(code));
          for (const text of typed.splice(0)) opened.stream.write(text);
        },
        (error: unknown) => {
          log.warn(`Opening a shell in dev container ${dev.container.id}: ${errorMessage(error)}`);
          written.fire(`Could not open a shell in the dev container: ${errorMessage(error)}\r\n`);
          closed.fire(1);
        },
      );
    },
    close: () => shell?.close(),
    handleInput: (data) => {
      if (shell) shell.stream.write(data);
      else typed.push(data);
    },
    setDimensions: (dimensions) => void shell?.resize(dimensions.columns, dimensions.rows),
  };
  return vscode.window.createTerminal({ name: `ModelArts: ${dev.session.name}`, pty, iconPath: new vscode.ThemeIcon('vm') });
}
