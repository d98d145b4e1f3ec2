// State latency: a container's exit (Docker's `die` event, timeNano) → the job's phase is final
// (onDidChangeJob with a terminal phase) and its terminal job event is emitted (onDidAddEvent).
// 20 trivial jobs, one after another; every 4th exits 1. Target: median ≤ 300 ms.
// The engine's steps are timed by wrapping its (TypeScript-private) methods on this one instance,
// without touching src/: die received → inspect → log drained → record saved → events appended.
//   node bench/stateLatency.mjs [--jobs 20]
import Docker from 'dockerode';
import { PRESET_ENGINE, median, nowMs, numberOption, outModule, printTable, quantile, quietLogger, removeContainersOf, removeFolders, requireDocker, runIfMain, tempFolder, verdict } from './common.mjs';

const TARGET_MS = 300;
const JOBS = numberOption('--jobs', 20);

export async function run({ jobs = JOBS } = {}) {
  requireDocker();
  const { LocalBackend } = outModule('src/backends/local/localBackend');
  const { LABELS } = outModule('src/backends/local/docker');
  const { isTerminalPhase } = outModule('src/core/lifecycle');
  const docker = new Docker();
  const dataDir = tempFolder('state-data');
  const codeDir = tempFolder('state-code', {
    'main.py': 'import os, sys\nprint("hello from", os.environ.get("HOSTNAME", "?"), flush=True)\nsys.exit(1 if "--exit=1" in sys.argv else 0)\n',
  });
  const logger = quietLogger();
  const engine = new LocalBackend({ dataDir, dockerHost: '', logger });
  const timeline = new Map(); // job id → { dieMs, ...step times (wall ms) }
  const at = (id) => {
    if (!timeline.has(id)) timeline.set(id, {});
    return timeline.get(id);
  };

  // Our own view of Docker: the die event's exact timeNano (as BigInt: a double loses the nanoseconds).
  const events = await docker.getEvents({ filters: { type: ['container'], event: ['die'], label: [`${LABELS.store}=${engine.storeId}`] } });
  let pending = '';
  events.on('data', (chunk) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (!line.trim()) continue;
      const event = JSON.parse(line);
      const nano = BigInt(/"timeNano":(\d+)/.exec(line)[1]);
      at(event.Actor.Attributes[LABELS.jobId]).dieMs = Number(nano / 1000n) / 1000;
    }
  });

  // Instrument the engine's exit path on this instance only.
  const wrap = (owner, name, before, after) => {
    const original = owner[name].bind(owner);
    owner[name] = (...args) => {
      before?.(...args);
      const result = original(...args);
      return after && result && typeof result.then === 'function' ? result.then((v) => (after(...args), v)) : result;
    };
  };
  // The backend's parts (TypeScript-private, reachable from JS): task exits and log captures.
  const { exits, captures } = engine.runtime.parts;
  wrap(exits, 'onDockerEvent', (event) => {
    if (event.Action === 'die') at(event.Actor.Attributes[LABELS.jobId]).received = nowMs();
  });
  wrap(exits, 'onTaskExited', (id) => (at(id).exitStart = nowMs()));
  wrap(captures, 'drain', (id) => (at(id).inspected = nowMs()), (id) => (at(id).drained = nowMs()));
  const store = engine.runtime.store;
  wrap(store, 'save', undefined, (record) => {
    const id = record.job.metadata.id;
    if (isTerminalPhase(record.job.status.phase)) at(id).saved = nowMs();
  });
  wrap(store, 'appendEvents', undefined, (id, list) => {
    if (list.some((e) => e.source === 'Job' && /completed|failed|terminated/.test(e.message))) at(id).appended = nowMs();
  });
  engine.onDidAddEvent(({ jobId, event }) => {
    if (event.source === 'Job' && /^Training job (completed|failed|terminated)/.test(event.message)) at(jobId).eventFired = nowMs();
  });
  engine.onDidChangeJob(({ job }) => {
    if (isTerminalPhase(job.status.phase) && at(job.metadata.id).phaseFired === undefined) {
      at(job.metadata.id).phaseFired = nowMs();
      at(job.metadata.id).phase = job.status.phase;
    }
  });

  const state = await engine.connect();
  if (state.kind !== 'available') throw new Error(`engine not available: ${JSON.stringify(state)}`);
  const rows = [];
  try {
    for (let i = 0; i < jobs; i++) {
      const fail = i % 4 === 3;
      const created = await engine.createJob({
        kind: 'job',
        metadata: { name: `bench-state-${i}` },
        algorithm: { code_dir: codeDir, boot_file: 'main.py', engine: { ...PRESET_ENGINE }, parameters: fail ? [{ name: 'exit', value: '1' }] : [] },
      });
      const id = created.metadata.id;
      // Timestamps are taken in the listeners; this only waits until all three are in.
      await new Promise((resolve, reject) => {
        const started = Date.now();
        const check = setInterval(() => {
          const t = timeline.get(id);
          const finished = Boolean(t?.phaseFired && t.eventFired && t.dieMs);
          if (!finished && Date.now() - started < 60_000) return;
          clearInterval(check);
          if (finished) resolve();
          else reject(new Error(`job ${i} did not finish within 60 s`));
        }, 5);
      });
      rows.push({ ...timeline.get(id), expected: fail ? 'Failed' : 'Completed' });
    }
  } finally {
    engine.dispose();
    events.destroy();
    await removeContainersOf(docker, engine.storeId);
    removeFolders();
  }

  if (process.env.BENCH_DEBUG) console.log(rows);
  const wrong = rows.filter((r) => r.phase !== r.expected);
  const d = (key) => rows.map((r) => r[key] - r.dieMs);
  const step = (from, to) => rows.map((r) => r[to] - r[from]);
  const stat = (label, values) => [label, median(values), quantile(values, 0.9), Math.max(...values)];
  printTable(`State latency: container die → engine (${rows.length} jobs, ms after Docker's die timeNano)`, ['measure', 'median', 'p90', 'max'], [
    stat('onDidChangeJob terminal phase', d('phaseFired')),
    stat('onDidAddEvent terminal event', d('eventFired')),
  ]);
  printTable('Where the time goes (ms, per step of onTaskExited)', ['step', 'median', 'p90', 'max'], [
    stat('die → event received by engine', d('received')),
    stat('received → queued handler runs', step('received', 'exitStart')),
    stat('handler → inspect done', step('exitStart', 'inspected')),
    stat('inspect → log drained (drainCapture)', step('inspected', 'drained')),
    stat('drained → job.json saved', step('drained', 'saved')),
    stat('saved → events.jsonl appended', step('saved', 'appended')),
    stat('appended → onDidChangeJob fired', step('appended', 'phaseFired')),
  ]);
  const med = median(d('phaseFired'));
  console.log(`phases right: ${rows.length - wrong.length}/${rows.length}; engine warnings: ${logger.problems.length}${logger.problems.length ? ` (${logger.problems[0]})` : ''}`);
  console.log(`target median ≤ ${TARGET_MS} ms: ${fmtMs(med)} → ${verdict(med <= TARGET_MS)}`);
  return { name: 'state latency', median: med, target: TARGET_MS, ok: med <= TARGET_MS && wrong.length === 0 };
}

function fmtMs(v) {
  return `${v.toFixed(1)} ms`;
}

runIfMain(import.meta.url, run);
