// Store list: 10,000 job records in a temporary data folder, listed by a fresh LocalBackend without
// Docker (listJobs() loads the store itself). (a) cold: load + first listJobs; (b) warm: median of
// 20 listJobs calls (target ≤ 50 ms). Baselines in the same run: reading + JSON.parse of every
// record file (cold) and a plain copy of the 10,000 jobs (warm); then what each step of the
// engine's path costs (zod, sort, structuredClone).
//   node bench/storeList.mjs [--records 10000]
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { median, numberOption, outModule, printTable, quantile, quietLogger, removeFolders, runIfMain, tempFolder, verdict } from './common.mjs';

const TARGET_MS = 50;
const RECORDS = numberOption('--records', 10_000);
const WARM_CALLS = 20;

/** One record as the engine writes it for a finished job (validated against jobRecordSchema below). */
function templateRecord(dataDir) {
  const id = randomUUID();
  const jobDir = path.join(dataDir, 'jobs', id);
  return {
    version: 1,
    job: {
      kind: 'job',
      metadata: { id, name: 'digits-train', description: 'digits classifier', create_time: 0, workspace_id: '0', user_name: 'dev', annotations: {} },
      algorithm: {
        code_dir: '/home/dev/projects/digits/',
        boot_file: '/home/dev/projects/digits/train.py',
        parameters: [
          { name: 'epochs', value: '5' },
          { name: 'lr', value: '0.01' },
        ],
        inputs: [],
        outputs: [{ name: 'train_url', local_dir: '/home/ma-user/modelarts/outputs/train_url_0' }],
        engine: { engine_id: 'pytorch_1.13-cpu', engine_name: 'PyTorch', engine_version: '1.13-cpu', image_url: 'modelarts-training/pytorch:1.13-cpu' },
        environments: {},
      },
      spec: { resource: { flavor_id: 'modelarts.local.cpu.2u8g', flavor_name: 'CPU: 2 vCPUs | 8 GiB', node_count: 1 } },
      status: {
        phase: 'Completed',
        secondary_phase: 'Completed',
        duration: 41_250,
        start_time: 0,
        tasks: ['worker-0'],
        task_statuses: [{ task: 'worker-0', exit_code: 0, message: 'Succeeded' }],
        running_records: [{ start_at: 0, end_at: 41, start_type: 'init_or_rescheduled', end_reason: 'Completed' }],
      },
    },
    local: {
      containers: { 'worker-0': 'f'.repeat(64) },
      outputDirs: { train_url: path.join(jobDir, 'outputs', 'train_url_0') },
    },
  };
}

