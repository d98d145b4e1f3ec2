// Activation: `await vscode.extensions.getExtension(id).activate()` of this extension beside an
// empty extension, in a real extension host (code-server 4.100.3 + Chromium, as the editor suite
// runs), and the size of the bundle it loads. The issue: "Median activation in the extension host
// is about 255 ms today for a 720 KB bundle. Load what activation does not need only when first
// used. Target, in a benchmark beside an empty extension activated in the same code-server run: our
// activation at most 100 ms above the empty one (median of 7), the main bundle at most 600 KB."
//
// First the production bundle is built as it ships (node scripts/build.mjs --production, with
// MODELARTS_BUILD_META so a build that supports it leaves its esbuild metafile: what each package
// adds), and the files .vscodeignore lets into a .vsix are copied into a temporary folder, which
// the rounds load as extensionDevelopmentPath (--in-place: the checkout itself). The empty
// extension (package.json with `main` and `activationEvents: []`, an `activate()` returning `{}`)
// is installed into code-server's extensions folder: code-server 4.100.3 turns the payload into a
// Map, so a second `extensionDevelopmentPath` entry replaces the first (--empty-as-development
// tries it anyway). bench/support/activationHost.ts (out/bench/support/activationHost.js) is the
// `extensionTestsPath`. An extension activates once per extension host, so every round is a fresh
// code-server (fresh user data, the installed code-server) and a fresh browser context: the
// workbench opens a temporary folder with the Explorer shown (the ModelArts views closed, no
// launch.json, no debug session: nothing activates either extension). In the host, per round: both
// extensions must be loaded and inactive, the host settles (--settle ms: the workbench and
// built-in extensions start meanwhile), then each extension in the round's order (alternating:
// empty first in even rounds, ours first in odd ones) is timed with performance.now() around
// `await activate()`, with --gap ms between the two so background work one starts (our Docker
// connection) does not land in the other's figure. The host also times the first Module._load of
// each main file (reading + compiling + evaluating the bundle: the part of activate() before our
// activate function runs), notes loads of files beside the bundle (parts split off to load on
// first use), its RSS and heap before and after, and reads VS Code's own marks around loading the
// code; the launcher reads our figure of its own from its "ModelArts" log (`ModelArts Training
// activated in X ms`, <user-data>/logs/…/exthost1/modelarts-training.modelarts-training/
// ModelArts.log) and when the log said the Docker backend was connected. Docker need not be up:
// activation must not wait for it.
// One warm-up round (not counted), then --rounds measured rounds. Targets: median of (ours − empty)
// per round ≤ 100 ms in a window that has the code cache (warm), dist/main.js ≤ 600 KB (614,400 bytes). Exit 0 when both are met, 1 when
// missed, 2 on error. Figures go to out/bench/activation.json.
//   node bench/activation.mjs [--rounds 7] [--warmup 1] [--settle 3000] [--gap 1500] [--no-build] [--in-place] [--empty-as-development] [--quiet]
//   MODELARTS_BENCH_EXTENSION=<other checkout> node bench/activation.mjs    (measure another checkout; it is built there)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXTENSION_ROOT, ROOT, median, numberOption, outModule, printTable, quantile, removeFolders, runIfMain, tempFolder, verdict } from './common.mjs';

const DIFFERENCE_TARGET_MS = 100;
/** The bundle; dist/extension.js, the entry, loads it with V8's code cache (src/boot.ts). */
const MAIN_FILE = 'main.js';
const CODE_CACHE_LINE = /code cache: (\w+)/;
const BOOT_LINE = /after loading for ([\d.]+) ms/;
const BUNDLE_TARGET_BYTES = 600 * 1024;
const EXTENSION_ID = 'modelarts-training.modelarts-training';
const EMPTY_ID = 'modelarts-bench.empty-extension';
const EMPTY_VERSION = '0.0.1';
const ROUND_TIMEOUT_MS = 120_000;
const LOG_WAIT_MS = 10_000;
const OWN_LINE = /ModelArts Training activated in ([\d.]+) ms/;
const BACKEND_LINE = /Backend (.+?) at (.*) is (\w+)/;
/** A 1-min load average above this at a round's start means other work on the machine (the round itself brings it to about the core count). */
const BUSY_LOAD = os.cpus().length + 1;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const f = (v, d = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
const kb = (bytes) => `${f(bytes / 1024, 1)} KB`;

// ---- The bundle -------------------------------------------------------------------------------

/** Builds the production bundle in the extension's checkout, as it ships; returns the build's own line and the metafile if it left one. */
function buildProduction(metaFile) {
  fs.rmSync(metaFile, { force: true });
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(EXTENSION_ROOT, 'scripts', 'build.mjs'), '--production'], {
    cwd: EXTENSION_ROOT,
    encoding: 'utf8',
    env: { ...process.env, MODELARTS_BUILD_META: metaFile },
  });
  if (result.stderr.trim()) process.stderr.write(result.stderr);
  if (result.status !== 0) throw new Error(`node scripts/build.mjs --production failed (exit ${result.status}): ${result.stdout}${result.stderr}`);
  const line = result.stdout.trim().split('\n').filter(Boolean).pop() ?? '';
  let meta;
  if (fs.existsSync(metaFile)) meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  return { line, ms: Date.now() - started, startedAt: started, meta };
}

