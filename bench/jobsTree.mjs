// Jobs tree: 10,000 jobs in a backend. The real JobsModel and JobsTreeProvider (src/views), bundled
// by esbuild with `vscode` aliased to bench/support/vscodeShim.mjs, over a real BackendRegistry
// holding the in-memory backend (test/support/memoryBackend.ts), seeded with 10,000 deep-frozen
// jobs (seedJobs, no events); changes are fired with its fireJobChange hook, through its ledger and
// the registry, as any backend's changes reach the views.
// A consumer stands in for VS Code's tree view: on onDidChangeTreeData(undefined) it asks
// getChildren() and getTreeItem() for every row, on onDidChangeTreeData(nodes) getTreeItem() for
// each node, as ExtHostTreeView does.
//   (a) cold: new model + provider, reload(), getChildren(), getTreeItem() of the 50 jobs + "Load more"
//   (b) a shown job changes phase ('updated')
//   (c) the same with a phase filter (Running): the job leaves the filter, so the list is redrawn
//   (d) a job is created ('created'): the model re-sorts and the list is redrawn
// The provider debounces changes by 50 ms. (b)-(d) time the work without that wait: setTimeout is
// replaced by a queue while they run; the clock runs from the engine's fire() through the
// synchronous handlers, then the queued flush is called at once and the clock stops when the
// consumer has every tree item. One extra row times (b) with the real timer, wait included.
// Baselines, same run: JSON.stringify of the page's tree items (what the extension host serializes
// to the renderer for the same rows anyway) and a naive provider that copies and sorts all jobs on
// every call. Medians and p90 of --runs (default 30) after 5 warm-up runs; targets ≤ 100 ms (a),
// ≤ 10 ms (b)-(d).
//   node bench/jobsTree.mjs [--jobs 10000] [--runs 30]
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { ROOT, median, numberOption, printTable, quantile, runIfMain, verdict } from './common.mjs';

const TARGET_COLD_MS = 100;
const TARGET_CHANGE_MS = 10;
const WARMUP = 5;
const DEBOUNCE_MS = 50; // src/views/jobsTree.ts

