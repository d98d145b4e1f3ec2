/**
 * The extension's entry (dist/extension.js): loads the bundle (dist/main.js) with V8's code cache,
 * as VS Code loads its own code. Compiling the bundle and the functions activation runs is most of
 * what activation costs; the cache, written a few seconds after the first activation into the
 * extension's global storage, lets later windows skip it. V8 checks the cache against the source
 * and its own version and flags: a stale or foreign cache is rejected and the bundle compiles as
 * usual (and a new cache is written). Any failure here only costs the speed-up.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type * as vscode from 'vscode';

/** How the bundle was loaded, for the activation log line. */
export interface BootInfo {
  /** `used`: compiled from the cache; `none`: no cache yet (one is written); `rejected`: V8 refused it (a new one is written); `off`: no storage for one. */
  readonly codeCache: 'used' | 'none' | 'rejected' | 'off';
  /** Reading, compiling and evaluating the bundle. */
  readonly loadMs: number;
}

interface Main {
  activate(context: vscode.ExtensionContext, boot?: BootInfo): unknown;
  deactivate(): Promise<void>;
}

const MAIN = path.join(__dirname, 'main.js');
/** After activation, so the cache holds what activation compiled, and off its path. */
const WRITE_CACHE_AFTER_MS = 5_000;

let main: Main | undefined;

export function activate(context: vscode.ExtensionContext): unknown {
  const started = performance.now();
  const loaded = loadBundle<Main>(MAIN, context.globalStorageUri.scheme === 'file' ? path.join(context.globalStorageUri.fsPath, 'code-cache') : undefined);
  main = loaded.exports;
  return main.activate(context, { codeCache: loaded.codeCache, loadMs: performance.now() - started });
}

export function deactivate(): Promise<void> | undefined {
  return main?.deactivate();
}

/**
 * Loads a CommonJS bundle as Node would (its `require` resolves beside this file), compiled with the
 * code cache in `cacheDir` when there is one that fits; without one, writes it `writeAfterMs` later.
 */
export function loadBundle<T>(file: string, cacheDir: string | undefined, writeAfterMs = WRITE_CACHE_AFTER_MS): { exports: T; codeCache: BootInfo['codeCache'] } {
  const source = fs.readFileSync(file, 'utf8');
  const key = createHash('sha256').update(source).update(process.version).update(process.arch).digest('hex').slice(0, 16);
  const cacheFile = cacheDir && path.join(cacheDir, `${path.basename(file, '.js')}-${key}.bin`);
  const cachedData = cacheFile ? readCache(cacheFile) : undefined;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} as T };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, file, path.dirname(file));
  const codeCache = !cacheDir ? 'off' : !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  if (cacheDir && cacheFile && codeCache !== 'used') setTimeout(() => writeCache(script, cacheDir, cacheFile), writeAfterMs);
  return { exports: module.exports, codeCache };
}

function readCache(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Written whole (a temporary file renamed into place), replacing the caches of other versions. */
function writeCache(script: vm.Script, dir: string, file: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, script.createCachedData());
    fs.renameSync(partial, file);
    const bundle = path.basename(file).replace(/-[0-9a-f]{16}\.bin$/, '-');
    for (const name of fs.readdirSync(dir)) if (name.startsWith(bundle) && name !== path.basename(file)) fs.rmSync(path.join(dir, name), { force: true });
  } catch {
    /* the next window compiles as this one did */
  }
}
