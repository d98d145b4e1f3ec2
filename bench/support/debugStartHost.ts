/**
 * The extension-host half of bench/debugStart.mjs, loaded by code-server as extensionTestsPath (the
 * same run() convention as test/editor/index.ts). It presses F5 the way the debug API does: a
 * breakpoint in examples/digits/train.py (the line computing `train_loss, train_acc`, inside the
 * epoch loop, so torch and numpy are imported, the data loaded and one epoch trained before it
 * stops), then `vscode.debug.startDebugging` with a `modelarts` launch configuration, and times:
 *
 * - t0: just before startDebugging;
 * - session started: `onDidStartDebugSession` (the dev container runs and debugpy answered the
 *   attach, so the split "container up" / "torch import + run to the breakpoint" shows);
 * - t1: the adapter's `stopped` event, seen by a DebugAdapterTracker registered for the
 *   `modelarts` type (`onDidSendMessage`: what the adapter sends to VS Code).
 *
 * The tracker also keeps the first time of every other event and response of the session
 * (initialized, attach, configurationDone, process, thread …) and a log of the protocol, and a
 * configuration provider registered after the extension's notes when the extension had resolved
 * the configuration (its checks done, before the dev container is created; the tracker is created
 * once the adapter's descriptor, i.e. the running container with debugpy listening, is there). Off the clock the
 * round then checks where it stopped (a stackTrace request: train.py at the breakpoint's line),
 * ends the session with `stopDebugging`, waits for `onDidTerminateDebugSession`, and polls Docker
 * until the session's dev container (label org.modelarts-training.dev-owner) is gone; one still
 * there after CLEANUP_TIMEOUT_MS is a leftover. A warm-up round (not counted) runs first, so the
 * image and the page cache are warm.
 *
 * Configuration (env MODELARTS_BENCH_CONFIG, JSON): codeDir, bootFile, dataDir, breakAt (the text
 * of the breakpoint's line), rounds, warmup, stopTimeoutMs, progressFile (JSON lines the launcher
 * prints), resultFile.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import Docker from 'dockerode';
import * as vscode from 'vscode';
import { DEV_OWNER_LABEL } from '../../src/backends/local/devContainer';
import { activateApi } from '../../test/support/editor';

interface Config {
  readonly codeDir: string;
  readonly bootFile: string;
  readonly dataDir: string;
  readonly breakAt: string;
  readonly rounds: number;
  readonly warmup: number;
  readonly stopTimeoutMs: number;
  readonly progressFile: string;
  readonly resultFile: string;
}

/** A debug adapter message as the tracker sees it (DAP). */
interface DapMessage {
  readonly type?: string;
  readonly event?: string;
  readonly command?: string;
  readonly success?: boolean;
  readonly message?: string;
  readonly body?: Record<string, unknown>;
}

const DEBUG_TYPE = 'modelarts';
const TERMINATE_TIMEOUT_MS = 30_000;
/** How long the session's dev container may take to go after the session ended. */
const CLEANUP_TIMEOUT_MS = 15_000;
const CLEANUP_POLL_MS = 100;
const SETTLE_MS = 1000;
const OUTPUT_TAIL = 3000;
const PROTOCOL_LIMIT = 300;