async function time(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

async function timeMany(n, fn) {
  const all = [];
  for (let i = 0; i < n; i++) all.push((await time(fn)).ms);
  return all;
}

export async function run({ records = RECORDS } = {}) {
  const { LocalBackend } = outModule('src/backends/local/localBackend');
  const { jobRecordSchema } = outModule('src/backends/local/jobStore');
  const { withLiveDuration } = outModule('src/core/job');
  const dataDir = tempFolder('store-data');

  // Generate: one template checked against the real schema, cloned with new ids, names and times.
  const template = jobRecordSchema.parse(templateRecord(dataDir));
  const base = Date.now() - records * 60_000;
  const written = await time(async () => {
    for (let i = 0; i < records; i++) {
      const record = structuredClone(template);
      const id = randomUUID();
      record.job.metadata.id = id;
      record.job.metadata.name = `job-${i}`;
      // Shuffled create times, so the newest-first sort has work to do.
      record.job.metadata.create_time = base + ((i * 7919) % records) * 60_000;
      record.job.status.start_time = record.job.metadata.create_time + 2_000;
      if (i % 50 === 0) Object.assign(record.job.status, { phase: 'Failed', secondary_phase: 'Failed' });
      record.local.outputDirs.train_url = path.join(dataDir, 'jobs', id, 'outputs', 'train_url_0');
      fs.mkdirSync(path.join(dataDir, 'jobs', id), { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'jobs', id, 'job.json'), JSON.stringify(record, null, 1));
    }
  });

  const logger = quietLogger();
  const engine = new LocalBackend({ dataDir, dockerHost: '', logger });
  let cold;
  let warm;
  try {
    // (a) cold: no connect(), so nothing but the store is touched.
    cold = await time(() => engine.listJobs());
    if (cold.value.length !== records) throw new Error(`listJobs returned ${cold.value.length} of ${records} jobs`);
    const sorted = cold.value.every((job, i, all) => i === 0 || all[i - 1].metadata.create_time >= job.metadata.create_time);
    if (!sorted) throw new Error('listJobs is not newest first');
    // (b) warm.
    await engine.listJobs();
    warm = await timeMany(WARM_CALLS, () => engine.listJobs());
  } finally {
    engine.dispose();
  }

  // Baselines and a breakdown of the engine's own steps, on the same files and objects.
  const jobsDir = path.join(dataDir, 'jobs');
  const readParse = await timeMany(3, async () => {
    const ids = await fs.promises.readdir(jobsDir);
    return Promise.all(ids.map(async (id) => JSON.parse(await fs.promises.readFile(path.join(jobsDir, id, 'job.json'), 'utf8'))));
  });
  const raw = await Promise.all((await fs.promises.readdir(jobsDir)).map(async (id) => JSON.parse(await fs.promises.readFile(path.join(jobsDir, id, 'job.json'), 'utf8'))));
  const zod = await timeMany(3, () => raw.map((r) => jobRecordSchema.parse(r)));
  const store = engine.runtime.store; // the loaded JobStore (TypeScript-private, reachable from JS)
  const storeRecords = store.list();
  const copy = await timeMany(WARM_CALLS, () => storeRecords.map((r) => r.job));
  const sort = await timeMany(WARM_CALLS, () => store.list());
  const clone = await timeMany(WARM_CALLS, () => storeRecords.map((r) => structuredClone(r.job)));
  const now = Date.now();
  const live = await timeMany(WARM_CALLS, () => storeRecords.map((r) => withLiveDuration(r.job, now)));
  const jsonClone = await timeMany(WARM_CALLS, () => JSON.parse(JSON.stringify(storeRecords.map((r) => r.job))));
  const frozenShare = await timeMany(WARM_CALLS, () => storeRecords.map((r) => withLiveDuration(r.job, now)).slice());
  removeFolders();

  const row = (label, values) => [label, median(values), quantile(values, 0.9), Math.max(...values)];
  printTable(`Store list: ${records.toLocaleString('en-US')} job records (ms; files written in ${(written.ms / 1000).toFixed(1)} s)`, ['measure', 'median', 'p90', 'max'], [
    ['(a) cold: load + first listJobs', cold.ms, cold.ms, cold.ms],
    row('    baseline: readdir + read + JSON.parse', readParse),
    row('    + zod jobRecordSchema.parse (in load)', zod),
    row(`(b) warm listJobs (${WARM_CALLS} calls)`, warm),
    row('    baseline: plain array of the jobs', copy),
    row('    store.list() (spread + sort)', sort),
    row('    structuredClone of every job', clone),
    row('    withLiveDuration of every job', live),
    row('    alt: JSON.parse(JSON.stringify(jobs))', jsonClone),
    row('    alt: no clone (shared, read-only jobs)', frozenShare),
  ]);
  const warmMedian = median(warm);
  console.log(
    `ratios: cold / read+parse ${(cold.ms / median(readParse)).toFixed(1)}×; warm / plain copy ${(warmMedian / median(copy)).toFixed(0)}×; warm / (sort + clone) ${(warmMedian / (median(sort) + median(clone))).toFixed(2)}×; engine warnings: ${logger.problems.length}`,
  );
  console.log(`target warm listJobs median ≤ ${TARGET_MS} ms: ${warmMedian.toFixed(1)} ms → ${verdict(warmMedian <= TARGET_MS)}`);
  return { name: 'store list (warm)', median: warmMedian, target: TARGET_MS, ok: warmMedian <= TARGET_MS };
}

runIfMain(import.meta.url, run);
