/**
 * The extension-host half of bench/activation.mjs, loaded by code-server as extensionTestsPath (the
 * same run() convention as test/editor/index.ts). code-server loads two development extensions in
 * this host: ours (modelarts-training.modelarts-training, dist/extension.js) and an empty one the
 * launcher wrote into a temporary folder (package.json with `main` and `activationEvents: []`, an
 * `activate()` returning `{}`). One host = one round, since an extension activates once per host.
 *
 * - On load (before anything can activate either extension), Module._load is wrapped: the first
 *   load of each extension's main file is timed (performance.now() around it, so it covers reading,
 *   compiling and evaluating the module and everything it requires at top level). VS Code's own
 *   marks (code/extHost/willLoadExtensionCode/<id> → didLoadExtensionCode, Date.now() resolution)
 *   are read afterwards as a cross-check. Loads the bundle makes meanwhile that take 0.5 ms or more
 *   are kept (a node built-in loaded for the first time in this host costs its compilation), and
 *   so is every load of a file beside our bundle (a part split off to load on first use, e.g.
 *   dist/aws-s3.js) with the phase it happened in: loading the bundle, inside activate(), after.
 * - run(): checks that both extensions are known and not active, lets the host settle (settleMs:
 *   the workbench is still loading, and built-in extensions activate at start-up), checks again,
 *   then per extension in the round's order: RSS and heap, t0 = performance.now(), `await
 *   vscode.extensions.getExtension(id).activate()`, t1, RSS and heap; then waits gapMs (so the
 *   background work one extension starts, e.g. our Docker connection, does not land in the other's
 *   figure) and notes RSS again. A round in which either extension was already active fails.
 *
 * Configuration (env MODELARTS_BENCH_CONFIG, JSON): ids ({ours, empty}), mains ({ours, empty}:
 * absolute paths of the main files), order (['empty','ours'] or the reverse), settleMs, gapMs,
 * resultFile.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

type Which = 'ours' | 'empty';

interface Config {
  readonly ids: Record<Which, string>;
  readonly mains: Record<Which, string>;
  readonly order: readonly Which[];
  readonly settleMs: number;
  readonly gapMs: number;
  readonly resultFile: string;
  /** Our code cache's folder: the host ends once a cache is there (the next window's is then warm). */
  readonly codeCacheDir?: string;
}

interface LoadTiming {
  startedAt: number;
  ms: number;
  /** Module._load calls made while it loads (the bundle's top-level requires: node built-ins, vscode, externals). */
  nestedLoads: number;
  /** Those of them that took 0.5 ms or more (a built-in loaded for the first time in this host, a file beside the bundle). */
  slowRequires: Array<{ request: string; ms: number }>;
  error?: string;
}

/** A file beside our bundle (a lazily loaded part, e.g. dist/aws-s3.js) loaded by it, and when. */
interface SideLoad {
  request: string;
  file: string;
  ms: number;
  /** What the host was doing: loading our main file, inside our activate(), or after it. */
  phase: string;
  cached: boolean;
}

const config = JSON.parse(process.env.MODELARTS_BENCH_CONFIG ?? '{}') as Config;
const mains = new Map<string, Which>();
for (const [which, file] of Object.entries(config.mains ?? {})) mains.set(path.resolve(file), which as Which);
const ourDist = config.mains?.ours ? path.dirname(path.resolve(config.mains.ours)) : undefined;
const loads: Partial<Record<Which, LoadTiming>> = {};
const sideLoads: SideLoad[] = [];
/** Whether a main file was already in require.cache when this module was loaded (it must not be). */
const cachedAtStart: Partial<Record<Which, boolean>> = {};
let phase = 'before the driver';

// ---- Module._load timing, installed when the host loads this module -----------------------------