/** `dir/**`, `dir/*.js`, `file` … as a RegExp over a path relative to the extension's root. */
function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * What a .vsix of this checkout holds, copied into a temporary folder: the files .vscodeignore lets
 * through (it ignores everything, `**`, then re-includes with `!` lines), else package.json and
 * dist/. The rounds load this copy, so they measure what ships (no node_modules beside it) and a
 * rebuild of dist/ during the run (by someone working in the checkout) cannot change it.
 */
function snapshotExtension() {
  const ignore = path.join(EXTENSION_ROOT, '.vscodeignore');
  const lines = fs.existsSync(ignore) ? fs.readFileSync(ignore, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];
  const followsIgnore = lines[0] === '**' && lines.slice(1).every((l) => l.startsWith('!'));
  const includes = (followsIgnore ? lines.slice(1).map((l) => l.slice(1).replace(/^\//, '')) : ['package.json', 'dist/**']).map(globToRegExp);
  const dir = tempFolder('activation-extension');
  const copied = [];
  const walk = (relative) => {
    for (const entry of fs.readdirSync(path.join(EXTENSION_ROOT, relative), { withFileTypes: true })) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!['node_modules', '.git', 'out'].includes(entry.name)) walk(rel);
      } else if (includes.some((re) => re.test(rel))) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.copyFileSync(path.join(EXTENSION_ROOT, rel), path.join(dir, rel));
        copied.push(rel);
      }
    }
  };
  walk('');
  if (!copied.includes('package.json') || !copied.includes('dist/extension.js')) throw new Error(`the snapshot of ${EXTENSION_ROOT} lacks package.json or dist/extension.js (${copied.length} files copied)`);
  return { dir, files: copied.length, rule: followsIgnore ? '.vscodeignore' : 'package.json + dist/**' };
}

/** The bundle (dist/main.js, which the entry dist/extension.js loads) and every other dist/*.js (the shipped files: .vscodeignore keeps dist/*.js), with sizes. */
function bundleFiles(root, buildStartedAt) {
  const dist = path.join(root, 'dist');
  const main = path.join(dist, MAIN_FILE);
  if (!fs.existsSync(main)) throw new Error(`${main} is missing`);
  const mainText = fs.readFileSync(main, 'utf8');
  const files = fs
    .readdirSync(dist)
    .filter((name) => name.endsWith('.js'))
    .map((name) => {
      const stat = fs.statSync(path.join(dist, name));
      return {
        file: `dist/${name}`,
        bytes: stat.size,
        mtime: new Date(stat.mtimeMs).toISOString(),
        // Older than this build: an earlier build wrote it (a build may skip parts whose inputs did not change, or no longer make it).
        stale: buildStartedAt !== undefined && stat.mtimeMs < buildStartedAt - 1000,
        // Whether the main bundle names it (a lazy require of ./<name>).
        referencedByMain: name === MAIN_FILE ? undefined : name === 'extension.js' ? true : mainText.includes(`./${name}`) || mainText.includes(`./${name.replace(/\.js$/, '')}"`) || mainText.includes(`./${name.replace(/\.js$/, '')}'`),
      };
    })
    .sort((a, b) => (a.file === `dist/${MAIN_FILE}` ? -1 : b.file === `dist/${MAIN_FILE}` ? 1 : b.bytes - a.bytes));
  // A production build has no source map comment and long (minified) lines.
  const tail = mainText.slice(-300);
  const lines = mainText.split('\n').length;
  const production = !/sourceMappingURL=/.test(tail) && mainText.length / lines > 500;
  return { files, main: files[0], production, lines };
}

/** Bytes each package (or the extension's own src/) adds to the main bundle, from esbuild's metafile. */
function packagesOf(meta) {
  const output = Object.entries(meta?.outputs ?? {}).find(([file]) => file.endsWith(MAIN_FILE))?.[1];
  if (!output) return undefined;
  const byPackage = new Map();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input.replace(/\\/g, '/'));
    const name = match ? match[1] : input.startsWith('src/') || input.includes('/src/') ? 'src/ (the extension)' : input.replace(/^.*:/, '(plugin) ');
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return [...byPackage.entries()].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