/** src/views/jobsModel.ts and jobsTree.ts, the registry and the in-memory backend as one CommonJS module for plain Node. */
async function loadViews() {
  const esbuild = await import('esbuild');
  const outfile = path.join(ROOT, 'out', 'bench', 'jobsTreeViews.cjs');
  await esbuild.build({
    stdin: {
      contents: `export { JobsModel } from './src/views/jobsModel';
export { JobsTreeProvider, JobNode, LoadMoreJobsNode, JobsMessageNode, PAGE_SIZE } from './src/views/jobsTree';
export { BackendRegistry } from './src/backends/backendRegistry';
export { MemoryBackend } from './test/support/memoryBackend';`,
      resolveDir: ROOT,
      loader: 'ts',
      sourcefile: 'jobsTreeEntry.ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    alias: { vscode: path.join(ROOT, 'bench', 'support', 'vscodeShim.mjs') },
    logLevel: 'warning',
  });
  return createRequire(import.meta.url)(outfile);
}

// ---- 10,000 realistic jobs -----------------------------------------------------------------

const PHASE_MIX = [
  ['Completed', 0.7],
  ['Failed', 0.12],
  ['Terminated', 0.08],
  ['Running', 0.06],
  ['Pending', 0.02],
  ['Creating', 0.01],
  ['Abnormal', 0.005],
  ['Terminating', 0.005],
];
const PROJECTS = ['digits', 'resnet50-imagenet', 'bert-finetune', 'yolov5-coco', 'llama-lora', 'speech-ctc', 'tabular-xgb', 'gan-faces'];
const FLAVORS = [
  ['modelarts.local.cpu.2u8g', 'CPU: 2 vCPUs | 8 GiB'],
  ['modelarts.vm.cpu.8u32g', 'CPU: 8 vCPUs | 32 GiB'],
  ['modelarts.p3.large.public', 'GPU: 1*V100(32GB) | CPU: 8 vCPUs 64 GiB'],
];

function makeRandom(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function pickPhase(r) {
  let x = r();
  for (const [phase, share] of PHASE_MIX) if ((x -= share) < 0) return phase;
  return 'Completed';
}

/** A job as the engine returns it (src/core/job.ts trainingJobSchema), created `ageMs` ago. */
function makeJob(r, index, now, ageMs, phase = pickPhase(r)) {
  const project = PROJECTS[index % PROJECTS.length];
  const nodes = r() < 0.8 ? 1 : 2 + Math.floor(r() * 3);
  const tasks = Array.from({ length: nodes }, (_, i) => `worker-${i}`);
  const [flavorId, flavorName] = FLAVORS[Math.floor(r() * FLAVORS.length)];
  const created = now - ageMs;
  const started = phase === 'Creating' || phase === 'Pending' ? 0 : created + 2_000 + Math.floor(r() * 20_000);
  const terminal = ['Completed', 'Failed', 'Terminated', 'Abnormal'].includes(phase);
  const duration = terminal ? 5_000 + Math.floor(r() * 7_200_000) : phase === 'Running' ? now - started : 0;
  const parameters = [
    { name: 'epochs', value: String(1 + Math.floor(r() * 100)) },
    { name: 'lr', value: (r() / 100).toFixed(5) },
    { name: 'batch_size', value: String(2 ** (4 + Math.floor(r() * 5))) },
    ...(r() < 0.5 ? [{ name: 'optimizer', value: r() < 0.5 ? 'adamw' : 'sgd' }, { name: 'weight_decay', value: '0.0001' }] : []),
    ...(r() < 0.3 ? [{ name: 'resume' }, { name: 'notes', value: 'warm start from "best" checkpoint' }, { name: 'seed', value: String(index) }] : []),
  ];
  const inputs = Array.from({ length: Math.floor(r() * 4) }, (_, i) =>
    i % 2 === 0
      ? { name: `data_url_${i}`, local_dir: `/home/ma-user/modelarts/inputs/data_url_${i}`, remote: { obs: { obs_url: `obs://ml-datasets/${project}/v${1 + (index % 7)}/part-${i}/` } } }
      : { name: `data_url_${i}`, local_dir: `/home/ma-user/modelarts/inputs/data_url_${i}`, remote: { dataset: { id: `ds-${project}`, version_id: `v${i}` } } },
  );
  const outputs = [
    { name: 'train_url', local_dir: '/home/ma-user/modelarts/outputs/train_url_0', ...(r() < 0.5 ? { remote: { obs: { obs_url: `obs://ml-results/${project}/${index}/` } } } : {}) },
    ...(r() < 0.4 ? [{ name: 'log_url', local_dir: '/home/ma-user/modelarts/outputs/log_url_0', remote: { obs: { obs_url: `obs://ml-logs/${project}/${index}/` } } }] : []),
  ];
  const exitCode = phase === 'Completed' ? 0 : phase === 'Failed' ? 1 + Math.floor(r() * 2) : phase === 'Terminated' ? 143 : undefined;
  return {
    kind: 'job',
    metadata: {
      id: randomUUID(),
      name: `${project}-${String(index).padStart(5, '0')}`,
      description: r() < 0.3 ? `Sweep ${Math.floor(index / 50)} of ${project}` : '',
      create_time: created,
      workspace_id: '0',
      user_name: 'dev',
      annotations: r() < 0.2 ? { 'fault-tolerance/job-retry-num': '2' } : {},
    },
    algorithm: {
      code_dir: `/home/dev/projects/${project}/`,
      boot_file: `/home/dev/projects/${project}/train.py`,
      parameters,
      inputs,
      outputs,
      engine: { engine_id: 'pytorch_1.13-cpu', engine_name: 'PyTorch', engine_version: '1.13-cpu', image_url: 'modelarts-training/pytorch:1.13-cpu' },
      environments: r() < 0.3 ? { PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: '2' } : {},
    },
    spec: { resource: { flavor_id: flavorId, flavor_name: flavorName, node_count: nodes } },
    status: {
      phase,
      secondary_phase: phase === 'Pending' && r() < 0.5 ? 'Queuing' : phase,
      duration,
      start_time: started,
      tasks,
      task_statuses: terminal
        ? tasks.map((task, i) => ({ task, exit_code: i === 0 ? exitCode ?? 137 : 0, message: phase === 'Completed' ? 'Succeeded' : `Exited with code ${exitCode ?? 137}` }))
        : [],
      running_records: started ? [{ start_at: Math.floor(started / 1000), ...(terminal ? { end_at: Math.floor((started + duration) / 1000), end_reason: phase } : {}), start_type: 'init_or_rescheduled' }] : [],
    },
  };
}

/** The in-memory backend with `jobCount` jobs, registered in a registry as the extension registers its backends. */
async function makeBackend(views, jobCount) {
  const { BackendRegistry, MemoryBackend } = views;
  const r = makeRandom(20_240_601);
  const now = Date.now();
  const jobs = [];
  // One job every ~26 minutes over the last ~180 days, newest first as listJobs returns them.
  for (let i = 0; i < jobCount; i++) {
    // Through JSON, as the store loads its records: flat strings (randomUUID's are ropes, whose
    // comparisons and hashing would cost several times more than the engine's real ids).
    jobs.push(JSON.parse(JSON.stringify(makeJob(r, jobCount - i, now, i * 1_560_000 + Math.floor(r() * 60_000)))));
  }
  const backend = new MemoryBackend();
  backend.seedJobs(jobs); // deep-frozen by the backend's store
  const registry = new BackendRegistry();
  registry.add(backend);
  await backend.connect();
  return {
    backend,
    registry,
    /** The job as the backend has it now. */
    job: (id) => backend.getJob(id),
    /** Stores and announces a change, as a backend's ledger does. */
    change(kind, job) {
      backend.fireJobChange(kind, kind === 'created' ? structuredClone(job) : job); // a backend announces a copy of a new job
    },
    dispose() {
      registry.dispose();
      backend.dispose();
    },
  };
}

/** A job in another phase (a new object, as the engine's save makes one). */
function withPhase(job, phase) {
  const terminal = ['Completed', 'Failed', 'Terminated', 'Abnormal'].includes(phase);
  return {
    ...job,
    status: {
      ...job.status,
      phase,
      secondary_phase: phase,
      duration: terminal ? Date.now() - job.status.start_time : job.status.duration,
      task_statuses: terminal ? job.status.tasks.map((task) => ({ task, exit_code: 0, message: 'Succeeded' })) : [],
    },
  };
}

// ---- Timers: the provider's 50 ms debounce queued instead of waited for -----------------------

const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const queued = [];
function useFakeTimeouts() {
  globalThis.setTimeout = (callback, ms, ...args) => {
    const handle = { callback, ms, args, cleared: false };
    queued.push(handle);
    return handle;
  };
  globalThis.clearTimeout = (handle) => {
    if (handle && queued.includes(handle)) handle.cleared = true;
    else realClearTimeout(handle);
  };
}
function useRealTimeouts() {
  globalThis.setTimeout = realSetTimeout;
  globalThis.clearTimeout = realClearTimeout;
}
/** Runs the queued timeouts (the provider's flush) now; returns how many ran. */
function runQueued() {
  let ran = 0;
  while (queued.length) {
    const handle = queued.shift();
    if (handle.cleared) continue;
    if (handle.ms !== DEBOUNCE_MS) throw new Error(`unexpected ${handle.ms} ms timeout`);
    handle.callback(...handle.args);
    ran++;
  }
  return ran;
}

/** What VS Code's tree view does with onDidChangeTreeData: fetch the rows again. */
function makeConsumer(provider) {
  const state = { rows: [], items: [], lastFire: 0, fires: 0 };
  const render = () => {
    state.rows = provider.getChildren();
    state.items = state.rows.map((node) => provider.getTreeItem(node));
  };
  provider.onDidChangeTreeData((change) => {
    state.lastFire = performance.now();
    state.fires++;
    if (change === undefined) render();
    else state.items = (Array.isArray(change) ? change : [change]).map((node) => provider.getTreeItem(node));
  });
  return { state, render };
}

const stats = (values) => ({ median: median(values), p90: quantile(values, 0.9), min: Math.min(...values), max: Math.max(...values) });

function measure(runs, fn) {
  for (let i = 0; i < WARMUP; i++) fn(i, true);
  const values = [];
  for (let i = 0; i < runs; i++) values.push(fn(i, false));
  return values;
}
async function measureAsync(runs, fn) {
  for (let i = 0; i < WARMUP; i++) await fn(i, true);
  const values = [];
  for (let i = 0; i < runs; i++) values.push(await fn(i, false));
  return values;
}

export async function run({ jobCount = numberOption('--jobs', 10_000), runs = numberOption('--runs', 30) } = {}) {
  const views = await loadViews();
  const { JobsModel, JobsTreeProvider, JobNode, LoadMoreJobsNode, PAGE_SIZE } = views;
  const engine = await makeBackend(views, jobCount);
  const { registry } = engine;
  const log = { debug() {}, info() {}, warn() {}, error: (m) => console.error(m) };
  const problems = [];
  const check = (ok, message) => ok || problems.push(message);

  // (a) cold: a fresh model and provider, as at activation; the first call in the process separately.
  const coldParts = { reload: [], children: [], items: [] };
  let firstCold;
  const cold = await measureAsync(runs, async (_, warmup) => {
    const model = new JobsModel(registry, log);
    const provider = new JobsTreeProvider(model, registry);
    provider.setVisible(true);
    const t0 = performance.now();
    await model.reload();
    const t1 = performance.now();
    const rows = provider.getChildren();
    const t2 = performance.now();
    const items = rows.map((node) => provider.getTreeItem(node));
    const t3 = performance.now();
    provider.dispose();
    model.dispose();
    check(rows.length === PAGE_SIZE + 1 && rows.at(-1) instanceof LoadMoreJobsNode && items.length === rows.length, `cold: ${rows.length} rows`);
    firstCold ??= { total: t3 - t0, reload: t1 - t0, children: t2 - t1, items: t3 - t2 };
    if (!warmup) {
      coldParts.reload.push(t1 - t0);
      coldParts.children.push(t2 - t1);
      coldParts.items.push(t3 - t2);
    }
    return t3 - t0;
  });

  // One long-lived model + provider + consumer for the changes, as in the running extension.
  useFakeTimeouts();
  const model = new JobsModel(registry, log);
  const provider = new JobsTreeProvider(model, registry);
  provider.setVisible(true);
  const consumer = makeConsumer(provider);
  await model.reload();
  runQueued(); // the reload's reset: the consumer renders the first page

  /** Fires one engine change and times it through the flush to the consumer's last tree item. */
  const timeChange = (kind, job) => {
    const firesBefore = consumer.state.fires;
    const t0 = performance.now();
    engine.change(kind, job);
    const t1 = performance.now();
    const flushes = runQueued();
    const t2 = performance.now();
    check(flushes === 1 && consumer.state.fires === firesBefore + 1, `${kind}: ${flushes} flushes, ${consumer.state.fires - firesBefore} fires`);
    return { total: t2 - t0, handler: t1 - t0, flush: t2 - t1, toFire: consumer.state.lastFire - t0 };
  };
  const shownJob = (i) => consumer.state.rows.filter((node) => node instanceof JobNode)[i % PAGE_SIZE].job;

  // (b) a shown job changes phase: Running ↔ Completed, a different row each run.
  const phaseParts = { handler: [], flush: [], toFire: [] };
  const phaseChange = await measureAsync(runs, async (i, warmup) => {
    const job = await engine.job(shownJob(i * 7).metadata.id);
    const next = withPhase(job, job.status.phase === 'Running' ? 'Completed' : 'Running');
    const t = timeChange('updated', next);
    check(consumer.state.items.length === 1 && consumer.state.items[0].contextValue.startsWith(`job+${next.status.phase.toLowerCase()}`), 'updated: the changed row was not repainted with its new phase');
    if (!warmup) for (const key of Object.keys(phaseParts)) phaseParts[key].push(t[key]);
    return t.total;
  });
  consumer.render();

  // (c) with a phase filter: a shown Running job completes and leaves the filter (the list is redrawn); put back untimed.
  provider.setFilter({ phases: ['Running'] });
  runQueued();
  const filteredCount = provider.matching().length;
  const filterChange = await measureAsync(runs, async (i) => {
    const job = await engine.job(shownJob(i * 3).metadata.id);
    check(job.status.phase === 'Running', 'filter: a shown job is not Running');
    const t = timeChange('updated', withPhase(job, 'Completed'));
    check(consumer.state.rows.length === Math.min(PAGE_SIZE, filteredCount - 1) + (filteredCount - 1 > PAGE_SIZE ? 1 : 0), `filter: ${consumer.state.rows.length} rows after the change`);
    engine.change('updated', withPhase(await engine.job(job.metadata.id), 'Running'));
    runQueued();
    return t.total;
  });
  provider.setFilter({});
  runQueued();

  // (d) a job is created (newest: first row); removed again untimed.
  const r = makeRandom(7);
  const created = measure(runs, (i) => {
    const job = makeJob(r, jobCount + i + 1, Date.now(), 0, 'Creating');
    const t = timeChange('created', job);
    check(consumer.state.rows[0]?.job?.metadata.id === job.metadata.id, 'created: the new job is not the first row');
    engine.change('deleted', job);
    runQueued();
    return t.total;
  });

  // (b) again with the real 50 ms timer: what a person waits for, debounce included (informational).
  useRealTimeouts();
  const wall = [];
  for (let i = 0; i < Math.min(runs, 20); i++) {
    const job = await engine.job(shownJob(i * 11).metadata.id);
    const fired = new Promise((resolve) => {
      const subscription = provider.onDidChangeTreeData(() => {
        subscription.dispose();
        resolve(performance.now());
      });
    });
    const t0 = performance.now();
    engine.change('updated', withPhase(job, job.status.phase === 'Running' ? 'Completed' : 'Running'));
    wall.push((await fired) - t0); // the consumer, subscribed first, has its tree item by then
  }

  // Baselines: the serialization of the same page the host sends anyway, and a naive provider.
  consumer.render();
  const pageItems = consumer.state.items;
  const serialize = measure(runs, () => {
    const t0 = performance.now();
    JSON.stringify(pageItems);
    return performance.now() - t0;
  });
  const everything = await engine.backend.listJobs();
  const naive = measure(runs, () => {
    const t0 = performance.now();
    const sorted = [...everything].sort((a, b) => b.metadata.create_time - a.metadata.create_time);
    const items = sorted.slice(0, PAGE_SIZE).map((job) => provider.getTreeItem(new JobNode(engine.backend.id, job)));
    if (items.length !== PAGE_SIZE) throw new Error('naive page');
    return performance.now() - t0;
  });
  provider.dispose();
  model.dispose();
  engine.dispose();

  const s = {
    cold: stats(cold),
    phaseChange: stats(phaseChange),
    filterChange: stats(filterChange),
    created: stats(created),
    wall: stats(wall),
    serialize: stats(serialize),
    naive: stats(naive),
  };
  const rows = [
    ['(a) cold: reload + first page', s.cold, TARGET_COLD_MS],
    ['(b) phase change, shown job', s.phaseChange, TARGET_CHANGE_MS],
    ['(c) phase change, filter Running', s.filterChange, TARGET_CHANGE_MS],
    ['(d) job created (re-sort)', s.created, TARGET_CHANGE_MS],
    ['(b) with the real 50 ms debounce', s.wall, undefined],
    ['baseline: JSON.stringify(page items)', s.serialize, undefined],
    ['baseline: naive sort-all page', s.naive, undefined],
  ];
  printTable(`Jobs tree: ${jobCount.toLocaleString('en-US')} jobs, first page ${PAGE_SIZE} + "Load more"; ms over ${runs} runs after ${WARMUP} warm-up (filter Running: ${filteredCount} jobs)`, ['figure', 'median', 'p90', 'max', 'target', 'median/target', '÷ serialize', '÷ naive'], rows.map(([label, st, target]) => [
    label,
    st.median.toFixed(2),
    st.p90.toFixed(2),
    st.max.toFixed(2),
    target === undefined ? '' : `≤ ${target}`,
    target === undefined ? '' : (st.median / target).toFixed(2),
    (st.median / s.serialize.median).toFixed(1),
    (st.median / s.naive.median).toFixed(2),
  ]));
  const ms = (values) => median(values).toFixed(2);
  console.log(`(a) parts, medians: reload ${ms(coldParts.reload)}, getChildren ${ms(coldParts.children)}, getTreeItem ×${PAGE_SIZE + 1} ${ms(coldParts.items)} ms; first cold run in the process ${firstCold.total.toFixed(1)} ms (reload ${firstCold.reload.toFixed(1)}, getChildren ${firstCold.children.toFixed(1)}, getTreeItem ${firstCold.items.toFixed(1)})`);
  console.log(`(b) parts, medians: engine fire → model → provider scheduled ${ms(phaseParts.handler)}, flush + getTreeItem ${ms(phaseParts.flush)}; fire → onDidChangeTreeData ${ms(phaseParts.toFire)} ms`);
  if (problems.length) console.log(`PROBLEMS (${problems.length}): ${[...new Set(problems)].slice(0, 5).join(' | ')}`);

  const result = {
    name: 'jobs tree',
    jobs: jobCount,
    runs,
    targets: { coldMs: TARGET_COLD_MS, changeMs: TARGET_CHANGE_MS },
    figures: s,
    parts: { cold: Object.fromEntries(Object.entries(coldParts).map(([k, v]) => [k, stats(v)])), phaseChange: Object.fromEntries(Object.entries(phaseParts).map(([k, v]) => [k, stats(v)])) },
    firstCold,
    filteredCount,
    problems,
  };
  fs.mkdirSync(path.join(ROOT, 'out', 'bench'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'out', 'bench', 'jobsTree.json'), JSON.stringify(result, null, 2));
  const met = {
    cold: s.cold.median <= TARGET_COLD_MS,
    phase: s.phaseChange.median <= TARGET_CHANGE_MS,
    filter: s.filterChange.median <= TARGET_CHANGE_MS,
    created: s.created.median <= TARGET_CHANGE_MS,
  };
  console.log(
    `targets: first page ≤ ${TARGET_COLD_MS} ms: ${s.cold.median.toFixed(1)} → ${verdict(met.cold)}; phase change ≤ ${TARGET_CHANGE_MS} ms: ${s.phaseChange.median.toFixed(2)} → ${verdict(met.phase)}` +
      ` (filtered ${s.filterChange.median.toFixed(2)} → ${verdict(met.filter)}, created ${s.created.median.toFixed(2)} → ${verdict(met.created)}); results in out/bench/jobsTree.json`,
  );
  return { ...result, ok: Object.values(met).every(Boolean) && !problems.length };
}

runIfMain(import.meta.url, run);
