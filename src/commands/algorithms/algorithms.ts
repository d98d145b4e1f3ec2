/**
 * The algorithm commands: create, edit, delete, create a job from one, refresh. From a menu or the
 * palette they ask what is missing; called with arguments they ask nothing and return their result.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import type { Algorithm, AlgorithmCreateRequest } from '../../core/algorithm';
import { InvalidInputError, ModelArtsError, NotFoundError, invalidInput } from '../../core/errors';
import { uniqueName } from '../../core/format';
import { formatParameterList, jobNameSchema, parameterTextProblem, parseParameterList, type JobParameter } from '../../core/job';
import { describeEngine, type PresetEngine } from '../../core/presetEngines';
import type { Services } from '../../services';
import { algorithmDocumentUri } from '../../views/algorithmFileSystem';
import { AlgorithmDetailNode, AlgorithmNode, describeAlgorithm } from '../../views/algorithmsTree';
import { JobDraft, type JobDraftSeed } from '../jobs/jobDraft';
import { codeFromUri, findPythonFiles, noPresetEngine, withWorkspaceCodeDir } from '../trainingCode';
import type { CommandContext } from '../registry';

const CREATE_TITLE = 'Create Algorithm';

// ---- create -------------------------------------------------------------------------------------

/** Interactive from a folder (or the palette); programmatic with a request object. Returns the new id. */
export async function createAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  if (!interactive) {
    const algorithm = await services.engine.createAlgorithm(withWorkspaceCodeDir(args[0], 'job_config'));
    services.log.info(`Created algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
    return algorithm.metadata.id;
  }
  const request = await askForAlgorithm(services, args[0] instanceof vscode.Uri ? args[0] : undefined);
  if (!request) return undefined;
  const algorithm = await vscode.window.withProgress({ location: { viewId: 'modelarts.algorithms' }, title: `Creating ${request.metadata.name}` }, () =>
    services.engine.createAlgorithm(request),
  );
  services.log.info(`Created algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
  services.algorithmsTree.refreshNow();
  await services.algorithmsView
    .reveal(services.algorithmsTree.nodeFor(algorithm), { select: true, focus: false, expand: true })
    .then(undefined, (error: unknown) => services.log.debug(`Could not reveal algorithm ${algorithm.metadata.name}: ${String(error)}`));
  return algorithm.metadata.id;
}

async function askForAlgorithm(services: Services, target: vscode.Uri | undefined): Promise<AlgorithmCreateRequest | undefined> {
  const start = await codeFromUri(target);
  const codeDir = start.codeDir ?? (await pickFolder());
  if (!codeDir) return undefined;
  const bootFile = start.bootFile ?? (await pickBootFile(codeDir));
  if (!bootFile) return undefined;
  const engine = await pickEngine(await services.engine.listPresetEngines());
  if (!engine) return undefined;
  const name = await askName(services, codeDir);
  if (name === undefined) return undefined;
  const parameters = await askParameters(services, bootFile);
  if (parameters === undefined) return undefined;
  return {
    metadata: { name },
    job_config: { code_dir: codeDir, boot_file: bootFile, engine: { engine_name: engine.engine_name, engine_version: engine.engine_version }, parameters },
  };
}

async function pickFolder(): Promise<string | undefined> {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  const items: Array<vscode.QuickPickItem & { folder?: string }> = [
    ...folders.map((f) => ({ label: `$(folder) ${f.name}`, description: f.uri.fsPath, folder: f.uri.fsPath })),
    { label: '$(folder-opened) Browse…', description: 'Choose another folder' },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: `${CREATE_TITLE}: code folder`,
    placeHolder: 'The folder with the training code the algorithm keeps',
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (picked.folder) return picked.folder;
  const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use as Code Folder' });
  return chosen?.[0]?.fsPath;
}

async function pickBootFile(codeDir: string): Promise<string | undefined> {
  const files = await findPythonFiles(codeDir);
  if (!files.length) throw new ModelArtsError(`job_config.boot_file: ${codeDir} holds no Python file to start the training with.`, 'ModelArts.NoBootFile');
  if (files.length === 1) return files[0];
  const picked = await vscode.window.showQuickPick(
    files.map((file) => ({ label: path.relative(codeDir, file).split(path.sep).join('/'), file })),
    { title: `${CREATE_TITLE}: boot file`, placeHolder: 'The Python file that starts the training', ignoreFocusOut: true },
  );
  return picked?.file;
}

async function pickEngine(engines: readonly PresetEngine[]): Promise<PresetEngine | undefined> {
  if (!engines.length) {
    throw noPresetEngine('job_config.engine');
  }
  if (engines.length === 1) return engines[0];
  const picked = await vscode.window.showQuickPick(
    engines.map((engine) => ({ label: describeEngine(engine), description: engine.image_info.cpu_image_url, engine })),
    { title: `${CREATE_TITLE}: engine`, placeHolder: 'The preset engine (image) jobs of this algorithm train with', ignoreFocusOut: true },
  );
  return picked?.engine;
}

async function askName(services: Services, codeDir: string): Promise<string | undefined> {
  const taken = (name: string) => services.algorithms.list().some((a) => a.metadata.name === name);
  const base = path.basename(codeDir).replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'algorithm';
  return vscode.window.showInputBox({
    title: `${CREATE_TITLE}: name`,
    prompt: 'Name of the algorithm',
    value: uniqueName(base, taken),
    ignoreFocusOut: true,
    validateInput: (value) => {
      const result = jobNameSchema.safeParse(value);
      if (!result.success) return `metadata.name ${result.error.issues[0]?.message ?? 'is invalid'}`;
      return taken(value) ? `metadata.name: an algorithm named ${value} already exists` : undefined;
    },
  });
}

/** Prefilled with what was last used for this boot file (by a job or an algorithm). */
async function askParameters(services: Services, bootFile: string): Promise<JobParameter[] | undefined> {
  const key = `modelarts.lastParameters:${bootFile}`;
  const value = await vscode.window.showInputBox({
    title: `${CREATE_TITLE}: hyperparameters`,
    prompt: 'Defaults passed to the boot file as --name=value flags; a name alone is a bare flag. Leave empty for none.',
    placeHolder: 'epochs=30 lr=0.01',
    value: services.context.workspaceState.get<string>(key) ?? '',
    ignoreFocusOut: true,
    validateInput: (text) => parameterTextProblem(text)?.replace(/^algorithm\./, 'job_config.'),
  });
  if (value === undefined) return undefined;
  const parameters = parseParameterList(value);
  await services.context.workspaceState.update(key, formatParameterList(parameters));
  return parameters;
}

// ---- edit ---------------------------------------------------------------------------------------

const editArgsSchema = z.strictObject({
  id: z.string({ error: 'must be an algorithm id' }).min(1, { error: 'must be an algorithm id' }),
  request: z.record(z.string(), z.unknown(), { error: 'must be an algorithm request: an object with metadata and job_config' }),
});

/**
 * Interactive: opens the algorithm's JSON in an editor; saving it updates the algorithm.
 * Programmatic: `(id, request)` or `{id, request}` updates without opening; `(id)` alone opens.
 * Returns the algorithm id.
 */
export async function editAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  if (!interactive && (args.length > 1 || typeof args[0] !== 'string')) {
    const parsed = editArgsSchema.safeParse(typeof args[0] === 'string' ? { id: args[0], request: args[1] } : args[0]);
    if (!parsed.success) throw invalidInput('modelarts.algorithms.edit arguments', parsed.error);
    const algorithm = await services.engine.updateAlgorithm(parsed.data.id, withWorkspaceCodeDir(parsed.data.request, 'job_config'));
    services.log.info(`Updated algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
    return algorithm.metadata.id;
  }
  const algorithm = await targetAlgorithm(services, args[0], 'Edit Algorithm');
  if (!algorithm) return undefined;
  await vscode.window.showTextDocument(algorithmDocumentUri(algorithm), { preview: false });
  return algorithm.metadata.id;
}

// ---- delete -------------------------------------------------------------------------------------

/** Interactive: asks for confirmation naming the algorithm. Programmatic `(id)`: deletes at once. */
export async function deleteAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ deleted: string } | undefined> {
  const algorithm = await targetAlgorithm(services, args[0], 'Delete Algorithm');
  if (!algorithm) return undefined;
  if (interactive) {
    const choice = await vscode.window.showWarningMessage(
      `Delete the algorithm "${algorithm.metadata.name}"?`,
      { modal: true, detail: 'Training jobs already created from it are not affected. This cannot be undone.' },
      'Delete',
    );
    if (choice !== 'Delete') return undefined;
  }
  await services.engine.deleteAlgorithm(algorithm.metadata.id);
  services.log.info(`Deleted algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
  return { deleted: algorithm.metadata.id };
}

// ---- create a job -------------------------------------------------------------------------------

/**
 * Interactive: "Create Training Job" starting from the algorithm (it asks for the rest).
 * Programmatic `(id)`: returns that draft's seed without asking.
 */
export async function createJobFromAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<unknown> {
  const algorithm = await targetAlgorithm(services, args[0], 'Create Training Job from Algorithm');
  if (!algorithm) return undefined;
  const seed: JobDraftSeed = { algorithmId: algorithm.metadata.id };
  if (!interactive) return seed;
  return vscode.commands.executeCommand('modelarts.jobs.create', new JobDraft(seed));
}

// ---- refresh ------------------------------------------------------------------------------------

/** Reconnects if needed and reloads the algorithms; a failed load shows in the tree (and rejects a programmatic call). */
export async function refreshAlgorithms({ services, interactive }: CommandContext): Promise<{ state: string; algorithms: number }> {
  const state = await services.engine.connect();
  if (state.kind === 'available') await services.algorithms.reload();
  const load = services.algorithms.state;
  if (load.kind === 'failed' && !interactive) throw new ModelArtsError(`Could not load the algorithms: ${load.message}`, 'ModelArts.AlgorithmsUnavailable');
  return { state: state.kind, algorithms: state.kind === 'available' ? services.algorithms.list().length : 0 };
}

// ---- which algorithm ----------------------------------------------------------------------------

/** The algorithm a command is about: a tree node, an id or `{id}`; with none, asks. */
async function targetAlgorithm(services: Services, arg: unknown, title: string): Promise<Algorithm | undefined> {
  if (arg instanceof AlgorithmNode || arg instanceof AlgorithmDetailNode) return requireAlgorithm(services, arg.algorithm.metadata.id);
  if (typeof arg === 'string') return requireAlgorithm(services, arg);
  if (arg && typeof arg === 'object' && typeof (arg as { id?: unknown }).id === 'string') return requireAlgorithm(services, (arg as { id: string }).id);
  if (arg !== undefined) throw new InvalidInputError(title, [{ field: 'id', message: 'must be an algorithm id (or {id})' }]);
  return pickAlgorithm(services.algorithms.list(), title);
}

async function requireAlgorithm(services: Services, id: string): Promise<Algorithm> {
  const algorithm = await services.engine.getAlgorithm(id);
  if (!algorithm) throw new NotFoundError('algorithm', id);
  return algorithm;
}

async function pickAlgorithm(algorithms: readonly Algorithm[], title: string): Promise<Algorithm | undefined> {
  if (!algorithms.length) {
    const choice = await vscode.window.showInformationMessage('There are no algorithms yet.', CREATE_TITLE);
    if (choice) void vscode.commands.executeCommand('modelarts.algorithms.create');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    algorithms.map((algorithm) => ({ label: algorithm.metadata.name, description: describeAlgorithm(algorithm), detail: algorithm.metadata.description || undefined, algorithm })),
    { title, placeHolder: 'Pick an algorithm', matchOnDescription: true },
  );
  return picked?.algorithm;
}
