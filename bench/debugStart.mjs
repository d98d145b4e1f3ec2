// Debug start: F5 → breakpoint hit on a warm image, in a real extension host (code-server 4.100.3 +
// Chromium, as the editor suite runs). The breakpoint is in examples/digits/train.py on the line
// computing `train_loss, train_acc` (inside the epoch loop: torch and numpy imported, the data
// loaded, one epoch trained). bench/support/debugStartHost.ts (out/bench/support/debugStartHost.js)
// runs in the host as extensionTestsPath: it activates the extension, sets the breakpoint, calls
// vscode.debug.startDebugging with a `modelarts` launch configuration and times until the adapter's
// `stopped` event (a DebugAdapterTracker), noting when onDidStartDebugSession fired (dev container
// up, debugpy attached); then it ends the session and checks that no dev container remains. One
// warm-up session, then --rounds measured ones. Target: median ≤ 5 s.
// Baselines in this process (plain Node, no VS Code), one warm-up then --rounds each:
//   - `docker run --rm <preset image> python -c "import torch"`: what importing torch costs in a
//     fresh container (also with the flavor's limits, --cpus 1 --memory 2g, and `python -c pass`,
//     the container alone);
//   - the engine without the editor: LocalBackend.devContainers.launch(request, {debug: true}),
//     attachDebugpy (test/support/dapClient) with the same breakpoint, until `stopped`; dev.remove().
// Figures go to out/bench/debugStart.json. Exit 0 when the editor's median meets the target with
// every round stopped at the breakpoint and no dev container left, 1 if not, 2 on error. The host
// loads dist/extension.js, rebuilt first when src/ is newer. --editor 0 measures the baselines
// alone (no verdict: exit 1); the load average of each part is printed, as the figures follow it.
//   node bench/debugStart.mjs [--rounds 5] [--editor 1] [--baselines 1] [--quiet]
//   MODELARTS_BENCH_EXTENSION=<other checkout> node bench/debugStart.mjs    (measure a change there)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { EXTENSION_ROOT, ROOT, PRESET_ENGINE, ensureBundle, median, nowMs, numberOption, outModule, printTable, quietLogger, removeContainersOf, removeFolders, requireDocker, runIfMain, tempFolder, verdict } from './common.mjs';

const TARGET_MS = 5000;
const IMAGE = 'modelarts-training/pytorch:1.13-cpu';
const FLAVOR = 'modelarts.local.cpu.1u2g';
/** The flavor's limits as `docker run` flags (1 CPU, 2 GiB), for the import-torch baseline in the same box. */
const FLAVOR_LIMITS = ['--cpus', '1', '--memory', '2g'];
const EPOCHS = 2;
const DIGITS_DIR = path.join(ROOT, 'examples', 'digits');
const TRAIN = path.join(DIGITS_DIR, 'train.py');
const DATA = path.join(DIGITS_DIR, 'data');
/** Inside the epoch loop, after an epoch's batches (as test/integration/devContainer.test.ts). */
const BREAK_AT = 'train_loss, train_acc = total_loss / len(y_train), correct / len(y_train)';
const STOP_TIMEOUT_MS = 120_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));


/** 1-based line of the first line of `file` containing `text`. */
function lineOf(file, text) {
  const index = fs.readFileSync(file, 'utf8').split('\n').findIndex((line) => line.includes(text));
  if (index < 0) throw new Error(`"${text}" is not in ${file}`);
  return index + 1;
}

/** min / median / max of the finite values. */
function stats(values) {
  const finite = values.filter(Number.isFinite);
  return { median: median(finite), min: finite.length ? Math.min(...finite) : NaN, max: finite.length ? Math.max(...finite) : NaN, n: finite.length };
}

// ---- Baseline 1: docker run ------------------------------------------------------------------

