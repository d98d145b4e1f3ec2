// Upload benchmark: our S3 store (uploadFolder through S3Store) against rclone, to the real S3 test
// server (Ceph radosgw, scripts/ensure-s3-server.sh), in the same run, on the same data.
// Target: median ours / rclone ≥ 0.9 (exit 0 met, 1 missed, 2 error).
//   node scripts/build.mjs --tests && node bench/upload.mjs
// Environment: BENCH_MB (data size, default 1024), BENCH_ROUNDS (default 3), BENCH_FILES (files in
// flight, default 16), BENCH_PART_MB (default 16), BENCH_PARTS (parts in flight per file, default 4),
// BENCH_REQUESTS (requests in flight over all files, default 24), BENCH_RCLONE_FLAGS (extra flags).
// Data: many 4-64 KB files, some 1-8 MB, a few 64-256 MB; random bytes (nothing compresses).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fmt, median, outModule, printTable, rcloneCopy, requireDocker, verdict, writeRandomFiles } from './common.mjs';

// Anything that goes wrong is an error (exit 2), not a missed target (exit 1).
process.on('uncaughtException', (error) => {
  console.error(error);
  process.exit(2);
});
requireDocker();
const { S3Store } = outModule('src/storage/s3Store');
const { uploadFolder, deletePrefix } = outModule('src/storage/transfer');
const { ensureS3Server } = outModule('test/support/s3Server');

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const MB = 1e6;
const MIB = 1024 * 1024;
const totalBytes = env('BENCH_MB', 1024) * MIB;
const rounds = env('BENCH_ROUNDS', 3);
const fileConcurrency = env('BENCH_FILES', 16);
const bucket = 'modelarts-bench';

/** Deterministic sizes (seeded), so every run uploads the same mix. */
function plan(total) {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const between = (lo, hi) => Math.floor(lo + rand() * (hi - lo));
  const files = [];
  const add = (dir, budget, lo, hi) => {
    for (let used = 0; used < budget; ) {
      const size = Math.min(between(lo, hi), budget - used);
      files.push({ name: `${dir}/${dir}-${String(files.length).padStart(5, '0')}.bin`, size });
      used += size;
    }
  };
  add('large', Math.round(total * 0.62), 64 * MIB, 256 * MIB);
  add('medium', Math.round(total * 0.28), 1 * MIB, 8 * MIB);
  add('small', total - Math.round(total * 0.62) - Math.round(total * 0.28), 4 * 1024, 64 * 1024);
  return files;
}



const server = await ensureS3Server();
const files = plan(totalBytes);
const bytes = files.reduce((sum, f) => sum + f.size, 0);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-bench-'));
const started = Date.now();
writeRandomFiles(dataDir, files);
const counts = ['small', 'medium', 'large'].map((kind) => `${files.filter((f) => f.name.startsWith(kind)).length} ${kind}`).join(', ');
console.log(`data: ${files.length} files (${counts}), ${(bytes / MB).toFixed(0)} MB, generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);

const config = {
  endpoint: server.endpoint,
  region: server.region,
  credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  partSizeBytes: env('BENCH_PART_MB', 16) * MIB,
  multipartThresholdBytes: env('BENCH_PART_MB', 16) * MIB,
  partConcurrency: env('BENCH_PARTS', 4),
  maxRequests: env('BENCH_REQUESTS', 24),
};
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-bench-state-'));
const store = new S3Store(config, { stateDir });
await store.ensureBucket(bucket);
const at = (prefix) => ({ store, bucket, prefix, url: `s3://${bucket}/${prefix}` });
console.log(
  `ours: ${fileConcurrency} files x ${config.partConcurrency} parts of ${config.partSizeBytes / MIB} MiB, at most ${config.maxRequests} requests; ` +
    `rclone ${process.env.BENCH_RCLONE_FLAGS ?? '(defaults)'}; ${rounds} round(s), order alternating`,
);

const rcloneFlags = (process.env.BENCH_RCLONE_FLAGS ?? '').split(/\s+/).filter(Boolean);

async function ours(round) {
  const t = process.hrtime.bigint();
  const result = await uploadFolder(dataDir, at(`ours/r${round}/`), { concurrency: fileConcurrency });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (result.bytes !== bytes || result.objects !== files.length) throw new Error(`ours uploaded ${result.objects} files, ${result.bytes} bytes`);
  return seconds;
}

async function rclone(round) {
  const t = process.hrtime.bigint();
  await rcloneCopy(dataDir, `${bucket}/rclone/r${round}/`, server, rcloneFlags);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  let stored = 0;
  for await (const page of store.list(bucket, `rclone/r${round}/`)) stored += page.reduce((sum, o) => sum + o.size, 0);
  if (stored !== bytes) throw new Error(`rclone stored ${stored} of ${bytes} bytes`);
  return seconds;
}

const rows = [];
try {
  for (let round = 1; round <= rounds; round += 1) {
    const times = {};
    for (const which of round % 2 ? ['ours', 'rclone'] : ['rclone', 'ours']) {
      times[which] = which === 'ours' ? await ours(round) : await rclone(round);
    }
    // The server keeps everything in memory: empty it between rounds.
    await deletePrefix(at(`ours/r${round}/`));
    await deletePrefix(at(`rclone/r${round}/`));
    const row = { round, ours: bytes / MB / times.ours, rclone: bytes / MB / times.rclone };
    rows.push(row);
    console.log(`round ${round}: ours ${times.ours.toFixed(1)} s, rclone ${times.rclone.toFixed(1)} s`);
  }
} finally {
  store.dispose();
  if (process.env.BENCH_KEEP !== '1') fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(stateDir, { recursive: true, force: true });
}

const TARGET = 0.9;
const mo = median(rows.map((r) => r.ours));
const mr = median(rows.map((r) => r.rclone));
printTable(
  `Upload of ${fmt(bytes / MB, 0)} MB in ${files.length} files to ${server.endpoint} (MB = 10^6 bytes)`,
  ['round', 'ours MB/s', 'rclone MB/s', 'ours / rclone'],
  [...rows.map((r) => [String(r.round), r.ours, r.rclone, fmt(r.ours / r.rclone, 2)]), ['median', mo, mr, fmt(mo / mr, 2)]],
);
console.log(`target: median ours / rclone ≥ ${TARGET}: ${verdict(mo / mr >= TARGET)}`);
process.exit(mo / mr >= TARGET ? 0 : 1);
