// Cloud code upload: a 200 MB code folder sent to OBS (the S3 test server, Ceph radosgw) by
// `uploadCodeFolder`, the function the ModelArts backend runs before it creates a job, through the
// store the backend uses (CloudSession.obs(): S3Store with its defaults, path-style for this
// server) and with the backend's options (a hash cache folder, default concurrency), against
// `rclone copy` of the same folder to another prefix, in the same run (rclone configured as
// bench/upload.mjs does it: environment variables only, defaults). Each round sends to a fresh
// prefix with a fresh hash cache, so every file is read, hashed and sent, then uploads the same
// folder again unchanged (the second run of a job: listing + manifest, nothing sent), and once more
// with an empty hash cache (every file read and hashed, nothing sent: the hashing share), and all of
// it to another fresh prefix with the hashes cached (the sending alone, as for a renamed job).
// Alternating order, 1 warm-up + 3 rounds, MB/s (MB = 10^6 bytes). Data: random bytes (nothing
// compresses), a few hundred files of 4-64 KB in subfolders, some of 1-8 MB, a couple of 30-60 MB,
// under ModelArts' 1,000 files.
// Target: median ours / rclone ≥ 0.9, as bench/upload.mjs (exit 0 met, 1 missed, 2 error).
//   node bench/cloudUpload.mjs [--mb 200] [--rounds 3] [--warmup 1]
import { spawnSync } from 'node:child_process';
import { fmt, median, numberOption, outModule, printTable, quietLogger, rcloneCopy, removeFolders, requireDocker, runIfMain, tempFolder, verdict, writeRandomFiles } from './common.mjs';

const TARGET = 0.9;
const MB = 1e6;
const MIB = 1024 * 1024;
const TOTAL_MB = numberOption('--mb', 200);
const ROUNDS = numberOption('--rounds', 3);
const WARMUP = numberOption('--warmup', 1);
const BUCKET = 'modelarts-bench-code';

/** Deterministic sizes (seeded), so every run uploads the same mix. */
function plan(total) {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const between = (lo, hi) => Math.floor(lo + rand() * (hi - lo));
  const files = [];
  const add = (kind, budget, lo, hi, folders) => {
    for (let used = 0, n = 0; used < budget; n += 1) {
      const size = Math.min(between(lo, hi), budget - used);
      const folder = folders > 1 ? `${kind}/part-${String(n % folders).padStart(2, '0')}` : kind;
      files.push({ kind, name: `${folder}/${kind}-${String(files.length).padStart(4, '0')}.bin`, size });
      used += size;
    }
  };
  add('large', Math.round(total * 0.45), 30 * MIB, 60 * MIB, 1);
  add('medium', Math.round(total * 0.45), 1 * MIB, 8 * MIB, 4);
  add('small', total - 2 * Math.round(total * 0.45), 4 * 1024, 64 * 1024, 16);
  return files;
}



const seconds = (since) => Number(process.hrtime.bigint() - since) / 1e9;