/** Wall time of `docker run --rm [flags] <image> python -c <code>`, ms. */
function dockerRun(code, flags = []) {
  const args = ['run', '--rm', ...flags, IMAGE, 'python', '-c', code];
  const started = performance.now();
  const result = spawnSync('docker', args, { encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')}: exit ${result.status}: ${result.stderr.trim()}`);
  return ms;
}

/** The three docker-run variants, interleaved round by round (round 0 is the warm-up). */
function dockerBaselines(rounds, quiet) {
  const variants = {
    importTorch: () => dockerRun('import torch'),
    importTorchLimited: () => dockerRun('import torch', FLAVOR_LIMITS),
    pass: () => dockerRun('pass'),
  };
  const results = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let round = 0; round <= rounds; round++) {
    const times = Object.entries(variants).map(([name, measure]) => [name, measure()]);
    if (round > 0) for (const [name, ms] of times) results[name].push(ms);
    if (!quiet) console.log(`  docker run ${round ? `round ${round}` : 'warm-up'}: ${times.map(([name, ms]) => `${name} ${ms.toFixed(0)} ms`).join(', ')}`);
  }
  return results;
}

// ---- Baseline 2: the engine without the editor -------------------------------------------------

async function engineBaseline(rounds, quiet) {
  const { LocalBackend } = outModule('src/backends/local/localBackend');
  const { DEV_OWNER_LABEL } = outModule('src/backends/local/devContainer');
  const { attachDebugpy } = outModule('test/support/dapClient');
  const docker = new Docker();
  const logger = quietLogger();
  const engine = new LocalBackend({ dataDir: tempFolder('debugstart-data'), dockerHost: '', logger });
  const state = await engine.connect();
  if (state.kind !== 'available') throw new Error(`the local engine is not available: ${JSON.stringify(state)}`);
  const line = lineOf(TRAIN, BREAK_AT);
  // The job spec the launch configuration stands for (src/core/launchConfig.ts jobRequestFromLaunch).
  const request = {
    kind: 'job',
    metadata: { name: 'digits-train' },
    algorithm: {
      code_dir: DIGITS_DIR,
      boot_file: TRAIN,
      engine: PRESET_ENGINE,
      parameters: [{ name: 'epochs', value: String(EPOCHS) }],
      inputs: [{ name: 'data_url', remote: { obs: { obs_url: DATA } } }],
      outputs: [{ name: 'train_url' }],
    },
    spec: { resource: { flavor_id: FLAVOR, node_count: 1 } },
  };
  const owner = `${os.hostname()}:${process.pid}`;
  const results = [];
  try {
    for (let round = 0; round <= rounds; round++) {
      const entry = { round, warmup: round === 0 };
      await sleep(1000); // from a quiet machine, as the editor rounds
      const t0 = nowMs();
      let dev;
      let client;
      try {
        dev = await engine.devContainers.launch(request, { debug: true });
        entry.launchMs = nowMs() - t0; // container up, debugpy listening
        client = await attachDebugpy(dev.debugPort, { pathMappings: [dev.codeMapping], breakpoints: { [TRAIN]: [line] } });
        entry.attachedMs = nowMs() - t0;
        const stopped = await client.waitForEvent('stopped', STOP_TIMEOUT_MS);
        entry.stoppedMs = nowMs() - t0;
        const stack = await client.request('stackTrace', { threadId: stopped.body?.threadId, levels: 1 });
        const frame = stack.body?.stackFrames?.[0];
        entry.frame = { path: frame?.source?.path, line: frame?.line };
        entry.atBreakpoint = frame?.source?.path === TRAIN && frame?.line === line && stopped.body?.reason === 'breakpoint';
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
      } finally {
        client?.close();
        const removing = nowMs();
        await dev?.remove();
        entry.removeMs = nowMs() - removing;
      }
      const left = await docker.listContainers({ all: true, filters: { label: [`${DEV_OWNER_LABEL}=${owner}`] } });
      entry.leftovers = left.map((c) => c.Id.slice(0, 12));
      results.push(entry);
      if (!quiet) {
        console.log(
          `  engine ${round ? `round ${round}` : 'warm-up'}: launch ${entry.launchMs?.toFixed(0)} ms, attached ${entry.attachedMs?.toFixed(0)} ms, stopped ${entry.stoppedMs?.toFixed(0)} ms` +
            `${entry.atBreakpoint === false ? ` at ${entry.frame.path}:${entry.frame.line}, not the breakpoint` : ''}; removed in ${entry.removeMs.toFixed(0)} ms${entry.leftovers.length ? `; LEFT: ${entry.leftovers.join(', ')}` : ''}${entry.error ? `; error: ${entry.error}` : ''}`,
        );
      }
      if (round === 0 && entry.error) throw new Error(`engine warm-up session: ${entry.error}`);
    }
  } finally {
    await engine.devContainers.removeAll().catch(() => undefined);
    await removeContainersOf(docker, engine.storeId);
    engine.dispose();
  }
  return { rounds: results.filter((r) => !r.warmup), warmup: results[0], problems: logger.problems };
}

// ---- The editor -----------------------------------------------------------------------------

async function editorRounds(rounds, quiet) {
  ensureBundle();
  const hostEntry = path.join(ROOT, 'out', 'bench', 'support', 'debugStartHost.js');
  if (!fs.existsSync(hostEntry)) {
    console.error('out/bench/support/debugStartHost.js is missing: run "node scripts/build.mjs --tests" first (npm run bench does).');
    process.exit(2);
  }
  const { CodeServer, openBrowser, screenshot } = outModule('test/support/codeServer');
  const { DEV_OWNER_LABEL } = outModule('src/backends/local/devContainer');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-bench-debugstart-home-'));
  const progressFile = path.join(home, 'progress.jsonl');
  const resultFile = path.join(home, 'host-result.json');
  fs.writeFileSync(progressFile, '');
  const config = { codeDir: DIGITS_DIR, bootFile: TRAIN, dataDir: DATA, breakAt: BREAK_AT, rounds, warmup: 1, stopTimeoutMs: STOP_TIMEOUT_MS, progressFile, resultFile };

  const started = Date.now();
  const server = await CodeServer.start({ home, env: { MODELARTS_BENCH_CONFIG: JSON.stringify(config) } });
  const session = await openBrowser();
  let owner;
  let hostResult;
  try {
    const exited = new Promise((resolve) => void session.page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
    // The workspace is examples/digits, as `npm start` opens it.
    await session.page.goto(
      server.workbenchUrl(DIGITS_DIR, [
        ['extensionDevelopmentPath', server.remoteUri(EXTENSION_ROOT)],
        ['extensionTestsPath', server.remoteUri(hostEntry.replace(/\.js$/, ''))],
      ]),
    );
    let read = 0;
    let exitCode;
    let shot = 0;
    void exited.then((code) => (exitCode = code));
    const deadline = Date.now() + 120_000 + (rounds + 1) * (STOP_TIMEOUT_MS + 60_000);
    while (exitCode === undefined && Date.now() < deadline) {
      const text = fs.readFileSync(progressFile, 'utf8');
      const events = text.slice(read).split('\n').filter(Boolean).map((line) => JSON.parse(line));
      read = text.length;
      for (const event of events) {
        if (event.event === 'ready') owner = event.owner;
        if (event.event === 'error') {
          console.error(`  extension host: ${event.round !== undefined ? `round ${event.round}: ` : ''}${event.message}`);
          await screenshot(session.page, `debugStart-error-${++shot}`).catch(() => undefined);
          continue;
        }
        if (quiet) continue;
        const what = event.round === undefined ? '' : event.warmup ? ' warm-up' : ` round ${event.round}`;
        const detail =
          event.event === 'ready'
            ? `: breakpoint at train.py:${event.line}, activation ${event.activationMs.toFixed(0)} ms`
            : event.event === 'stopped'
              ? `: F5 → stopped ${event.ms.toFixed(0)} ms (session started at ${event.sessionStartedMs?.toFixed(0) ?? '–'} ms)`
              : event.event === 'round-end'
                ? `: ${event.leftovers ? `${event.leftovers} dev container(s) LEFT` : `dev container gone ${event.cleanupMs?.toFixed(0)} ms after the session ended`}`
                : '';
        console.log(`  [host +${((event.at - started) / 1000).toFixed(1)} s] ${event.event}${what}${detail}`);
      }
      await sleep(100);
    }
    if (exitCode === undefined) {
      await screenshot(session.page, 'debugStart-timeout').catch(() => undefined);
      throw new Error(`no result from the extension host in time; code-server log: ${server.logFile}`);
    }
    hostResult = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
    owner ??= hostResult.owner;
  } finally {
    await session.browser.close().catch(() => undefined);
    await server.stop();
    // Dev containers the host's engine left (server.stop() removes job containers only).
    if (owner) {
      const docker = new Docker();
      const left = await docker.listContainers({ all: true, filters: { label: [`${DEV_OWNER_LABEL}=${owner}`] } }).catch(() => []);
      for (const info of left) await docker.getContainer(info.Id).remove({ force: true, v: true }).catch(() => undefined);
    }
  }
  return hostResult;
}

// ---- Run and report -------------------------------------------------------------------------

export async function run({ rounds = numberOption('--rounds', 5), editor = numberOption('--editor', 1), baselines = numberOption('--baselines', 1), quiet = process.argv.includes('--quiet') } = {}) {
  requireDocker();
  if (spawnSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' }).status !== 0) {
    console.error(`The preset image ${IMAGE} is missing (build it with: bash scripts/setup.sh test).`);
    process.exit(2);
  }
  const started = Date.now();
  const errors = []; // [part, error]: each part runs even when another failed
  // The machine's 1-minute load average at the start and end of each part: the figures are only comparable on a quiet machine.
  const load = {};
  const noteLoad = (part, edge) => ((load[part] ??= {})[edge] = os.loadavg()[0]);
  let docker;
  let engine;
  let host;
  if (baselines) {
    console.log(`Baselines: docker run (warm-up + ${rounds})`);
    noteLoad('docker', 'start');
    try {
      docker = dockerBaselines(rounds, quiet);
    } catch (error) {
      errors.push(['docker run', error]);
    }
    noteLoad('docker', 'end');
    console.log(`Baselines: the engine's dev container without the editor (warm-up + ${rounds})`);
    noteLoad('engine', 'start');
    try {
      engine = await engineBaseline(rounds, quiet);
    } catch (error) {
      errors.push(['engine', error]);
    }
    noteLoad('engine', 'end');
  }
  if (editor) {
    console.log(`Editor: F5 in code-server (warm-up + ${rounds})`);
    noteLoad('editor', 'start');
    try {
      host = await editorRounds(rounds, quiet);
      if (host.error) errors.push(['editor', new Error(`extension host: ${host.error.split('\n')[0]} (screenshots in out/test-results/screenshots)`)]);
    } catch (error) {
      errors.push(['editor', error]);
    }
    noteLoad('editor', 'end');
  }
  removeFolders();

  // ---- Report ------------------------------------------------------------------------------
  const f = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '–');
  const edRounds = host?.rounds ?? [];
  const enRounds = engine?.rounds ?? [];
  const figures = {
    editorStopped: stats(edRounds.map((r) => r.stoppedMs)),
    editorSessionStarted: stats(edRounds.map((r) => r.sessionStartedMs)),
    editorResolved: stats(edRounds.map((r) => r.resolvedMs)),
    editorResolvedToAdapter: stats(edRounds.map((r) => r.trackerMs - r.resolvedMs)),
    editorStartedToStopped: stats(edRounds.map((r) => r.stoppedMs - r.sessionStartedMs)),
    engineStopped: stats(enRounds.map((r) => r.stoppedMs)),
    engineLaunched: stats(enRounds.map((r) => r.launchMs)),
    engineAttachedToStopped: stats(enRounds.map((r) => r.stoppedMs - r.attachedMs)),
    importTorch: stats(docker?.importTorch ?? []),
    importTorchLimited: stats(docker?.importTorchLimited ?? []),
    pythonPass: stats(docker?.pass ?? []),
  };
  const row = (label, s) => [label, f(s.median), f(s.min), f(s.max), String(s.n)];
  const line = host?.breakpoint?.line ?? lineOf(TRAIN, BREAK_AT);
  printTable(
    `F5 → breakpoint hit: examples/digits/train.py:${line} (epochs ${EPOCHS}, ${FLAVOR}), warm image, one warm-up then ${rounds} rounds (ms)`,
    ['figure', 'median', 'min', 'max', 'n'],
    [
      row(`editor F5 → stopped (target ≤ ${TARGET_MS})`, figures.editorStopped),
      row('editor F5 → session started (container up, debugpy attached)', figures.editorSessionStarted),
      row('editor session started → stopped (torch import, run to the breakpoint)', figures.editorStartedToStopped),
      row('  editor F5 → configuration resolved (the extension\'s checks)', figures.editorResolved),
      row('  editor resolved → adapter (container up, debugpy listening)', figures.editorResolvedToAdapter),
      row('engine launch → stopped (no editor)', figures.engineStopped),
      row('engine launch → debugpy listening', figures.engineLaunched),
      row('engine attached → stopped', figures.engineAttachedToStopped),
      row('docker run --rm … python -c "import torch"', figures.importTorch),
      row('  the same with --cpus 1 --memory 2g (the flavor)', figures.importTorchLimited),
      row('docker run --rm … python -c "pass"', figures.pythonPass),
    ],
  );
  const ratios = {
    editorToEngine: figures.editorStopped.median / figures.engineStopped.median,
    editorToImportTorch: figures.editorStopped.median / figures.importTorch.median,
  };
  printTable('Ratios of medians', ['ratio', 'value'], [
    ['editor F5 → stopped / engine launch → stopped', f(ratios.editorToEngine, 2)],
    ['editor F5 → stopped / docker run import torch', f(ratios.editorToImportTorch, 2)],
  ]);
  if (edRounds.length) {
    printTable(
      'Editor rounds (ms from F5; terminate: stopDebugging → onDidTerminateDebugSession; gone: then until no dev container remains)',
      ['round', 'session started', 'startDebugging resolved', 'stopped', 'where', 'terminate', 'gone', 'left'],
      edRounds.map((r) => [
        String(r.round),
        f(r.sessionStartedMs),
        f(r.startDebuggingMs),
        f(r.stoppedMs),
        r.error ? `error: ${r.error}` : r.atBreakpoint ? 'breakpoint' : `${r.stoppedReason} at ${path.basename(r.frame?.path ?? '?')}:${r.frame?.line}`,
        f(r.terminateMs),
        f(r.cleanupMs),
        String(r.leftovers?.length ?? '?'),
      ]),
    );
    // The adapter's first events and responses, median over the rounds, in the order they came.
    const names = [...new Set(edRounds.flatMap((r) => [...Object.keys(r.events ?? {}).map((n) => `event ${n}`), ...Object.keys(r.responses ?? {}).map((n) => `response ${n}`)]))];
    const timeline = names
      .map((name) => {
        const [kind, key] = name.split(' ');
        return [name, median(edRounds.map((r) => (kind === 'event' ? r.events : r.responses)?.[key]).filter(Number.isFinite))];
      })
      .sort((a, b) => a[1] - b[1]);
    console.log(`adapter timeline, median ms from F5: configuration resolved ${f(median(edRounds.map((r) => r.resolvedMs).filter(Number.isFinite)))}, tracker created ${f(median(edRounds.map((r) => r.trackerMs).filter(Number.isFinite)))}, ${timeline.map(([name, ms]) => `${name} ${f(ms)}`).join(', ')}`);
  }

  const editorLeftovers = edRounds.reduce((n, r) => n + (r.leftovers?.length ?? 0), 0) + (host?.warmupRound?.leftovers?.length ?? 0);
  const engineLeftovers = enRounds.reduce((n, r) => n + (r.leftovers?.length ?? 0), 0);
  const allAtBreakpoint = edRounds.length === rounds && edRounds.every((r) => r.atBreakpoint && !r.error);
  const summary = {
    targetMs: TARGET_MS,
    editorMedianMs: figures.editorStopped.median,
    ...ratios,
    editorLeftovers,
    engineLeftovers,
    allAtBreakpoint,
    engineAllAtBreakpoint: enRounds.length > 0 && enRounds.every((r) => r.atBreakpoint && !r.error),
    activationMs: host?.activationMs,
    load,
  };
  const out = path.join(ROOT, 'out', 'bench');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, 'debugStart.json'),
    JSON.stringify({ name: 'debug start', rounds, startedAt: started, breakpoint: { file: TRAIN, line }, summary, figures, editor: host, engine, docker, errors: errors.map(([part, error]) => `${part}: ${error?.stack ?? error}`) }, null, 2),
  );
  console.log(`load average (1 min) at the start → end of each part on ${os.cpus().length} cores: ${Object.entries(load).map(([part, l]) => `${part} ${f(l.start, 1)} → ${f(l.end, 1)}`).join(', ')}`);
  if (EXTENSION_ROOT !== ROOT) console.log(`extension under test: ${EXTENSION_ROOT}`);
  if (engine?.problems.length) console.log(`engine warnings: ${engine.problems.slice(0, 5).join(' | ')}`);
  if (errors.length) {
    for (const [part, error] of errors) console.error(`${part}: ${error instanceof Error ? error.message : String(error)}`);
    throw errors[0][1];
  }
  const ok = figures.editorStopped.median <= TARGET_MS && allAtBreakpoint && editorLeftovers === 0;
  console.log(
    editor
      ? `F5 → stopped median ${f(figures.editorStopped.median)} ms (target ≤ ${TARGET_MS}): ${verdict(figures.editorStopped.median <= TARGET_MS)}; every round at the breakpoint: ${allAtBreakpoint ? 'yes' : 'NO'}; dev containers left: ${editorLeftovers}; ` +
          `engine alone ${f(figures.engineStopped.median)} ms, import torch ${f(figures.importTorch.median)} ms; took ${((Date.now() - started) / 1000).toFixed(0)} s; results in out/bench/debugStart.json`
      : `baselines only (--editor 0): no verdict; took ${((Date.now() - started) / 1000).toFixed(0)} s; results in out/bench/debugStart.json`,
  );
  return { name: 'debug start', ...summary, ok: Boolean(editor) && ok };
}

runIfMain(import.meta.url, run);