// ---- The empty extension ----------------------------------------------------------------------

const EMPTY_FILES = (() => {
  const [publisher, name] = EMPTY_ID.split('.');
  return {
    'package.json': JSON.stringify(
      { name, displayName: 'Empty (activation benchmark)', publisher, version: EMPTY_VERSION, engines: { vscode: '^1.100.0' }, main: './extension.js', activationEvents: [] },
      null,
      2,
    ),
    'extension.js': "'use strict';\nexports.activate = function activate() {\n  return {};\n};\nexports.deactivate = function deactivate() {};\n",
  };
})();

/** Writes the empty extension into `dir`. */
function writeEmptyExtension(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(EMPTY_FILES)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

/**
 * Installs the empty extension into code-server's extensions folder (<home>/extensions, the
 * --extensions-dir CodeServer passes) as VS Code's extension management would: its folder and an
 * entry in the profile's extensions.json. Returns the extension's folder.
 */
function installEmptyExtension(home) {
  const extensions = path.join(home, 'extensions');
  const folder = `${EMPTY_ID}-${EMPTY_VERSION}`;
  const dir = writeEmptyExtension(path.join(extensions, folder));
  const manifest = [
    {
      identifier: { id: EMPTY_ID },
      version: EMPTY_VERSION,
      location: { $mid: 1, scheme: 'file', path: dir },
      relativeLocation: folder,
      metadata: { installedTimestamp: Date.now(), pinned: true, source: 'vsix' },
    },
  ];
  fs.writeFileSync(path.join(extensions, 'extensions.json'), JSON.stringify(manifest));
  return dir;
}

// ---- One round: a fresh code-server ------------------------------------------------------------

/** Files under `dir` whose path ends with `suffix`. */
function findFiles(dir, suffix) {
  const found = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (full.endsWith(suffix)) found.push(full);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return found;
}

/** `2026-12-04 20:01:01.123 [info] …` → wall-clock ms (the log writes local time). */
function logTime(line) {
  const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  if (!match) return NaN;
  const [, y, mo, d, h, mi, s, ms] = match.map(Number);
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

/** Our "ModelArts" log of this window (files not in `read`, which it extends): its own activation figures, the code cache, when the Docker backend answered. */
async function readOwnLog(userData, activatedAt, read = new Set()) {
  const deadline = Date.now() + LOG_WAIT_MS;
  for (;;) {
    const files = findFiles(path.join(userData, 'logs'), path.join(EXTENSION_ID, 'ModelArts.log')).filter((file) => !read.has(file));
    const text = files.map((file) => fs.readFileSync(file, 'utf8')).join('');
    const own = OWN_LINE.exec(text);
    const backendLine = text.split('\n').find((line) => BACKEND_LINE.test(line));
    if ((own && backendLine) || Date.now() > deadline) {
      for (const file of files) read.add(file);
      const backend = backendLine ? BACKEND_LINE.exec(backendLine) : undefined;
      const ownLine = own ? text.slice(own.index).split('\n')[0] : '';
      return {
        file: files[0] ? path.relative(userData, files[0]) : undefined,
        ownMs: own ? Number(own[1]) : NaN,
        bootMs: Number(BOOT_LINE.exec(ownLine)?.[1] ?? NaN),
        codeCache: CODE_CACHE_LINE.exec(ownLine)?.[1],
        backend: backend ? { name: backend[1], endpoint: backend[2], state: backend[3], msAfterActivateStart: logTime(backendLine) - activatedAt } : undefined,
        head: text.split('\n').slice(0, 12),
      };
    }
    await sleep(200);
  }
}

/** Waits until the process group of `pid` is gone; SIGKILL after `ms`. */
async function waitGone(pid, ms = 10_000) {
  if (!pid) return;
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + ms;
  while (alive() && Date.now() < deadline) await sleep(100);
  if (alive()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await sleep(200);
  }
}

/**
 * One round: a fresh code-server (fresh user data), in which a first window activates both
 * extensions with no code cache yet (cold: the first window after installing or updating), waits
 * until ours has written its cache, and a second window activates them again (warm: every window
 * after). Returns the two entries.
 */
async function round({ index, warmup, order, browser, hostEntry, extensionDir, emptyAs, devEmptyDir, workspace, settleMs, gapMs, work, codeServer }) {
  const { CodeServer, screenshot } = codeServer;
  const resultFile = path.join(work, `host-result-${index}.json`);
  // Fresh user data and extensions folder per round (CodeServer.stop() removes them).
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-bench-activation-home-'));
  const emptyDir = emptyAs === 'development' ? devEmptyDir : installEmptyExtension(home);
  const codeCacheDir = path.join(home, 'user-data', 'User', 'globalStorage', EXTENSION_ID, 'code-cache');
  const config = {
    ids: { ours: EXTENSION_ID, empty: EMPTY_ID },
    mains: { ours: path.join(extensionDir, 'dist', 'extension.js'), empty: path.join(emptyDir, 'extension.js') },
    order,
    settleMs,
    gapMs,
    resultFile,
    codeCacheDir,
  };
  const started = Date.now();
  let server;
  try {
    server = await CodeServer.start({ home, env: { MODELARTS_BENCH_CONFIG: JSON.stringify(config) } });
  } catch (error) {
    fs.rmSync(home, { recursive: true, force: true });
    throw error;
  }
  const pid = server.child?.pid;
  const serverStartMs = Date.now() - started;
  const entries = [];
  const logsRead = new Set();
  try {
    for (const phase of ['cold', 'warm']) {
      const entry = { index, warmup, order, phase, loadStart: os.loadavg()[0], serverStartMs };
      entries.push(entry);
      const phaseStarted = Date.now();
      fs.rmSync(resultFile, { force: true });
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      try {
        const page = await context.newPage();
        const exited = new Promise((resolve) => void page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
        const opened = Date.now();
        await page.goto(
          server.workbenchUrl(workspace, [
            ['extensionDevelopmentPath', server.remoteUri(extensionDir)],
            // code-server 4.100.3 turns the payload into a Map: of two extensionDevelopmentPath entries only the last one loads.
            ...(emptyAs === 'development' ? [['extensionDevelopmentPath', server.remoteUri(emptyDir)]] : []),
            ['extensionTestsPath', server.remoteUri(hostEntry.replace(/\.js$/, ''))],
          ]),
        );
        let timer;
        const exitCode = await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(() => resolve(undefined), ROUND_TIMEOUT_MS)))]).finally(() => clearTimeout(timer));
        entry.pageToExitMs = Date.now() - opened;
        if (exitCode === undefined) {
          await screenshot(page, `activation-timeout-${index}-${phase}`).catch(() => undefined);
          throw new Error(`${phase}: no result from the extension host within ${ROUND_TIMEOUT_MS / 1000} s; code-server log: ${server.logFile}`);
        }
        if (!fs.existsSync(resultFile)) throw new Error(`${phase}: the extension host exited (${exitCode}) without a result; code-server log: ${server.logFile}`);
        entry.exitCode = exitCode;
        entry.host = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
        if (entry.host.error) throw new Error(`${phase}: extension host: ${entry.host.error}`);
        entry.log = await readOwnLog(path.join(server.home, 'user-data'), entry.host.activations?.ours?.startedAt, logsRead);
        const expected = phase === 'cold' ? 'none' : 'used';
        if (entry.log.codeCache !== expected) throw new Error(`${phase}: the code cache was "${entry.log.codeCache ?? 'not logged'}", not "${expected}"`);
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
      } finally {
        await context.close().catch(() => undefined);
        entry.loadEnd = os.loadavg()[0];
        entry.tookMs = Date.now() - phaseStarted;
      }
      if (entry.error) break;
    }
  } finally {
    await server.stop();
    await waitGone(pid);
  }
  return entries;
}