interface NodeModule {
  _load: (request: string, parent: unknown, isMain: boolean) => unknown;
  _resolveFilename: (request: string, parent: unknown) => string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('node:module') as NodeModule;
for (const [file, which] of mains) cachedAtStart[which] = require.cache[file] !== undefined;
const originalLoad = Module._load;
let current: LoadTiming | undefined;
Module._load = function (this: unknown, request: string, parent: unknown, isMain: boolean) {
  const which = path.isAbsolute(request) ? mains.get(path.resolve(request)) : undefined;
  if (which && !loads[which]) {
    const timing: LoadTiming = { startedAt: performance.timeOrigin + performance.now(), ms: NaN, nestedLoads: 0, slowRequires: [] };
    loads[which] = timing;
    const outer = current;
    current = timing;
    const before = phase;
    phase = `loading ${which}'s main file`;
    const started = performance.now();
    try {
      return originalLoad.call(this, request, parent, isMain);
    } catch (error) {
      timing.error = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      timing.ms = performance.now() - started;
      current = outer;
      phase = before;
    }
  }
  const parentFile = (parent as { filename?: string } | undefined)?.filename;
  const beside = ourDist !== undefined && request.startsWith('.') && parentFile !== undefined && path.dirname(parentFile) === ourDist;
  if (!current && !beside) return originalLoad.call(this, request, parent, isMain);
  const timing = current;
  if (timing) timing.nestedLoads++;
  let file = '';
  let cached = false;
  if (beside) {
    try {
      file = Module._resolveFilename(request, parent);
      cached = require.cache[file] !== undefined;
    } catch {
      file = '(unresolved)';
    }
  }
  const started = performance.now();
  try {
    return originalLoad.call(this, request, parent, isMain);
  } finally {
    const ms = performance.now() - started;
    if (timing && ms >= 0.5 && timing.slowRequires.length < 50) timing.slowRequires.push({ request, ms });
    if (beside && sideLoads.length < 50) sideLoads.push({ request, file: ourDist ? path.relative(ourDist, file) : file, ms, phase, cached });
  }
};

// ---- The round ----------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => bytes / 2 ** 20;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** VS Code's performance marks of this host (its polyfill keeps them on globalThis). */
function vscodeMarks(): Array<{ name: string; startTime: number }> {
  const marks = (globalThis as { MonacoPerformanceMarks?: { getMarks(): Array<{ name: string; startTime: number }> } }).MonacoPerformanceMarks;
  try {
    return marks?.getMarks() ?? [];
  } catch {
    return [];
  }
}

/** Drift of a 10 ms interval over `ms`: how busy this host is while it settles. */
async function lagOver(ms: number): Promise<{ maxMs: number; totalOver20Ms: number }> {
  const drifts: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    drifts.push(Math.max(0, now - last - 10));
    last = now;
  }, 10);
  await sleep(ms);
  clearInterval(timer);
  return { maxMs: Math.max(0, ...drifts), totalOver20Ms: drifts.filter((d) => d > 20).reduce((a, b) => a + b, 0) };
}

/** Waits (up to 30 s) until the extension has written its code cache. */
async function waitForCodeCache(dir: string): Promise<{ waitedMs: number; files: string[] }> {
  const started = Date.now();
  const files = () => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.bin')) : []);
  while (!files().length) {
    if (Date.now() - started > 30_000) throw new Error(`no code cache appeared in ${dir} within 30 s`);
    await sleep(100);
  }
  return { waitedMs: Date.now() - started, files: files() };
}

