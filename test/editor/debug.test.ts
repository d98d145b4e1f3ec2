/**
 * Debugging training code in a dev container inside a real VS Code: the digits example's
 * `modelarts` launch configuration stops at a breakpoint in train.py (location, a local variable,
 * the container's MA_JOB_DIR), a shell opens in the same container, the session runs to the end,
 * and promotion turns the configuration into a job that completes with the same arguments. No
 * container of a session remains afterwards, also when the program crashes or the user stops it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import * as vscode from 'vscode';
import type { ModelArtsApi } from '../../src/api';
import { MA_JOB_DIR, bootArguments } from '../../src/core/contract';
import { DEV_OWNER_LABEL } from '../../src/backends/local/devContainer';
import { activateApi, jobSource, rejectsNaming, report } from '../support/editor';
import { waitForTerminal } from '../support/jobs';

const docker = new Docker();
const CONFIG = 'ModelArts: train digits';
const BREAK_AT = 'train_loss, train_acc = total_loss / len(y_train), correct / len(y_train)';
const run = (command: string, ...args: unknown[]) => vscode.commands.executeCommand(command, ...args);

interface DapEvent {
  readonly type: string;
  readonly event?: string;
  readonly body?: Record<string, unknown>;
}

/** Every message each `modelarts` adapter sent to VS Code, by session id. */
const sent = new Map<string, DapEvent[]>();
const arrivals = new vscode.EventEmitter<{ session: string; message: DapEvent }>();

function nextEvent(sessionId: string, event: string, timeoutMs = 120_000, after = 0): Promise<DapEvent> {
  const seen = (sent.get(sessionId) ?? []).slice(after).find((m) => m.event === event);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" from session ${sessionId} within ${timeoutMs} ms`)), timeoutMs);
    const subscription = arrivals.event(({ session, message }) => {
      if (session !== sessionId || message.event !== event) return;
      clearTimeout(timer);
      subscription.dispose();
      resolve(message);
    });
  });
}

function startedSession(name: string): Promise<vscode.DebugSession> {
  return new Promise((resolve) => {
    const subscription = vscode.debug.onDidStartDebugSession((session) => {
      if (session.name !== name) return;
      subscription.dispose();
      resolve(session);
    });
  });
}

function terminated(session: vscode.DebugSession, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`session ${session.name} did not end within ${timeoutMs} ms`)), timeoutMs);
    const subscription = vscode.debug.onDidTerminateDebugSession((ended) => {
      if (ended.id !== session.id) return;
      clearTimeout(timer);
      subscription.dispose();
      resolve();
    });
  });
}

