/**
 * "Create Algorithm": interactive from a folder (or the palette) as steps with Back — the backend
 * (with several), code folder, boot file, engine, name, hyperparameters; programmatic with a request
 * object and `{backend?}`. Returns the new algorithm's id.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AlgorithmCreateRequest } from '../../core/algorithm';
import { ModelArtsError } from '../../core/errors';
import { uniqueName } from '../../core/format';
import { formatParameterList, jobNameSchema, parseParameterList, type JobParameter } from '../../core/job';
import { hyperparameterTextProblem } from '../../core/jobText';
import type { PresetEngine } from '../../core/presetEngines';
import type { TrainingBackend } from '../../backends/trainingBackend';
import type { Services } from '../../services';
import { backendOption, backendStep, severalBackends } from '../backendChoice';
import { BACK, SKIPPED, inputStep, pickStep, runSteps, type StepPosition } from '../multiStep';
import type { CommandContext } from '../registry';
import { codeFromUri, engineStep, findPythonFiles, withWorkspaceCodeDir } from '../trainingCode';

const TITLE = 'Create Algorithm';

export async function createAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  if (!interactive) {
    const backend = backendOption(services, args[1]);
    const algorithm = await backend.createAlgorithm(withWorkspaceCodeDir(args[0], 'job_config'));
    services.log.info(`Created algorithm ${algorithm.metadata.name} (${algorithm.metadata.id}) on ${backend.displayName}`);
    return algorithm.metadata.id;
  }
  const { backend, request } = await askForAlgorithm(services, args[0] instanceof vscode.Uri ? args[0] : undefined);
  const algorithm = await vscode.window.withProgress({ location: { viewId: 'modelarts.algorithms' }, title: `Creating ${request.metadata.name}` }, () =>
    backend.createAlgorithm(request),
  );
  services.log.info(`Created algorithm ${algorithm.metadata.name} (${algorithm.metadata.id}) on ${backend.displayName}`);
  services.algorithmsTree.refreshNow();
  await services.algorithmsView
    .reveal(services.algorithmsTree.nodeFor(backend.id, algorithm), { select: true, focus: false, expand: true })
    .then(undefined, (error: unknown) => services.log.debug(`Could not reveal algorithm ${algorithm.metadata.name}: ${String(error)}`));
  return algorithm.metadata.id;
}

interface AlgorithmChoices {
  backend?: TrainingBackend;
  codeDir?: string;
  bootFile?: string;
  bootFileGiven: boolean;
  engine?: PresetEngine;
  name?: string;
  parameters?: JobParameter[];
}

async function askForAlgorithm(services: Services, target: vscode.Uri | undefined): Promise<{ backend: TrainingBackend; request: AlgorithmCreateRequest }> {
  const start = await codeFromUri(target);
  const state: AlgorithmChoices = { ...start, bootFileGiven: start.bootFile !== undefined, ...(severalBackends(services) ? {} : { backend: services.backends.list()[0] }) };
  const fromFolder = start.codeDir !== undefined;
  await runSteps(TITLE, state, [
    {
      applies: () => severalBackends(services),
      run: async (s, position) => {
        const picked = await backendStep(services, position, 'save on', s.backend);
        if (picked === BACK) return BACK;
        s.backend = picked;
        return;
      },
    },
    { applies: () => !fromFolder, run: (s, position) => folderStep(s, position) },
    { applies: (s) => !s.bootFileGiven, run: (s, position) => bootFileStep(s, position) },
    { run: async (s, position) => engineStep(s, position, await requireBackend(s).listPresetEngines(), 'job_config.engine', 'The preset engine (image) jobs of this algorithm train with') },
    { run: (s, position) => nameStep(s, position, services) },
    { run: (s, position) => parametersStep(s, position, services) },
  ]);
  const backend = requireBackend(state);
  return { backend, request: {
    metadata: { name: state.name ?? '' },
    job_config: {
      code_dir: state.codeDir ?? '',
      boot_file: state.bootFile ?? '',
      engine: { engine_name: state.engine?.engine_name ?? '', engine_version: state.engine?.engine_version ?? '' },
      parameters: state.parameters ?? [],
    },
  } };
}

function requireBackend(state: AlgorithmChoices): TrainingBackend {
  if (!state.backend) throw new Error('the backend step came first');
  return state.backend;
}

async function folderStep(state: AlgorithmChoices, position: StepPosition) {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  const items: Array<vscode.QuickPickItem & { folder?: string }> = [
    ...folders.map((f) => ({ label: `$(folder) ${f.name}`, description: f.uri.fsPath, folder: f.uri.fsPath })),
    { label: '$(folder-opened) Browse…', description: 'Choose another folder' },
  ];
  const picked = await pickStep({ position, label: 'code folder', items, active: state.codeDir ? items.find((i) => i.folder === state.codeDir) : undefined, placeholder: 'The folder with the training code the algorithm keeps' });
  if (picked === BACK) return BACK;
  const folder = picked.folder ?? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use as Code Folder' }))?.[0]?.fsPath;
  if (!folder) return BACK;
  if (folder !== state.codeDir) Object.assign(state, { codeDir: folder, bootFile: undefined, name: undefined, parameters: undefined });
  return;
}

async function bootFileStep(state: AlgorithmChoices, position: StepPosition) {
  const codeDir = state.codeDir ?? '';
  const files = await findPythonFiles(codeDir);
  if (!files.length) throw new ModelArtsError(`job_config.boot_file: ${codeDir} holds no Python file to start the training with.`, 'ModelArts.NoBootFile');
  if (files.length === 1) {
    state.bootFile = files[0];
    return SKIPPED;
  }
  const items = files.map((file) => ({ label: path.relative(codeDir, file).split(path.sep).join('/'), file }));
  const picked = await pickStep({ position, label: 'boot file', items, active: items.find((i) => i.file === state.bootFile), placeholder: 'The Python file that starts the training' });
  if (picked === BACK) return BACK;
  if (picked.file !== state.bootFile) state.parameters = undefined;
  state.bootFile = picked.file;
  return;
}

async function nameStep(state: AlgorithmChoices, position: StepPosition, services: Services) {
  const taken = (name: string) => services.algorithms.list(requireBackend(state).id).some((a) => a.metadata.name === name);
  const base = path.basename(state.codeDir ?? '').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'algorithm';
  const value = await inputStep({
    position,
    label: 'name',
    prompt: 'Name of the algorithm (1 to 64 letters, digits, "-" and "_")',
    value: state.name ?? uniqueName(base, taken),
    validate: (text) => {
      if (!jobNameSchema.safeParse(text).success) return `An algorithm name has 1 to 64 letters, digits, "-" and "_", such as ${uniqueName(base, taken)}.`;
      return taken(text) ? `An algorithm named ${text} exists already; ${uniqueName(text, taken)} is free.` : undefined;
    },
  });
  if (value === BACK) return BACK;
  state.name = value;
  return;
}

/** Prefilled with the hyperparameters of the last completed job of this boot file. */
async function parametersStep(state: AlgorithmChoices, position: StepPosition, services: Services) {
  const completed = state.bootFile ? services.remembered.lastCompleted(requireBackend(state).id, { bootFile: state.bootFile }) : undefined;
  const value = await inputStep({
    position,
    label: 'hyperparameters',
    prompt: `Defaults passed to the boot file as --name=value flags; a name alone is a bare flag. Leave empty for none.${completed && state.parameters === undefined ? ` Prefilled from ${completed.jobName}, the last job of this code that completed.` : ''}`,
    placeholder: 'epochs=30 lr=0.01',
    value: formatParameterList(state.parameters ?? completed?.parameters ?? []),
    validate: hyperparameterTextProblem,
  });
  if (value === BACK) return BACK;
  state.parameters = parseParameterList(value);
  return;
}