const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The value of the first `event` that satisfies `predicate`, or a rejection after `timeoutMs`. */
function nextEvent<T>(event: vscode.Event<T>, predicate: (value: T) => boolean, timeoutMs: number, what: string): { promise: Promise<T>; dispose: () => void } {
  let subscription: vscode.Disposable | undefined;
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      subscription?.dispose();
      reject(new Error(`${what}: not within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    subscription = event((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      subscription?.dispose();
      resolve(value);
    });
  });
  promise.catch(() => undefined); // a caller that stopped waiting does not leave an unhandled rejection
  return {
    promise,
    dispose: () => {
      clearTimeout(timer);
      subscription?.dispose();
    },
  };
}

/** One F5: what the tracker saw of the session, times in wall-clock ms. */
class Round {
  readonly events: Record<string, number> = {};
  readonly responses: Record<string, number> = {};
  readonly failedResponses: string[] = [];
  readonly adapterErrors: string[] = [];
  /** The protocol in both directions, without output events: [ms from t0, "→" to the adapter / "←" from it, what]. */
  readonly protocol: Array<[number, string, string]> = [];
  trackerAt: number | undefined;
  resolvedAt: number | undefined;
  adapterExit: { code: number | undefined; signal: string | undefined } | undefined;
  output = '';
  readonly stopped: Promise<{ at: number; session: vscode.DebugSession; body: Record<string, unknown> }>;
  private resolveStopped!: (value: { at: number; session: vscode.DebugSession; body: Record<string, unknown> }) => void;
  private rejectStopped!: (error: Error) => void;

  constructor(readonly t0: number) {
    this.stopped = new Promise((resolve, reject) => {
      this.resolveStopped = resolve;
      this.rejectStopped = reject;
    });
    this.stopped.catch(() => undefined);
  }

  tracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    this.trackerAt ??= wallNow();
    return {
      onWillReceiveMessage: (raw: unknown) => {
        const message = raw as DapMessage;
        if (this.protocol.length < PROTOCOL_LIMIT) this.protocol.push([wallNow() - this.t0, '→', `${message.type} ${message.command ?? message.event ?? ''}`]);
      },
      onDidSendMessage: (raw: unknown) => {
        const at = wallNow();
        const message = raw as DapMessage;
        if (message.event !== 'output' && this.protocol.length < PROTOCOL_LIMIT) {
          this.protocol.push([at - this.t0, '←', `${message.type} ${message.command ?? message.event ?? ''}${message.success === false ? ` failed: ${message.message ?? ''}` : ''}`]);
        }
        if (message.type === 'event' && message.event) {
          this.events[message.event] ??= at;
          if (message.event === 'output' && message.body?.category !== 'telemetry' && typeof message.body?.output === 'string') this.output = (this.output + message.body.output).slice(-OUTPUT_TAIL);
          if (message.event === 'stopped') this.resolveStopped({ at, session, body: message.body ?? {} });
        } else if (message.type === 'response' && message.command) {
          this.responses[message.command] ??= at;
          if (message.success === false) this.failedResponses.push(`${message.command}: ${message.message ?? '(no message)'}`);
        }
      },
      onError: (error) => this.adapterErrors.push(`${(wallNow() - this.t0).toFixed(0)} ms: ${messageOf(error)}`),
      onExit: (code, signal) => {
        this.adapterExit = { code, signal };
        this.rejectStopped(new Error(`the debug adapter exited (code ${code ?? '–'}, signal ${signal ?? '–'}) before a "stopped" event`));
      },
    };
  }

  /** Milliseconds from t0 of every first event and response. */
  relative(times: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.entries(times).map(([name, at]) => [name, at - this.t0]));
  }
}

/** The dev containers on this Docker engine (any owner), with their owner label. */
async function devContainers(docker: Docker): Promise<Array<{ id: string; owner: string; state: string }>> {
  const containers = await docker.listContainers({ all: true, filters: { label: [DEV_OWNER_LABEL] } });
  return containers.map((c) => ({ id: c.Id, owner: c.Labels[DEV_OWNER_LABEL] ?? '', state: c.State }));
}

/** 1-based line of the first line of `file` containing `text`. */
function lineOf(file: string, text: string): number {
  const index = fs.readFileSync(file, 'utf8').split('\n').findIndex((line) => line.includes(text));
  if (index < 0) throw new Error(`"${text}" is not in ${file}`);
  return index + 1;
}

export async function run(): Promise<void> {
  const config = JSON.parse(process.env.MODELARTS_BENCH_CONFIG ?? '{}') as Config;
  const progress = (event: string, data: Record<string, unknown> = {}) => fs.appendFileSync(config.progressFile, JSON.stringify({ event, at: wallNow(), ...data }) + '\n');
  const owner = `${os.hostname()}:${process.pid}`; // how the extension's engine labels the dev containers it makes
  const result: Record<string, unknown> = { owner, rounds: [] as unknown[] };
  const docker = new Docker();
  const subscriptions: vscode.Disposable[] = [];
  let current: Round | undefined;
  try {
    const activationStarted = performance.now();
    await activateApi();
    result.activationMs = performance.now() - activationStarted;
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) throw new Error('no workspace folder is open');
    const line = lineOf(config.bootFile, config.breakAt);
    result.breakpoint = { file: config.bootFile, line };
    const launch: vscode.DebugConfiguration = {
      type: DEBUG_TYPE,
      request: 'launch',
      name: 'bench',
      codeDir: config.codeDir,
      bootFile: config.bootFile,
      hyperparameters: { epochs: 2 },
      inputs: { data_url: config.dataDir },
      outputs: { train_url: '' },
      flavor: 'modelarts.local.cpu.1u2g',
    };
    result.launch = launch;
    subscriptions.push(
      vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, { createDebugAdapterTracker: (session) => current?.tracker(session) }),
      // Registered after the extension's provider, so VS Code calls it once the extension resolved the configuration.
      vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, {
        resolveDebugConfigurationWithSubstitutedVariables: (_folder, resolved) => {
          if (current) current.resolvedAt ??= wallNow();
          return resolved;
        },
      }),
    );
    progress('ready', { line, owner, activationMs: result.activationMs });

    const total = config.warmup + config.rounds;
    for (let index = 0; index < total; index++) {
      const warm = index < config.warmup;
      const round = warm ? 0 : index - config.warmup + 1;
      const entry: Record<string, unknown> = { round, warmup: warm };
      if (!warm) (result.rounds as unknown[]).push(entry);
      else result.warmupRound = entry;
      const before = new Set((await devContainers(docker)).map((c) => c.id));
      const breakpoint = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(config.bootFile), new vscode.Position(line - 1, 0)));
      vscode.debug.addBreakpoints([breakpoint]);
      await sleep(SETTLE_MS); // the round starts from a quiet host
      progress('start', { round, warmup: warm });
      const sessionStarted = nextEvent(vscode.debug.onDidStartDebugSession, (s) => s.type === DEBUG_TYPE, config.stopTimeoutMs, 'onDidStartDebugSession');
      const t0 = wallNow();
      current = new Round(t0);
      const thisRound = current;
      let session: vscode.DebugSession | undefined;
      try {
        const starting = Promise.resolve(vscode.debug.startDebugging(folder, launch)).then((started) => {
          entry.startDebuggingMs = wallNow() - t0;
          entry.startDebuggingResult = started;
          // false: VS Code did not start it (no such debug type, or the configuration was refused).
          if (!started) throw new Error('vscode.debug.startDebugging returned false: the session did not start');
        });
        void sessionStarted.promise.then((s) => {
          entry.sessionStartedMs = wallNow() - t0;
          session ??= s;
        });
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no "stopped" event within ${config.stopTimeoutMs / 1000} s`)), config.stopTimeoutMs)));
        const stopped = await Promise.race([thisRound.stopped, starting.then(() => thisRound.stopped), timeout]).finally(() => clearTimeout(timer));
        const t1 = stopped.at;
        session = stopped.session;
        entry.stoppedMs = t1 - t0;
        entry.stoppedReason = stopped.body.reason;
        progress('stopped', { round, warmup: warm, ms: t1 - t0, sessionStartedMs: entry.sessionStartedMs });

        // Off the clock: where it stopped, and the session's dev container.
        const threadId = stopped.body.threadId as number;
        const stack = (await session.customRequest('stackTrace', { threadId, startFrame: 0, levels: 1 })) as { stackFrames?: Array<{ line: number; source?: { path?: string } }> };
        const frame = stack.stackFrames?.[0];
        // In code-server the path comes back as a vscode-remote:// URI of the file on the server.
        const framePath = frame?.source?.path;
        const file = framePath && /^[a-z][a-z0-9+.-]*:\/\//i.test(framePath) ? vscode.Uri.parse(framePath).path : framePath;
        entry.frame = { path: framePath, line: frame?.line };
        entry.atBreakpoint = file === config.bootFile && frame?.line === line && stopped.body.reason === 'breakpoint';
        const during = (await devContainers(docker)).filter((c) => !before.has(c.id));
        const ours = during.filter((c) => c.owner === owner);
        entry.containers = (ours.length ? ours : during).map((c) => ({ id: c.id.slice(0, 12), owner: c.owner, state: c.state }));
      } catch (error) {
        entry.error = messageOf(error);
        progress('error', { round, message: entry.error });
      } finally {
        sessionStarted.dispose();
        Object.assign(entry, {
          resolvedMs: thisRound.resolvedAt === undefined ? undefined : thisRound.resolvedAt - t0,
          trackerMs: thisRound.trackerAt === undefined ? undefined : thisRound.trackerAt - t0,
          events: thisRound.relative(thisRound.events),
          responses: thisRound.relative(thisRound.responses),
          failedResponses: thisRound.failedResponses,
          adapterErrors: thisRound.adapterErrors,
          protocol: thisRound.protocol,
          adapterExit: thisRound.adapterExit,
          outputTail: thisRound.output,
        });
      }

      // End the session (every modelarts session this round started) and wait until it is gone.
      const sessions = session ? [session] : vscode.debug.activeDebugSession?.type === DEBUG_TYPE ? [vscode.debug.activeDebugSession] : [];
      for (const s of sessions) {
        const terminated = nextEvent(vscode.debug.onDidTerminateDebugSession, (t) => t.id === s.id, TERMINATE_TIMEOUT_MS, 'onDidTerminateDebugSession');
        const stopping = wallNow();
        try {
          await vscode.debug.stopDebugging(s);
          await terminated.promise;
          entry.terminateMs = wallNow() - stopping;
        } catch (error) {
          entry.terminateError = messageOf(error);
          terminated.dispose();
        }
      }
      current = undefined;
      vscode.debug.removeBreakpoints([breakpoint]);

      // No dev container of this session may remain: the ones it made (seen at the stop), and any of this editor's.
      const sessionIds = new Set(((entry.containers as Array<{ id: string }> | undefined) ?? []).map((c) => c.id));
      const cleanupStarted = wallNow();
      let remaining: Array<{ id: string; owner: string; state: string }> = [];
      for (;;) {
        remaining = (await devContainers(docker)).filter((c) => c.owner === owner || sessionIds.has(c.id.slice(0, 12)));
        if (!remaining.length || wallNow() - cleanupStarted > CLEANUP_TIMEOUT_MS) break;
        await sleep(CLEANUP_POLL_MS);
      }
      entry.cleanupMs = remaining.length ? undefined : wallNow() - cleanupStarted;
      entry.leftovers = remaining.map((c) => ({ id: c.id.slice(0, 12), owner: c.owner, state: c.state }));
      entry.otherDevContainers = (await devContainers(docker)).filter((c) => c.owner !== owner && !sessionIds.has(c.id.slice(0, 12)) && !before.has(c.id)).length;
      progress('round-end', { round, warmup: warm, leftovers: remaining.length, cleanupMs: entry.cleanupMs, error: entry.error });
      fs.writeFileSync(config.resultFile, JSON.stringify(result, null, 2));
      // Without a warm image there is nothing to measure: a warm-up that failed ends the run.
      if (warm && entry.error) throw new Error(`the warm-up session failed: ${String(entry.error)}`);
    }
  } catch (error) {
    result.error = error instanceof Error ? `${error.message}\n${error.stack}` : String(error);
    progress('error', { message: messageOf(error) });
    throw error;
  } finally {
    for (const subscription of subscriptions.splice(0)) subscription.dispose();
    fs.writeFileSync(config.resultFile, JSON.stringify(result, null, 2));
    progress('done');
  }
}
