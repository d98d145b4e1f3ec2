/**
 * "Create Training Job": from a folder, a Python file, or the active file's folder. Interactive, it
 * asks only what it must (code folder, boot file, engine, hyperparameters, name); with a spec
 * object it asks nothing, creates the job and returns its id.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ModelArtsError } from '../core/errors';
import { defaultJobName } from '../core/format';
import { formatParameterList, jobNameSchema, parameterTextProblem, parseParameterList, type JobCreateRequest } from '../core/job';
import { describeEngine, type PresetEngine } from '../core/presetEngines';
import type { Services } from '../services';
import type { CommandContext } from './registry';

const TITLE = 'Create Training Job';
const SKIPPED_FOLDERS = new Set(['__pycache__', '.git', '.venv', 'venv', 'node_modules', '.mypy_cache', '.ipynb_checkpoints']);

export async function createJob({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  requireTrust();
  if (!interactive) {
    const job = await services.engine.createJob(resolveRelativeCodeDir(args[0]));
    services.log.info(`Created training job ${job.metadata.name} (${job.metadata.id})`);
    return job.metadata.id;
  }

  const request = await askForJob(services, args[0] instanceof vscode.Uri ? args[0] : undefined);
  if (!request) return undefined;
  const job = await vscode.window.withProgress(
    { location: { viewId: 'modelarts.jobs' }, title: `Creating ${request.metadata.name}` },
    (progress) => services.engine.createJob(request, { onProgress: (message) => progress.report({ message }) }),
  );
  services.log.info(`Created training job ${job.metadata.name} (${job.metadata.id})`);
  await services.jobsView.reveal(services.jobsTree.nodeFor(job), { select: true, focus: false }).then(undefined, () => undefined);
  if (services.settings.showLogsOnCreate) services.jobLogs.show(job, job.status.tasks[0] ?? 'worker-0', true);
  return job.metadata.id;
}

function requireTrust(): void {
  if (!vscode.workspace.isTrusted) {
    throw new ModelArtsError(
      'Training jobs run code from this workspace, so they are disabled until you trust it (Manage Workspace Trust).',
      'ModelArts.Untrusted',
    );
  }
}

/** Programmatic specs may name code_dir relative to the first workspace folder. */
function resolveRelativeCodeDir(spec: unknown): unknown {
  if (!spec || typeof spec !== 'object') return spec;
  const algorithm = (spec as { algorithm?: unknown }).algorithm;
  if (!algorithm || typeof algorithm !== 'object') return spec;
  const codeDir = (algorithm as { code_dir?: unknown }).code_dir;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (typeof codeDir !== 'string' || path.isAbsolute(codeDir) || /^[a-z][a-z0-9+.-]*:\/\//i.test(codeDir) || root?.scheme !== 'file') {
    return spec;
  }
  return { ...spec, algorithm: { ...algorithm, code_dir: path.join(root.fsPath, codeDir) } };
}

async function askForJob(services: Services, target: vscode.Uri | undefined): Promise<JobCreateRequest | undefined> {
  const start = await startingPoint(target);
  const codeDir = start.codeDir ?? (await pickCodeDir());
  if (!codeDir) return undefined;
  const bootFile = start.bootFile ?? (await pickBootFile(codeDir));
  if (!bootFile) return undefined;
  const engine = await pickEngine(await services.engine.listPresetEngines());
  if (!engine) return undefined;
  const parameters = await askParameters(services, bootFile);
  if (parameters === undefined) return undefined;
  const name = await vscode.window.showInputBox({
    title: `${TITLE}: name`,
    prompt: 'Name of the training job',
    value: defaultJobName(path.basename(codeDir), new Date()),
    validateInput: (value) => {
      const result = jobNameSchema.safeParse(value);
      return result.success ? undefined : `metadata.name ${result.error.issues[0]?.message ?? 'is invalid'}`;
    },
  });
  if (name === undefined) return undefined;
  return {
    kind: 'job',
    metadata: { name },
    algorithm: {
      code_dir: codeDir,
      boot_file: bootFile,
      engine: { engine_id: engine.engine_id },
      parameters,
    },
  };
}