// ---- Run and report ----------------------------------------------------------------------------

const stats = (values) => {
  const finite = values.filter(Number.isFinite);
  return { median: median(finite), p90: quantile(finite, 0.9), min: finite.length ? Math.min(...finite) : NaN, max: finite.length ? Math.max(...finite) : NaN, n: finite.length };
};

/** The figures of one measured round. */
function figuresOf(r) {
  const a = r.host?.activations ?? {};
  const ours = a.ours ?? {};
  const empty = a.empty ?? {};
  return {
    oursMs: ours.activateMs,
    emptyMs: empty.activateMs,
    differenceMs: ours.activateMs - empty.activateMs,
    oursRequireMs: ours.load?.ms,
    emptyRequireMs: empty.load?.ms,
    oursAfterRequireMs: ours.activateMs - ours.load?.ms,
    emptyAfterRequireMs: empty.activateMs - empty.load?.ms,
    oursOwnMs: r.log?.ownMs,
    oursBootMs: r.log?.bootMs,
    oursMarkLoadCodeMs: r.host?.vscodeMarks?.ours?.loadCodeMs,
    emptyMarkLoadCodeMs: r.host?.vscodeMarks?.empty?.loadCodeMs,
    oursNestedLoads: ours.load?.nestedLoads,
    oursRssDeltaMiB: ours.rssAfterMiB - ours.rssBeforeMiB,
    oursRssDeltaAfterGapMiB: ours.rssAfterGapMiB - ours.rssBeforeMiB,
    emptyRssDeltaMiB: empty.rssAfterMiB - empty.rssBeforeMiB,
    oursHeapDeltaMiB: ours.heapAfterMiB - ours.heapBeforeMiB,
    rssBeforeMiB: Math.min(ours.rssBeforeMiB, empty.rssBeforeMiB),
    backendMs: r.log?.backend?.msAfterActivateStart,
    oursFirst: r.order[0] === 'ours',
  };
}