/** Dev containers this extension host owns (its own process id is in their owner label). */
async function ownDevContainers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${DEV_OWNER_LABEL}=${os.hostname()}:${process.pid}`] } });
}

async function noDevContainerLeft(): Promise<void> {
  for (let i = 0; i < 50 && (await ownDevContainers()).length; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual((await ownDevContainers()).map((c) => c.Names), [], 'no dev container of this editor remains');
}

describe('Debugging in a dev container', function () {
  let api: ModelArtsApi;
  let folder: vscode.WorkspaceFolder;
  let train: vscode.Uri;
  let tracking: vscode.Disposable;

  before(async function () {
    api = await activateApi();
    folder = vscode.workspace.workspaceFolders?.[0] as vscode.WorkspaceFolder;
    train = vscode.Uri.joinPath(folder.uri, 'train.py');
    tracking = vscode.debug.registerDebugAdapterTrackerFactory('modelarts', {
      createDebugAdapterTracker: (session) => ({
        onDidSendMessage: (message: DapEvent) => {
          if (message.type !== 'event') return;
          const list = sent.get(session.id) ?? [];
          list.push(message);
          sent.set(session.id, list);
          arrivals.fire({ session: session.id, message });
        },
      }),
    });
  });

  afterEach(async function () {
    // A failed test must not leave its session (and container) to the next one.
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    while (vscode.debug.activeDebugSession) {
      const session = vscode.debug.activeDebugSession;
      const ended = terminated(session, 20_000);
      await vscode.debug.stopDebugging(session);
      await ended.catch(() => undefined);
    }
  });

  after(async function () {
    tracking?.dispose();
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    await vscode.debug.stopDebugging();
  });

  it('stops at a breakpoint in train.py with the job\'s paths, opens a shell in the container, and promotes it to a job that completes with the same arguments', async function () {
    const line = fs.readFileSync(train.fsPath, 'utf8').split('\n').findIndex((text) => text.includes(BREAK_AT));
    assert.ok(line >= 0);
    const breakpoint = new vscode.SourceBreakpoint(new vscode.Location(train, new vscode.Position(line, 0)));
    vscode.debug.addBreakpoints([breakpoint]);
    const starting = startedSession(CONFIG);
    const begun = Date.now();
    assert.equal(await vscode.debug.startDebugging(folder, CONFIG), true, 'the launch.json configuration starts');
    const session = await starting;
    assert.equal(session.type, 'modelarts');
    const stopped = await nextEvent(session.id, 'stopped');
    report(`F5 → breakpoint hit in ${Date.now() - begun} ms`);
    assert.equal(stopped.body?.reason, 'breakpoint');

    const threadId = stopped.body?.threadId as number;
    const stack = (await session.customRequest('stackTrace', { threadId, levels: 1 })) as { stackFrames: Array<{ id: number; line: number; source: { path: string } }> };
    const frame = stack.stackFrames[0];
    assert.ok(frame);
    // A remote window (code-server) hands paths back as vscode-remote URIs of the same file.
    const stoppedAt = frame.source.path.startsWith('vscode-remote:') ? vscode.Uri.parse(frame.source.path).path : frame.source.path;
    assert.equal(stoppedAt, train.fsPath, 'the stopped location is the workspace file (path mappings)');
    assert.equal(frame.line, line + 1);
    const scopes = (await session.customRequest('scopes', { frameId: frame.id })) as { scopes: Array<{ name: string; variablesReference: number }> };
    const locals = scopes.scopes.find((scope) => scope.name === 'Locals');
    const variables = (await session.customRequest('variables', { variablesReference: locals?.variablesReference })) as { variables: Array<{ name: string; value: string }> };
    assert.equal(variables.variables.find((v) => v.name === 'epoch')?.value, '1');
    assert.equal(variables.variables.find((v) => v.name === 'hidden')?.value, '64');
    const env = (await session.customRequest('evaluate', { expression: "__import__('os').environ['MA_JOB_DIR']", frameId: frame.id, context: 'repl' })) as { result: string };
    assert.equal(env.result, `'${MA_JOB_DIR}'`, 'the container has the job\'s MA_JOB_DIR');

    // The container: code bind-mounted, port on 127.0.0.1, and a shell inside it.
    const shell = (await run('modelarts.debug.openShell', { sessionId: session.id })) as { containerId: string; terminal: string };
    const inspect = await docker.getContainer(shell.containerId).inspect();
    assert.ok(inspect.HostConfig.Binds?.includes(`${folder.uri.fsPath}:${MA_JOB_DIR}/digits`), `binds: ${inspect.HostConfig.Binds?.join(', ')}`);
    assert.deepEqual((inspect.HostConfig.PortBindings?.['5678/tcp'] ?? []).map((b: { HostIp: string }) => b.HostIp), ['127.0.0.1']);
    const devArguments = (inspect.Config.Cmd ?? []).slice((inspect.Config.Cmd ?? []).findIndex((part: string) => part.endsWith('/train.py')) + 1);
    const outputMount = inspect.Mounts.find((m: { Destination: string }) => m.Destination.endsWith('/outputs/train_url_0'));
    assert.ok(outputMount, 'the output folder is mounted');
    const terminal = vscode.window.terminals.find((t) => t.name === shell.terminal);
    assert.ok(terminal, `the terminal ${shell.terminal} is open`);
    terminal.sendText(`echo "$(id -u) $MA_JOB_DIR" > ${MA_JOB_DIR.replace('user-job-dir', 'outputs')}/train_url_0/from-shell.txt`);
    const marker = path.join(outputMount.Source, 'from-shell.txt');
    for (let i = 0; i < 100 && !fs.existsSync(marker); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(fs.readFileSync(marker, 'utf8').trim(), `1000 ${MA_JOB_DIR}`, 'the shell runs in the container as ma-user');

    // Continue to the end: the session ends and its container goes.
    vscode.debug.removeBreakpoints([breakpoint]);
    const ended = terminated(session);
    await session.customRequest('continue', { threadId });
    await ended;
    assert.ok(fs.existsSync(path.join(outputMount.Source, 'checkpoint.pt')), 'the debug run wrote its checkpoint');
    await noDevContainerLeft();

    // Promote the same configuration: a job with the same arguments, which completes with its checkpoint.
    const jobId = (await run('modelarts.debug.promote', { configuration: CONFIG })) as string;
    const job = await waitForTerminal(jobSource(api), jobId, 180_000);
    assert.equal(job.status.phase, 'Completed', await api.jobs.log(jobId));
    assert.equal(job.metadata.name.startsWith('digits'), true);
    assert.deepEqual(bootArguments(job.algorithm), devArguments, 'the job gets the arguments the dev container got');
    const output = (await run('modelarts.jobs.revealOutput', { jobId, output: 'train_url' })) as { path: string };
    assert.ok(fs.existsSync(path.join(output.path, 'checkpoint.pt')), 'the job\'s checkpoint is in its output');
    report(`promoted to ${job.metadata.name}: ${bootArguments(job.algorithm).join(' ')}`);
  });

  it('removes the container when the program crashes, and when the user stops a run', async function () {
    const code = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-crash-'));
    fs.chmodSync(code, 0o755);
    fs.writeFileSync(path.join(code, 'crash.py'), 'print("about to fail", flush=True)\nraise RuntimeError("boom")\n');
    const crash = { type: 'modelarts', request: 'launch', name: 'crash', codeDir: code, bootFile: path.join(code, 'crash.py') };
    const starting = startedSession('crash');
    assert.equal(await vscode.debug.startDebugging(folder, crash), true);
    const session = await starting;
    const ended = terminated(session);
    // The debugger stops at the uncaught exception first; continuing lets the program die.
    const stopped = await Promise.race([nextEvent(session.id, 'stopped', 60_000), ended.then(() => undefined)]);
    if (stopped) {
      assert.equal(stopped.body?.reason, 'exception');
      await session.customRequest('continue', { threadId: stopped.body?.threadId }).then(undefined, () => undefined);
    }
    await ended;
    await noDevContainerLeft();

    // Run without debugging (Ctrl+F5), stopped by the user while it trains.
    const long = { type: 'modelarts', request: 'launch', name: 'long run', codeDir: folder.uri.fsPath, bootFile: train.fsPath, hyperparameters: { epochs: 5000 }, inputs: { data_url: path.join(folder.uri.fsPath, 'data') } };
    const runStarting = startedSession('long run');
    assert.equal(await vscode.debug.startDebugging(folder, long, { noDebug: true }), true);
    const runSession = await runStarting;
    const epoch = await new Promise<void>((resolve) => {
      const subscription = arrivals.event(({ session: id, message }) => {
        if (id === runSession.id && message.event === 'output' && /epoch 1 /.test(String(message.body?.output))) {
          subscription.dispose();
          resolve();
        }
      });
    });
    await epoch;
    assert.ok((await ownDevContainers()).length === 1, 'the run has its container');
    const runEnded = terminated(runSession);
    await vscode.debug.stopDebugging(runSession);
    await runEnded;
    await noDevContainerLeft();
  });

  it('restarting a session recreates its container; Run (Ctrl+F5) from the command runs the same job to its end', async function () {
    const line = fs.readFileSync(train.fsPath, 'utf8').split('\n').findIndex((text) => text.includes(BREAK_AT));
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(train, new vscode.Position(line, 0)))]);
    const starting = startedSession(CONFIG);
    assert.equal(await vscode.debug.startDebugging(folder, CONFIG), true);
    const session = await starting;
    await nextEvent(session.id, 'stopped');
    const [before] = await ownDevContainers();
    assert.ok(before, 'the session has its container');
    const seen = (sent.get(session.id) ?? []).length;
    await run('workbench.action.debug.restart');
    // The restarted session stops at the breakpoint again, in a new container.
    const restarted = vscode.debug.activeDebugSession ?? session;
    await nextEvent(restarted.id, 'stopped', 120_000, restarted.id === session.id ? seen : 0);
    const after = await ownDevContainers();
    assert.equal(after.length, 1, `one container after the restart: ${after.map((c) => c.Names).join(', ')}`);
    assert.notEqual(after[0]?.Id, before.Id, 'the restart made a new container');
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    const ended = terminated(restarted);
    await vscode.debug.stopDebugging(restarted);
    await ended;
    await noDevContainerLeft();

    // The run command on train.py uses the launch.json configuration of that boot file (epochs 3).
    const result = (await run('modelarts.debug.run', { file: train.fsPath })) as { sessionId: string } | undefined;
    assert.ok(result?.sessionId, 'the run started a session');
    const runSession = vscode.debug.activeDebugSession;
    if (runSession?.id === result.sessionId) await terminated(runSession).catch(() => undefined);
    await nextEvent(result.sessionId, 'terminated', 120_000);
    const output = (sent.get(result.sessionId) ?? []).filter((m) => m.event === 'output').map((m) => String(m.body?.output)).join('');
    assert.match(output, /epoch 3 loss/, 'the program output reached the Debug Console');
    assert.match(output, /ended with exit code 0/);
    await noDevContainerLeft();
  });

  it('promotes a Python file through the launch.json configuration that debugs it', async function () {
    const jobId = (await run('modelarts.debug.promote', { file: train.fsPath })) as string;
    const job = await api.jobs.get(jobId);
    assert.ok(job);
    assert.deepEqual(
      job.algorithm.parameters.map((p) => `${p.name}=${p.value}`),
      ['epochs=3', 'lr=0.01'],
      'the hyperparameters of "ModelArts: train digits"',
    );
    assert.ok(job.metadata.name.startsWith('digits'), job.metadata.name);
    await api.jobs.stop(jobId).catch(() => undefined);
  });

  it('refuses a bad configuration naming the attribute, creating nothing', async function () {
    const bad = { type: 'modelarts', request: 'launch', name: 'bad', bootFile: train.fsPath, inputs: { data_url: '/no/such/folder' } };
    assert.equal(await vscode.debug.startDebugging(folder, bad), false, 'the launch is refused');
    await noDevContainerLeft();
    await rejectsNaming(run('modelarts.debug.promote', { configuration: bad }), 'inputs.data_url', '/no/such/folder');
    await rejectsNaming(run('modelarts.debug.promote', { configuration: { ...bad, inputs: {}, nodeCount: 2 } }), 'nodeCount', 'must be 1');
  });
});