/** What the invocation already tells: a folder, a Python file, or the active editor's file. */
async function startingPoint(target: vscode.Uri | undefined): Promise<{ codeDir?: string; bootFile?: string }> {
  const uri = target ?? activePythonFile();
  if (!uri || uri.scheme !== 'file') return {};
  const stat = await fs.promises.stat(uri.fsPath).catch(() => undefined);
  if (stat?.isDirectory()) return { codeDir: uri.fsPath };
  if (stat?.isFile() && uri.fsPath.endsWith('.py')) return { codeDir: path.dirname(uri.fsPath), bootFile: uri.fsPath };
  if (stat?.isFile()) return { codeDir: path.dirname(uri.fsPath) };
  return {};
}

function activePythonFile(): vscode.Uri | undefined {
  const document = vscode.window.activeTextEditor?.document;
  return document && document.languageId === 'python' && document.uri.scheme === 'file' ? document.uri : undefined;
}

async function pickCodeDir(): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { folder?: string };
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  const items: Item[] = [
    ...folders.map((f) => ({ label: `$(folder) ${f.name}`, description: f.uri.fsPath, folder: f.uri.fsPath })),
    { label: '$(folder-opened) Browse…', description: 'Choose another folder' },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: `${TITLE}: code folder`,
    placeHolder: 'The folder with the training code (copied into the job as ModelArts does)',
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.folder) return picked.folder;
  const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use as Code Folder' });
  return chosen?.[0]?.fsPath;
}

async function pickBootFile(codeDir: string): Promise<string | undefined> {
  const files = await findPythonFiles(codeDir);
  if (files.length === 0) {
    throw new ModelArtsError(`algorithm.boot_file: ${codeDir} holds no Python file to start the training with.`, 'ModelArts.NoBootFile');
  }
  if (files.length === 1) return files[0];
  const items = files.map((file) => ({ label: path.relative(codeDir, file).split(path.sep).join('/'), file }));
  const picked = await vscode.window.showQuickPick(items, {
    title: `${TITLE}: boot file`,
    placeHolder: 'The Python file that starts the training',
    ignoreFocusOut: true,
  });
  return picked?.file;
}

/** Python files under `dir` (a few levels deep), the likeliest boot files first. */
async function findPythonFiles(dir: string, maxDepth = 4, limit = 500): Promise<string[]> {
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

async function pickEngine(engines: PresetEngine[]): Promise<PresetEngine | undefined> {
  if (engines.length === 0) {
    throw new ModelArtsError(
      'algorithm.engine: no preset engine image is installed in the Docker engine. Build one with scripts/build-preset-images.sh (npm start does).',
      'ModelArts.NoEngine',
    );
  }
  if (engines.length === 1) return engines[0];
  const picked = await vscode.window.showQuickPick(
    engines.map((engine) => ({ label: describeEngine(engine), description: engine.image_info.cpu_image_url, engine })),
    { title: `${TITLE}: engine`, placeHolder: 'The preset engine (image) to train with', ignoreFocusOut: true },
  );
  return picked?.engine;
}

async function askParameters(services: Services, bootFile: string): Promise<JobCreateRequest['algorithm']['parameters'] | undefined> {
  const key = `modelarts.lastParameters:${bootFile}`;
  const previous = services.context.workspaceState.get<string>(key) ?? '';
  const value = await vscode.window.showInputBox({
    title: `${TITLE}: hyperparameters`,
    prompt: 'Passed to the boot file as --name=value flags; a name alone is a bare flag. Leave empty for none.',
    placeHolder: 'epochs=30 lr=0.01',
    value: previous,
    ignoreFocusOut: true,
    validateInput: parameterTextProblem,
  });
  if (value === undefined) return undefined;
  const parameters = parseParameterList(value);
  await services.context.workspaceState.update(key, formatParameterList(parameters));
  return parameters;
}
