/**
 * Where training code is, for the job and algorithm commands: the code folder and boot file a
 * menu's URI names, code folders given relative to the workspace, boot-file candidates, and the
 * one message for a Docker engine without a preset image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ModelArtsError } from '../core/errors';
import { isStoreUrl } from '../core/jobText';
import { describeEngine, type PresetEngine } from '../core/presetEngines';
import { BACK, SKIPPED, pickStep, type StepOutcome, type StepPosition } from './multiStep';

const SKIPPED_FOLDERS = new Set(['__pycache__', '.git', '.venv', 'venv', 'node_modules', '.mypy_cache', '.ipynb_checkpoints']);

/** Python files under `dir` (a few levels deep), the likeliest boot files first. */
export async function findPythonFiles(dir: string, maxDepth = 4, limit = 500): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string, depth: number): Promise<void> => {
    if (depth > maxDepth || found.length >= limit) return;
    const entries = await fs.promises.readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name) && !entry.name.startsWith('.')) await walk(full, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.py') && found.length < limit) found.push(full);
    }
  };
  await walk(dir, 0);
  const rank = (file: string) => {
    const base = path.basename(file);
    const depth = path.relative(dir, file).split(path.sep).length;
    return (base === 'train.py' ? 0 : /train/i.test(base) ? 1 : base === 'main.py' ? 2 : 3) * 10 + depth;
  };
  return found.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** What a URI from the Explorer or the editor names: a folder is the code folder; a Python file is also the boot file. */
export async function codeFromUri(uri: vscode.Uri | undefined): Promise<{ codeDir?: string; bootFile?: string }> {
  if (!uri || uri.scheme !== 'file') return {};
  const stat = await fs.promises.stat(uri.fsPath).catch(() => undefined);
  if (stat?.isDirectory()) return { codeDir: uri.fsPath };
  if (stat?.isFile() && uri.fsPath.endsWith('.py')) return { codeDir: path.dirname(uri.fsPath), bootFile: uri.fsPath };
  return stat?.isFile() ? { codeDir: path.dirname(uri.fsPath) } : {};
}

/**
 * A programmatic request's code folder (`request[section].code_dir`) and local input folders
 * (`inputs[].remote.obs.obs_url` given as a path) resolved against the first workspace folder when
 * they are relative; the request unchanged otherwise.
 */
export function withWorkspaceCodeDir(request: unknown, section: 'algorithm' | 'job_config'): unknown {
  if (!request || typeof request !== 'object') return request;
  const config = (request as Record<string, unknown>)[section];
  if (!config || typeof config !== 'object') return request;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (root?.scheme !== 'file') return request;
  const resolve = (value: unknown) => (typeof value === 'string' && value !== '' && !path.isAbsolute(value) && !isStoreUrl(value) ? path.join(root.fsPath, value) : value);
  const { code_dir: codeDir, inputs } = config as { code_dir?: unknown; inputs?: unknown };
  const resolvedInputs = Array.isArray(inputs)
    ? inputs.map((input: unknown) => {
        const url = (input as { remote?: { obs?: { obs_url?: unknown } } } | undefined)?.remote?.obs?.obs_url;
        if (resolve(url) === url) return input;
        const typed = input as { remote: { obs: Record<string, unknown> } };
        return { ...typed, remote: { ...typed.remote, obs: { ...typed.remote.obs, obs_url: resolve(url) } } };
      })
    : inputs;
  return {
    ...request,
    [section]: { ...config, ...(codeDir !== undefined ? { code_dir: resolve(codeDir) } : {}), ...(inputs !== undefined ? { inputs: resolvedInputs } : {}) },
  };
}

/** No preset engine image in the Docker engine: `field` is `algorithm.engine` or `job_config.engine`. */
export function noPresetEngine(field: string): ModelArtsError {
  return new ModelArtsError(
    `${field}: no preset engine image is installed in the Docker engine. Build one with scripts/build-preset-images.sh (npm start does).`,
    'ModelArts.NoEngine',
  );
}

/** The engine step of a flow: passed over when the backend offers one engine; `field` names it in the refusal when it offers none. */
export async function engineStep(state: { engine?: PresetEngine }, position: StepPosition, engines: readonly PresetEngine[], field: string, placeholder: string): Promise<StepOutcome> {
  if (!engines.length) throw noPresetEngine(field);
  if (engines.length === 1) {
    state.engine = engines[0];
    return SKIPPED;
  }
  const items = engines.map((engine) => ({ label: describeEngine(engine), description: engine.image_info.cpu_image_url, engine }));
  const picked = await pickStep({ position, label: 'engine', items, active: items.find((i) => i.engine === state.engine), placeholder });
  if (picked === BACK) return BACK;
  state.engine = picked.engine;
  return undefined;
}