export async function run({ totalMB = TOTAL_MB, rounds = ROUNDS, warmup = WARMUP } = {}) {
  requireDocker();
  if (spawnSync('rclone', ['version'], { stdio: 'ignore' }).status !== 0) {
    console.error('rclone is missing: install it (Debian: apt-get install -y rclone).');
    process.exit(2);
  }
  const { CloudSession } = outModule('src/backends/modelarts/cloudSession');
  const { uploadCodeFolder, UPLOAD_MANIFEST } = outModule('src/backends/modelarts/codeUpload');
  const { deletePrefix } = outModule('src/storage/transfer');
  const { ensureS3Server } = outModule('test/support/s3Server');

  const s3 = await ensureS3Server();
  const files = plan(totalMB * MB);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  const dataDir = tempFolder('cloud-upload-code');

  // The backend's OBS client, made as the backend makes it (no ModelArts endpoint is contacted);
  // the region is the S3 server's, which creates buckets only in its own.
  const session = new CloudSession({
    config: { region: s3.region, endpoints: { obs: s3.endpoint }, obsPathStyle: true },
    credentials: { kind: 'accessKey', accessKey: s3.accessKeyId, secretKey: s3.secretAccessKey },
    logger: quietLogger(),
    stateDir: tempFolder('cloud-upload-state'),
  });
  const store = session.obs();
  const at = (prefix) => ({ store, bucket: BUCKET, prefix, url: `s3://${BUCKET}/${prefix}` });

  async function ours(round) {
    const prefix = `ours/r${round}/code/`;
    const cacheDir = tempFolder('cloud-upload-hashes'); // fresh: every file is hashed, as at a folder's first upload
    const t = process.hrtime.bigint();
    const first = await uploadCodeFolder(store, dataDir, BUCKET, prefix, { cacheDir });
    const firstSeconds = seconds(t);
    if (first.uploaded !== files.length || first.uploadedBytes !== bytes) throw new Error(`ours sent ${first.uploaded} files, ${first.uploadedBytes} bytes`);
    let stored = 0;
    for await (const page of store.list(BUCKET, prefix)) stored += page.filter((o) => !o.key.endsWith(UPLOAD_MANIFEST)).reduce((sum, o) => sum + o.size, 0);
    if (stored !== bytes) throw new Error(`ours stored ${stored} of ${bytes} bytes`);
    const t2 = process.hrtime.bigint();
    const second = await uploadCodeFolder(store, dataDir, BUCKET, prefix, { cacheDir });
    const secondSeconds = seconds(t2);
    if (second.uploaded !== 0 || second.unchanged !== files.length) throw new Error(`the unchanged upload sent ${second.uploaded} files`);
    // The same without the hash cache (another machine, a cleared cache): every file read and hashed, nothing sent.
    const t3 = process.hrtime.bigint();
    const third = await uploadCodeFolder(store, dataDir, BUCKET, prefix, { cacheDir: tempFolder('cloud-upload-hashes') });
    const coldSeconds = seconds(t3);
    if (third.uploaded !== 0) throw new Error(`the unchanged upload without a hash cache sent ${third.uploaded} files`);
    // Everything sent again to a new prefix with the hashes cached (a job renamed): the sending alone.
    const t4 = process.hrtime.bigint();
    const fourth = await uploadCodeFolder(store, dataDir, BUCKET, `ours/r${round}/cached/`, { cacheDir });
    const cachedSeconds = seconds(t4);
    if (fourth.uploaded !== files.length) throw new Error(`the upload with cached hashes sent ${fourth.uploaded} files`);
    return { first: firstSeconds, second: secondSeconds, cold: coldSeconds, cached: cachedSeconds };
  }

  async function rclone(round) {
    const prefix = `rclone/r${round}/code/`;
    const t = process.hrtime.bigint();
    await rcloneCopy(dataDir, `${BUCKET}/${prefix}`, s3);
    const took = seconds(t);
    let stored = 0;
    for await (const page of store.list(BUCKET, prefix)) stored += page.reduce((sum, o) => sum + o.size, 0);
    if (stored !== bytes) throw new Error(`rclone stored ${stored} of ${bytes} bytes`);
    return took;
  }

  const rows = [];
  try {
    const generated = process.hrtime.bigint();
    writeRandomFiles(dataDir, files, { fsync: true });
    const counts = ['small', 'medium', 'large'].map((kind) => `${files.filter((f) => f.kind === kind).length} ${kind}`).join(', ');
    console.log(`data: ${files.length} files (${counts}), ${(bytes / MB).toFixed(0)} MB, generated in ${seconds(generated).toFixed(1)} s`);
    await store.ensureBucket(BUCKET);
    // Warm-up rounds (not counted): the process's first upload pays for connections and cold code.
    for (let round = 1 - warmup; round <= rounds; round += 1) {
      const times = {};
      for (const which of round % 2 ? ['ours', 'rclone'] : ['rclone', 'ours']) times[which] = which === 'ours' ? await ours(round) : await rclone(round);
      // The server keeps everything in memory: empty it between rounds.
      await deletePrefix(at(`ours/r${round}/`));
      await deletePrefix(at(`rclone/r${round}/`));
      if (round < 1) {
        console.log(`warm-up: ours ${times.ours.first.toFixed(2)} s, rclone ${times.rclone.toFixed(2)} s`);
        continue;
      }
      rows.push({ round, ours: bytes / MB / times.ours.first, rclone: bytes / MB / times.rclone, second: times.ours.second, cold: times.ours.cold, cached: bytes / MB / times.ours.cached });
      console.log(`round ${round}: ours ${times.ours.first.toFixed(2)} s (unchanged again: ${times.ours.second.toFixed(2)} s, without the hash cache ${times.ours.cold.toFixed(2)} s; all sent again with the hashes cached ${times.ours.cached.toFixed(2)} s), rclone ${times.rclone.toFixed(2)} s`);
    }
  } finally {
    session.dispose();
    removeFolders();
  }

  const mo = median(rows.map((r) => r.ours));
  const mr = median(rows.map((r) => r.rclone));
  const ms = median(rows.map((r) => r.second));
  const mc = median(rows.map((r) => r.cold));
  const mh = median(rows.map((r) => r.cached));
  printTable(
    `Code folder upload of ${fmt(bytes / MB, 0)} MB in ${files.length} files to ${s3.endpoint} by uploadCodeFolder vs rclone copy (MB = 10^6 bytes)`,
    ['round', 'ours MB/s', 'rclone MB/s', 'ours / rclone', 'ours, hashes cached MB/s', 'unchanged, s', 'unchanged, no hash cache, s'],
    [
      ...rows.map((r) => [String(r.round), r.ours, r.rclone, fmt(r.ours / r.rclone, 2), r.cached, fmt(r.second, 2), fmt(r.cold, 2)]),
      ['median', mo, mr, fmt(mo / mr, 2), mh, fmt(ms, 2), fmt(mc, 2)],
    ],
  );
  console.log(`ours with the hashes cached / rclone: ${fmt(mh / mr, 2)} (a first upload hashes each file while it sends it; the cache saves that reading)`);
  const ok = mo / mr >= TARGET;
  console.log(`target: median ours / rclone ≥ ${TARGET}: ${verdict(ok)} (${fmt(mo / mr, 2)})`);
  return { ok };
}

runIfMain(import.meta.url, run);