export async function run(): Promise<void> {
  const result: Record<string, unknown> = { pid: process.pid, node: process.version, vscode: vscode.version, order: config.order, cachedAtStart };
  const write = () => fs.writeFileSync(config.resultFile, JSON.stringify(result, null, 2));
  try {
    const extensions = { ours: vscode.extensions.getExtension(config.ids.ours), empty: vscode.extensions.getExtension(config.ids.empty) };
    // Both extensions must be loaded in this host (ours in development, the empty one installed).
    result.loaded = { ours: extensions.ours !== undefined, empty: extensions.empty !== undefined };
    result.developmentExtensions = vscode.extensions.all.filter((e) => !e.id.startsWith('vscode.') && !e.packageJSON?.isBuiltin).map((e) => ({ id: e.id, path: e.extensionPath, active: e.isActive }));
    for (const which of ['ours', 'empty'] as const) {
      if (!extensions[which]) {
        const others = (result.developmentExtensions as Array<{ id: string; path: string }>).map((e) => `${e.id} (${e.path})`).join(', ');
        throw new Error(`extension ${config.ids[which]} (${which}) is not loaded in this extension host; the non-built-in ones loaded: ${others || 'none'}`);
      }
    }
    const activeAt = (when: string) => {
      const active = Object.fromEntries((['ours', 'empty'] as const).map((w) => [w, extensions[w]?.isActive === true]));
      (result.activeBefore as Record<string, unknown>)[when] = active;
      const early = (['ours', 'empty'] as const).filter((w) => active[w]);
      if (early.length) throw new Error(`already active ${when} the driver activated it: ${early.map((w) => config.ids[w]).join(', ')}`);
    };
    result.activeBefore = {};
    activeAt('at the start, before');
    result.settle = await lagOver(config.settleMs);
    activeAt('after settling, before');
    if (cachedAtStart.ours || cachedAtStart.empty || loads.ours || loads.empty) throw new Error(`a main file was loaded before the driver ran: ${JSON.stringify({ cachedAtStart, loads })}`);

    const activations: Record<string, unknown> = {};
    result.activations = activations;
    for (const [position, which] of config.order.entries()) {
      const extension = extensions[which]!;
      const before = process.memoryUsage();
      phase = `inside ${which}'s activate()`;
      const t0 = performance.now();
      const exports: unknown = await extension.activate();
      const t1 = performance.now();
      phase = `after ${which}'s activate()`;
      const after = process.memoryUsage();
      const entry: Record<string, unknown> = {
        position,
        startedAt: performance.timeOrigin + t0,
        activateMs: t1 - t0,
        load: loads[which],
        isActive: extension.isActive,
        exportsType: exports === null ? 'null' : typeof exports,
        exportKeys: exports && typeof exports === 'object' ? Object.keys(exports).slice(0, 20) : [],
        rssBeforeMiB: mib(before.rss),
        rssAfterMiB: mib(after.rss),
        heapBeforeMiB: mib(before.heapUsed),
        heapAfterMiB: mib(after.heapUsed),
      };
      activations[which] = entry;
      if (!extension.isActive) throw new Error(`${config.ids[which]} is not active after activate() resolved`);
      await sleep(config.gapMs);
      entry.rssAfterGapMiB = mib(process.memoryUsage().rss);
      entry.heapAfterGapMiB = mib(process.memoryUsage().heapUsed);
    }
    // VS Code's own marks around loading each extension's code (Date.now(), ms resolution).
    const marks = vscodeMarks();
    const markOf = (name: string) => marks.find((m) => m.name === name)?.startTime;
    result.vscodeMarks = Object.fromEntries(
      (['ours', 'empty'] as const).map((w) => {
        const will = markOf(`code/extHost/willLoadExtensionCode/${config.ids[w]}`);
        const did = markOf(`code/extHost/didLoadExtensionCode/${config.ids[w]}`);
        return [w, { willLoadCode: will, didLoadCode: did, loadCodeMs: will !== undefined && did !== undefined ? did - will : undefined }];
      }),
    );
    result.marksAvailable = marks.length > 0;
    result.sideLoads = sideLoads;
    if (config.codeCacheDir) result.codeCache = await waitForCodeCache(config.codeCacheDir);
  } catch (error) {
    result.error = messageOf(error);
    result.sideLoads = sideLoads;
    write();
    throw error;
  }
  write();
}
