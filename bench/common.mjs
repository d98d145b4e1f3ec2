// Shared helpers of the benchmarks: the compiled engine from out/ (node scripts/build.mjs --tests),
// temporary data folders, clean-up of this run's containers, statistics and tables.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** A module of the compiled build, e.g. outModule('src/backends/local/localBackend'). */
export function outModule(relative) {
  const file = path.join(ROOT, 'out', `${relative}.js`);
  if (!fs.existsSync(file)) {
    console.error(`${path.relative(ROOT, file)} is missing: run "node scripts/build.mjs --tests" first (npm run bench does).`);
    process.exit(2);
  }
  return require(file);
}

export const PRESET_ENGINE = { engine_name: 'PyTorch', engine_version: '1.13-cpu' };

/** A logger that keeps warnings and errors for the report and drops the rest. */
export function quietLogger() {
  const problems = [];
  const keep = (level) => (message) => problems.push(`${level}: ${String(message)}`);
  return { problems, debug() {}, info() {}, warn: keep('warn'), error: keep('error') };
}

const folders = [];
/** A fresh temporary folder holding `files` (relative path → content). */
export function tempFolder(prefix, files = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `modelarts-bench-${prefix}-`));
  folders.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** Removes the containers of an engine's store (only its own, by its store label). */
export async function removeContainersOf(docker, storeId) {
  const { LABELS } = outModule('src/backends/local/docker');
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.store}=${storeId}`] } });
  for (const info of containers) await docker.getContainer(info.Id).remove({ force: true, v: true }).catch(() => undefined);
}

export function removeFolders() {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function requireDocker() {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  if (result.status !== 0) {
    console.error('Docker is not reachable (start it with: bash scripts/setup.sh test).');
    process.exit(2);
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution (same clock as Docker's timeNano). */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}

export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}
export const median = (values) => quantile(values, 0.5);

export function fmt(value, digits = 1) {
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Prints rows (arrays of cells) under a header as an aligned text table. */
export function printTable(title, header, rows) {
  const cells = [header, ...rows].map((row) => row.map((cell) => (typeof cell === 'number' ? fmt(cell) : String(cell))));
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(cells[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells.slice(1)) console.log(line(row));
}

/** PASS/FAIL against a target, for the summary line. */
export function verdict(ok) {
  return ok ? 'PASS' : 'MISS';
}

/** `--name <number>` from the command line, or the fallback. */
export function numberOption(name, fallback) {
  const argv = process.argv.slice(2);
  return argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback;
}

/**
 * Runs the benchmark when its file is the one node was started with (not when bench/run.mjs
 * imports it): exit 0 when the target is met, 1 when missed, 2 on error.
 */
export function runIfMain(moduleUrl, run) {
  if (moduleUrl !== `file://${process.argv[1]}`) return;
  run().then(
    (result) => process.exit(result.ok ? 0 : 1),
    (error) => {
      console.error(error);
      process.exit(2);
    },
  );
}

/** A boot file printing `line <i> xxxx…` for i below --lines=N, fast, and the line it prints for i. */
const PAD = 'x'.repeat(40);
export const expectedLine = (i) => `line ${i} ${PAD}`;
export const LINE_PRINTER_BOOT = `import sys
N = int(next(a.split("=")[1] for a in sys.argv if a.startswith("--lines=")))
pad = "x" * 40
w = sys.stdout.write
for s in range(0, N, 10000):
    w("".join(f"line {i} {pad}\\n" for i in range(s, min(s + 10000, N))))
sys.stdout.flush()
`;

/** The extension under test: this checkout, or another one (MODELARTS_BENCH_EXTENSION) to measure a change. */
export const EXTENSION_ROOT = process.env.MODELARTS_BENCH_EXTENSION ? path.resolve(process.env.MODELARTS_BENCH_EXTENSION) : ROOT;

/** Builds dist/extension.js when it is older than src/ (an editor host loads the bundle, not out/). */
export function ensureBundle() {
  const bundle = path.join(EXTENSION_ROOT, 'dist', 'extension.js');
  const newest = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const full = path.join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
    }, 0);
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= newest(path.join(EXTENSION_ROOT, 'src'))) return;
  console.log(`${path.relative(ROOT, bundle) || bundle} is older than its src/: building it (node scripts/build.mjs)`);
  const result = spawnSync(process.execPath, [path.join(EXTENSION_ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: EXTENSION_ROOT });
  if (result.status !== 0) throw new Error('the extension bundle did not build');
}

/**
 * Writes `files` ({name, size}) under `dir` with incompressible content: each file starts with
 * its own random bytes, the rest cycles through one random block at a file-specific offset (no
 * server here deduplicates or compresses). `fsync` puts them on disk, so the kernel's write-back
 * does not land in a first measured round.
 */
export function writeRandomFiles(dir, files, { fsync = false } = {}) {
  const block = randomBytes(8 * 1024 * 1024);
  for (const { name, size } of files) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, randomBytes(Math.min(size, 4096)));
    for (let written = Math.min(size, 4096), offset = Math.floor(Math.random() * block.length); written < size; ) {
      const n = Math.min(size - written, block.length - offset);
      fs.writeSync(fd, block, offset, n);
      written += n;
      offset = (offset + n) % block.length;
    }
    if (fsync) fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
}

/**
 * `rclone copy <dir> bench:<destination> --stats=0 [flags]` against the S3 test server, the remote
 * configured from environment variables alone (no rclone.conf is read or written).
 */
export function rcloneCopy(dir, destination, server, flags = []) {
  // rclone's AWS SDK fails on AWS_CA_BUNDLE ("unsupported transport") even for an http:// endpoint.
  const inherited = { ...process.env };
  delete inherited.AWS_CA_BUNDLE;
  const env = {
    ...inherited,
    RCLONE_CONFIG: '/nonexistent/rclone.conf',
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Ceph',
    RCLONE_CONFIG_BENCH_ENDPOINT: server.endpoint,
    RCLONE_CONFIG_BENCH_REGION: server.region,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: server.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: server.secretAccessKey,
  };
  return new Promise((resolve, reject) => {
    const child = spawn('rclone', ['copy', dir, `bench:${destination}`, '--stats=0', ...flags], { stdio: ['ignore', 'inherit', 'inherit'], env });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`rclone exited with ${code}`))));
  });
}