export async function run({
  rounds = numberOption('--rounds', 7),
  warmup = numberOption('--warmup', 1),
  settleMs = numberOption('--settle', 3000),
  gapMs = numberOption('--gap', 1500),
  build = !process.argv.includes('--no-build'),
  quiet = process.argv.includes('--quiet'),
  // installed: the empty extension in code-server's extensions folder; development: a second extensionDevelopmentPath (does not load in code-server 4.100.3).
  emptyAs = process.argv.includes('--empty-as-development') ? 'development' : 'installed',
  inPlace = process.argv.includes('--in-place'),
} = {}) {
  const started = Date.now();
  const out = path.join(ROOT, 'out', 'bench');
  fs.mkdirSync(out, { recursive: true });
  const hostEntry = path.join(ROOT, 'out', 'bench', 'support', 'activationHost.js');
  if (!fs.existsSync(hostEntry)) {
    console.error('out/bench/support/activationHost.js is missing: run "node scripts/build.mjs --tests" first (npm run bench does).');
    process.exit(2);
  }
  let buildInfo;
  if (build) {
    console.log(`Building the production bundle: node scripts/build.mjs --production${EXTENSION_ROOT !== ROOT ? ` in ${EXTENSION_ROOT}` : ''}`);
    buildInfo = buildProduction(path.join(out, 'activation-meta.json'));
    console.log(`  ${buildInfo.line} (${f(buildInfo.ms)} ms)`);
  }
  const bundle = bundleFiles(EXTENSION_ROOT, buildInfo?.startedAt);
  if (!build) {
    const newest = (dir) =>
      fs.readdirSync(dir, { withFileTypes: true }).reduce((latest, e) => Math.max(latest, e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs), 0);
    if (fs.statSync(path.join(EXTENSION_ROOT, 'dist', 'extension.js')).mtimeMs < newest(path.join(EXTENSION_ROOT, 'src'))) console.log('NOTE: dist/extension.js is older than src/ (--no-build measures it as it is)');
  }
  if (!bundle.production) console.log(`NOTE: dist/${MAIN_FILE} is not a production build (${bundle.lines} lines${build ? '' : '; --no-build measures it as it is'})`);
  const packages = packagesOf(buildInfo?.meta);
  const all = [];
  const load = { start: os.loadavg()[0] };
  const maxFailures = Math.max(2, Math.ceil(rounds / 2));
  let failures = 0;
  let snapshot;
  let session;
  try {
    // The shipped files, copied (--in-place: the checkout itself, as the other editor benchmarks load it).
    snapshot = inPlace ? undefined : snapshotExtension();
    if (snapshot) {
      const copiedBytes = fs.statSync(path.join(snapshot.dir, 'dist', MAIN_FILE)).size;
      if (copiedBytes !== bundle.main.bytes) throw new Error(`dist/${MAIN_FILE} changed while it was copied (${bundle.main.bytes} → ${copiedBytes} bytes): someone is building; run again`);
      console.log(`The rounds load a copy of what ships (${snapshot.files} files by ${snapshot.rule}): ${snapshot.dir}`);
    }
    const devEmptyDir = emptyAs === 'development' ? writeEmptyExtension(tempFolder('activation-empty')) : undefined;
    const workspace = tempFolder('activation-workspace', { 'README.md': 'activation benchmark\n' });
    const work = tempFolder('activation-results');
    // Loaded once, and the host module copied (it needs only vscode and node:*): a concurrent
    // `node scripts/build.mjs --tests` empties out/ for a while, which must not fail a round.
    const codeServer = outModule('test/support/codeServer');
    const hostCopy = path.join(work, 'activationHost.js');
    fs.copyFileSync(hostEntry, hostCopy);
    session = await codeServer.openBrowser();
    await session.context.close().catch(() => undefined); // every round gets a context of its own
    console.log(`Rounds: ${warmup} warm-up + ${rounds} measured, each a fresh code-server; settle ${settleMs} ms, gap ${gapMs} ms; the empty extension ${emptyAs === 'development' ? 'as a second extensionDevelopmentPath' : "installed in code-server's extensions folder"}`);
    for (let index = 0, measured = 0; measured < rounds; index++) {
      const isWarmup = index < warmup;
      // Alternating: empty first in even rounds, ours first in odd ones (counted over measured rounds).
      const order = (isWarmup ? index : measured) % 2 === 0 ? ['empty', 'ours'] : ['ours', 'empty'];
      const phases = await round({ index, warmup: isWarmup, order, browser: session.browser, hostEntry: hostCopy, extensionDir: snapshot?.dir ?? EXTENSION_ROOT, emptyAs, devEmptyDir, workspace, settleMs, gapMs, work, codeServer });
      all.push(...phases);
      const label = isWarmup ? 'warm-up' : `round ${measured + 1}`;
      const failed = phases.find((r) => r.error);
      if (failed || phases.length < 2) {
        failures++;
        console.error(`  ${label}: FAILED: ${failed?.error ?? 'no warm window'}`);
        if (failures > maxFailures) throw new Error(`${failures} rounds failed; the last: ${failed?.error}`);
        continue;
      }
      if (!isWarmup) {
        measured++;
        for (const r of phases) r.round = measured;
      }
      if (!quiet) {
        for (const r of phases) {
          const x = figuresOf(r);
          console.log(
            `  ${label.padEnd(8)} ${r.phase} ${order.join(' → ').padEnd(13)} empty ${f(x.emptyMs, 1)} ms, ours ${f(x.oursMs, 1)} ms (loading ${f(x.oursBootMs, 1)}, own log ${f(x.oursOwnMs, 1)}), difference ${f(x.differenceMs, 1)} ms; ` +
              `RSS +${f(x.oursRssDeltaMiB, 1)} MiB; Docker backend ${r.log?.backend ? `${r.log.backend.state} ${f(x.backendMs)} ms after` : 'not logged'}; took ${f(r.tookMs / 1000, 1)} s`,
          );
        }
      }
    }
  } finally {
    await session?.browser.close().catch(() => undefined);
    removeFolders();
  }
  load.end = os.loadavg()[0];

  // ---- Report ----------------------------------------------------------------------------------
  // The target is judged on warm windows (every window after the first); the first, cold, is reported beside it.
  const measured = all.filter((r) => !r.warmup && !r.error && r.phase === 'warm' && all.some((c) => c.round === r.round && c.phase === 'cold' && !c.error));
  const colds = all.filter((r) => !r.warmup && !r.error && r.phase === 'cold' && measured.some((w) => w.round === r.round));
  const figures = measured.map(figuresOf);
  const coldFigures = colds.map(figuresOf);
  const s = (key, filter = () => true) => stats(figures.filter(filter).map((x) => x[key]));
  const summaryStats = Object.fromEntries(Object.keys(figures[0] ?? {}).filter((k) => k !== 'oursFirst').map((k) => [k, s(k)]));
  const row = (label, st, d = 1) => [label, f(st.median, d), f(st.p90, d), f(st.min, d), f(st.max, d), String(st.n)];
  printTable(
    `Activation in the extension host (code-server ${'4.100.3'}), ${figures.length} rounds, each a fresh code-server; the second window of each (warm: our code cache written by the first); ms unless noted`,
    ['figure', 'median', 'p90', 'min', 'max', 'n'],
    [
      row('empty extension: await activate()', summaryStats.emptyMs),
      row('ours: await activate()', summaryStats.oursMs),
      row(`DIFFERENCE ours − empty, per round (target ≤ ${DIFFERENCE_TARGET_MS})`, summaryStats.differenceMs),
      row('  ours: Module._load of dist/extension.js (the entry; it loads the bundle inside activate())', summaryStats.oursRequireMs),
      row('  ours: own log "after loading for X ms" (read, compile, evaluate dist/main.js)', summaryStats.oursBootMs),
      row('  ours: the rest (VS Code + our activate())', summaryStats.oursAfterRequireMs),
      row('  ours: own log "activated in X ms" (activate() body)', summaryStats.oursOwnMs),
      row('  ours: VS Code marks will → didLoadExtensionCode (1 ms res.)', summaryStats.oursMarkLoadCodeMs),
      row('  empty: Module._load of its extension.js', summaryStats.emptyRequireMs),
      row('  empty: the rest (VS Code + activate())', summaryStats.emptyAfterRequireMs),
      row('ours when activated first', s('oursMs', (x) => x.oursFirst)),
      row('ours when activated second', s('oursMs', (x) => !x.oursFirst)),
      row('empty when activated first', s('emptyMs', (x) => !x.oursFirst)),
      row('empty when activated second', s('emptyMs', (x) => x.oursFirst)),
      row('host RSS before the first activation (MiB)', summaryStats.rssBeforeMiB),
      row('ours: host RSS after − before activate() (MiB)', summaryStats.oursRssDeltaMiB),
      row(`ours: host RSS ${gapMs} ms later − before (MiB)`, summaryStats.oursRssDeltaAfterGapMiB),
      row('ours: heap used after − before activate() (MiB)', summaryStats.oursHeapDeltaMiB),
      row('empty: host RSS after − before activate() (MiB)', summaryStats.emptyRssDeltaMiB),
      row('ours: Docker backend state logged, ms after activate() started', summaryStats.backendMs, 0),
    ],
  );
  const coldStat = (key) => stats(coldFigures.map((x) => x[key]));
  printTable(
    `The first window after installing (no code cache yet: cold), the same ${coldFigures.length} rounds; ms`,
    ['figure', 'median', 'p90', 'min', 'max', 'n'],
    [
      row('empty extension: await activate()', coldStat('emptyMs')),
      row('ours: await activate()', coldStat('oursMs')),
      row('DIFFERENCE ours − empty, per round', coldStat('differenceMs')),
      row('  ours: own log "after loading for X ms" (read, compile, evaluate dist/main.js)', coldStat('oursBootMs')),
      row('  ours: own log "activated in X ms" (activate() body)', coldStat('oursOwnMs')),
    ],
  );
  printTable(
    'Rounds (ms)',
    ['round', 'window', 'order', 'empty', 'ours', 'ours − empty', 'loading', 'own log', 'RSS +MiB', 'load avg'],
    [...colds, ...measured].sort((a, b) => a.round - b.round || (a.phase === 'cold' ? -1 : 1)).map((r) => {
      const x = figuresOf(r);
      return [String(r.round), r.phase, r.order.join(' → '), f(x.emptyMs, 1), f(x.oursMs, 1), f(x.differenceMs, 1), f(x.oursBootMs, 1), f(x.oursOwnMs, 1), f(x.oursRssDeltaMiB, 1), f(r.loadStart, 2)];
    }),
  );
  const mainOk = bundle.main.bytes <= BUNDLE_TARGET_BYTES;
  printTable(
    `Bundle (${bundle.production ? 'production build' : 'NOT a production build'}${build ? ', built by this run' : ', as found (--no-build)'}); target dist/${MAIN_FILE} ≤ ${kb(BUNDLE_TARGET_BYTES)}`,
    ['file', 'bytes', 'KB', 'verdict / note'],
    bundle.files.map((file) => [
      file.file,
      f(file.bytes),
      f(file.bytes / 1024, 1),
      file.file === `dist/${MAIN_FILE}` ? verdict(mainOk) : file.file === 'dist/extension.js' ? 'the entry: loads the bundle with the code cache' : `${file.referencedByMain ? `loaded by ${MAIN_FILE} on demand` : `not named in ${MAIN_FILE}`}${file.stale ? '; not rewritten by this build' : ''}`,
    ]),
  );
  if (packages) {
    const total = packages.reduce((n, p) => n + p.bytes, 0);
    printTable(
      `What dist/${MAIN_FILE} holds, from esbuild's metafile (${kb(total)} of module code; the rest is esbuild's wrappers)`,
      ['package', 'KB', 'share'],
      packages.slice(0, 15).map((p) => [p.name, f(p.bytes / 1024, 1), `${f((100 * p.bytes) / total, 1)} %`]),
    );
    const scopes = new Map();
    for (const p of packages) if (p.name.startsWith('@')) scopes.set(p.name.split('/')[0], (scopes.get(p.name.split('/')[0]) ?? 0) + p.bytes);
    const big = [...scopes].filter(([, bytes]) => bytes >= 10 * 1024).sort((a, b) => b[1] - a[1]);
    if (big.length) console.log(`by scope: ${big.map(([scope, bytes]) => `${scope}/* ${kb(bytes)}`).join(', ')}`);
  }
  // Files beside the bundle that ours loaded in the host (parts split off to load on first use), by phase.
  const sideLoads = new Map();
  for (const r of measured) for (const l of r.host?.sideLoads ?? []) if (!l.cached) sideLoads.set(`${l.file} ${l.phase}`, [...(sideLoads.get(`${l.file} ${l.phase}`) ?? []), l.ms]);
  console.log(
    sideLoads.size
      ? `files beside the bundle loaded in the host (median ms, in how many rounds): ${[...sideLoads].map(([key, ms]) => `dist/${key} ${f(median(ms), 1)} ms (${ms.length}/${measured.length})`).join('; ')}`
      : 'files beside the bundle loaded in the host until the round ended: none',
  );
  const slow = new Map();
  for (const r of measured) for (const q of r.host?.activations?.ours?.load?.slowRequires ?? []) slow.set(q.request, [...(slow.get(q.request) ?? []), q.ms]);
  const slowest = [...slow].map(([request, ms]) => [request, median(ms), ms.length]).sort((a, b) => b[1] - a[1]).slice(0, 8);
  if (slowest.length) console.log(`requires made while loading the bundle that took ≥ 0.5 ms (median ms, rounds): ${slowest.map(([request, ms, n]) => `${request} ${f(ms, 1)} (${n})`).join(', ')}`);
  const first = measured[0]?.host;
  const loadedBoth = first?.loaded?.ours === true && first?.loaded?.empty === true;
  const backendStates = [...new Set(measured.map((r) => r.log?.backend?.state ?? 'not logged'))];
  const differenceOk = summaryStats.differenceMs?.median <= DIFFERENCE_TARGET_MS;
  const summary = {
    differenceTargetMs: DIFFERENCE_TARGET_MS,
    bundleTargetBytes: BUNDLE_TARGET_BYTES,
    differenceMedianMs: summaryStats.differenceMs?.median,
    differenceP90Ms: summaryStats.differenceMs?.p90,
    oursMedianMs: summaryStats.oursMs?.median,
    oursP90Ms: summaryStats.oursMs?.p90,
    emptyMedianMs: summaryStats.emptyMs?.median,
    emptyP90Ms: summaryStats.emptyMs?.p90,
    oursRequireMedianMs: summaryStats.oursRequireMs?.median,
    oursOwnMedianMs: summaryStats.oursOwnMs?.median,
    oursBootMedianMs: summaryStats.oursBootMs?.median,
    cold: { differenceMedianMs: coldStat('differenceMs').median, differenceP90Ms: coldStat('differenceMs').p90, oursMedianMs: coldStat('oursMs').median, emptyMedianMs: coldStat('emptyMs').median, oursBootMedianMs: coldStat('oursBootMs').median },
    mainBundleBytes: bundle.main.bytes,
    production: bundle.production,
    differenceOk,
    bundleOk: mainOk,
    measuredRounds: figures.length,
    failedRounds: failures,
    emptyAs,
    loadedBoth,
    dockerBackend: backendStates,
    busyRounds: measured.filter((r) => r.loadStart > BUSY_LOAD).length,
    sideLoads: Object.fromEntries([...sideLoads].map(([key, ms]) => [key, { medianMs: median(ms), rounds: ms.length }])),
    load,
  };
  fs.writeFileSync(
    path.join(out, 'activation.json'),
    JSON.stringify(
      { name: 'activation', roundsRequested: rounds, warmup, settleMs, gapMs, emptyAs, loaded: snapshot ? `a copy of the shipped files (${snapshot.rule})` : 'the checkout in place', startedAt: started, extensionRoot: EXTENSION_ROOT, build: buildInfo && { line: buildInfo.line, ms: buildInfo.ms }, bundle, packages, summary, figures: summaryStats, rounds: all },
      null,
      2,
    ),
  );
  console.log(`both extensions in one host (ours as extensionDevelopmentPath, the empty one ${emptyAs === 'development' ? 'as a second extensionDevelopmentPath' : 'installed'}): ${loadedBoth ? 'yes' : 'NO'}; Docker backend after activation: ${backendStates.join(', ')}`);
  console.log(`load average (1 min) ${f(load.start, 1)} → ${f(load.end, 1)} on ${os.cpus().length} cores`);
  if (summary.busyRounds) console.log(`NOTE: in ${summary.busyRounds} of ${measured.length} rounds the load average was above ${BUSY_LOAD} (this benchmark's own code-server and Chromium bring it to about ${os.cpus().length}): other work on the machine inflates the figures; compare runs on a quiet machine`);
  if (EXTENSION_ROOT !== ROOT) console.log(`extension under test: ${EXTENSION_ROOT}`);
  if (!figures.length) throw new Error('no round was measured');
  const ok = differenceOk && mainOk;
  console.log(
    `activation ours − empty median ${f(summary.differenceMedianMs, 1)} ms, p90 ${f(summary.differenceP90Ms, 1)} (warm; target ≤ ${DIFFERENCE_TARGET_MS}): ${verdict(differenceOk)}; first window (cold) ${f(summary.cold.differenceMedianMs, 1)} ms; ` +
      `ours ${f(summary.oursMedianMs, 1)} ms (require ${f(summary.oursRequireMedianMs, 1)}, own ${f(summary.oursOwnMedianMs, 1)}), empty ${f(summary.emptyMedianMs, 1)} ms; ` +
      `dist/${MAIN_FILE} ${kb(bundle.main.bytes)} (${bundle.production ? 'production' : 'NOT production'}; target ≤ ${kb(BUNDLE_TARGET_BYTES)}): ${verdict(mainOk)}; ${figures.length} rounds, ${failures} failed; took ${f((Date.now() - started) / 1000)} s; results in out/bench/activation.json`,
  );
  return { name: 'activation', ...summary, ok };
}

runIfMain(import.meta.url, run);
