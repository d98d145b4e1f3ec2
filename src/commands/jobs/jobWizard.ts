/**
 * The steps of "Create Training Job": (with several backends) where it runs, code folder or
 * algorithm, boot file, engine, flavor, node count, hyperparameters, inputs, outputs, name, review —
 * ten steps (eleven with "Run on") with Back, always counted out of the same total. What comes
 * prefilled says where it came from: the last *completed* job of the same code on that backend
 * (hyperparameters, inputs, flavor), the flavor chosen last, the backend's default flavor (and why).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Algorithm } from '../../core/algorithm';
import { errorMessage, ModelArtsError } from '../../core/errors';
import type { Flavor } from '../../core/flavors';
import { defaultJobName, formatBytes, uniqueName } from '../../core/format';
import { formatParameterList, jobNameSchema, parseParameterList, type JobCreateRequest, type JobParameter } from '../../core/job';
import { channelTextProblem, hyperparameterTextProblem, parseChannelText, resolveLocalLocation } from '../../core/jobText';
import type { PresetEngine } from '../../core/presetEngines';
import type { CompletedRun } from '../../drafts/rememberedChoices';
import { LOCAL_BACKEND_ID } from '../../backends/jobRef';
import type { TrainingBackend } from '../../backends/trainingBackend';
import type { Services } from '../../services';
import { backendStep } from '../backendChoice';
import { BACK, SKIPPED, inputStep, pickStep, runSteps, type Step, type StepPosition } from '../multiStep';
import { engineStep, findPythonFiles } from '../trainingCode';
import { flavorItems, preferredFlavor } from '../../drafts/flavorChoice';
import { chooseDataset, chooseFolder, suggestedInputs } from './inputChoices';
import type { JobDraftSeed } from './jobDraft';

const TITLE = 'Create Training Job';

interface JobChoices {
  backend: TrainingBackend;
  codeDir?: string;
  bootFile?: string;
  /** The boot file came with the code folder (a Python file was the starting point). */
  bootFileGiven?: boolean;
  algorithm?: Algorithm;
  engine?: PresetEngine;
  flavor?: Flavor;
  nodeCount: number;
  /** Undefined until the step was shown: then it is prefilled. */
  parameters?: JobParameter[];
  inputs?: string;
  /** Inputs the flow started with (a dataset used as input): offered again after another source is picked. */
  seedInputs?: string;
  outputs?: string;
  name?: string;
  open?: 'create' | 'json';
}

interface Catalog {
  readonly algorithms: Algorithm[];
  readonly engines: PresetEngine[];
  readonly flavors: Flavor[];
}

/** A backend's algorithms, engines and flavors, read once per flow. */
class Catalogs {
  private readonly loaded = new Map<string, Promise<Catalog>>();

  of(backend: TrainingBackend): Promise<Catalog> {
    let catalog = this.loaded.get(backend.id);
    if (!catalog) {
      catalog = Promise.all([backend.listAlgorithms(), backend.listPresetEngines(), backend.listFlavors()]).then(([algorithms, engines, flavors]) => ({ algorithms, engines, flavors }));
      this.loaded.set(backend.id, catalog);
    }
    return catalog;
  }
}

export async function askForJob(services: Services, seed: JobDraftSeed, suggested: JobDraftSeed): Promise<{ backend: TrainingBackend; request: JobCreateRequest; open: 'create' | 'json' }> {
  const catalogs = new Catalogs();
  const preferred = services.backends.get(services.settings.defaultBackend);
  const first = seed.backend
    ? services.backends.require(seed.backend)
    : preferred?.state.kind === 'available'
      ? preferred
      : (services.backends.list().find((b) => b.state.kind === 'available') ?? services.backends.require(LOCAL_BACKEND_ID));
  const algorithm = seed.algorithmId ? (await catalogs.of(first)).algorithms.find((a) => a.metadata.id === seed.algorithmId) : undefined;
  const state: JobChoices = {
    backend: first,
    ...(seed.codeDir ? { codeDir: seed.codeDir } : {}),
    ...(seed.bootFile ? { bootFile: seed.bootFile, bootFileGiven: true } : {}),
    ...(algorithm ? { algorithm } : {}),
    nodeCount: 1,
    ...(seed.inputs?.length ? { seedInputs: seed.inputs.map((input) => `${input.name}=${input.url}`).join(' ') } : {}),
  };
  const fromSource = !seed.codeDir && !algorithm;
  // "Run on" first, only when there is a choice (an algorithm belongs to its backend).
  const chooseBackend = services.backends.size > 1 && !algorithm && !seed.backend;
  const steps: Array<Step<JobChoices>> = [
    ...(chooseBackend ? [{ run: (s: JobChoices, position: StepPosition) => runOnStep(s, position, services) }] : []),
    { applies: () => fromSource, run: async (s, position) => sourceStep(s, position, await catalogs.of(s.backend), suggested) },
    { applies: (s) => !s.algorithm && !s.bootFileGiven, run: (s, position) => bootFileStep(s, position) },
    { applies: (s) => !s.algorithm, run: async (s, position) => engineStep(s, position, (await catalogs.of(s.backend)).engines, 'algorithm.engine', 'The preset engine (image) to train with') },
    { run: async (s, position) => flavorStep(s, position, services, (await catalogs.of(s.backend)).flavors) },
    { applies: (s) => (s.flavor?.max_num ?? 1) > 1, run: (s, position) => nodeCountStep(s, position) },
    { run: (s, position) => parametersStep(s, position, lastCompleted(services, s)) },
    { run: (s, position) => inputsStep(s, position, services) },
    { run: (s, position) => outputsStep(s, position) },
    { run: (s, position) => nameStep(s, position, services) },
    { run: (s, position) => reviewStep(s, position) },
  ];
  await runSteps(TITLE, state, steps);
  if (state.flavor) await services.remembered.rememberFlavor(state.backend.id, state.flavor.flavor_id);
  return { backend: state.backend, request: toRequest(state), open: state.open ?? 'create' };
}

async function runOnStep(state: JobChoices, position: StepPosition, services: Services) {
  const picked = await backendStep(services, position, 'run on', state.backend);
  if (picked === BACK) return BACK;
  // Another backend has other engines and flavors: what was chosen from the old ones goes.
  if (picked !== state.backend) Object.assign(state, { backend: picked, engine: undefined, flavor: undefined, algorithm: undefined });
  return;
}

function lastCompleted(services: Services, state: JobChoices): CompletedRun | undefined {
  if (state.algorithm) return services.remembered.lastCompleted(state.backend.id, { algorithmId: state.algorithm.metadata.id });
  return state.bootFile ? services.remembered.lastCompleted(state.backend.id, { bootFile: state.bootFile }) : undefined;
}

/** Relative input folders are relative to the workspace folder of the code (or the code folder outside the workspace). */
function baseFolder(state: JobChoices): string | undefined {
  const code = state.codeDir ?? state.algorithm?.job_config.code_dir;
  const inWorkspace = code ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(code)) : undefined;
  if (inWorkspace?.uri.scheme === 'file') return inWorkspace.uri.fsPath;
  const first = vscode.workspace.workspaceFolders?.[0];
  return code && !isUrl(code) ? code : first?.uri.scheme === 'file' ? first.uri.fsPath : undefined;
}

function isUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
}

type SourceItem = vscode.QuickPickItem & { folder?: string; bootFile?: string; browse?: boolean; algorithm?: Algorithm };

async function sourceStep(state: JobChoices, position: StepPosition, catalog: Catalog, suggested: JobDraftSeed) {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  const active: SourceItem | undefined = suggested.codeDir && suggested.bootFile
    ? { label: `$(file-code) ${path.basename(suggested.bootFile)}`, description: `in ${suggested.codeDir} (the active editor)`, folder: suggested.codeDir, bootFile: suggested.bootFile }
    : undefined;
  const items: SourceItem[] = [
    { label: 'Code folder', kind: vscode.QuickPickItemKind.Separator },
    ...(active ? [active] : []),
    ...folders.map((f) => ({ label: `$(folder) ${f.name}`, description: f.uri.fsPath, folder: f.uri.fsPath })),
    { label: '$(folder-opened) Browse…', description: 'Choose another folder', browse: true },
    ...(catalog.algorithms.length ? [{ label: 'Algorithm', kind: vscode.QuickPickItemKind.Separator }] : []),
    ...catalog.algorithms.map((a) => ({
      label: `$(symbol-method) ${a.metadata.name}`,
      description: `${a.job_config.engine.engine_name ?? a.job_config.engine.image_url ?? ''} ${a.job_config.engine.engine_version ?? ''}`.trim(),
      detail: a.metadata.description || undefined,
      algorithm: a,
    })),
  ];
  const current = items.find((item) => (item.algorithm && item.algorithm === state.algorithm) || (item.folder && item.folder === state.codeDir && item.bootFile === (state.bootFileGiven ? state.bootFile : undefined)));
  const picked = await pickStep({ position, label: 'code folder or algorithm', items, active: current ?? active, placeholder: 'The training code: a folder of this workspace, or a saved algorithm' });
  if (picked === BACK) return BACK;
  // Another source: what was prefilled from the previous one is prefilled again.
  const changed = picked.algorithm ? picked.algorithm !== state.algorithm : picked.folder !== state.codeDir || picked.bootFile !== state.bootFile;
  if (changed) Object.assign(state, { parameters: undefined, inputs: undefined, outputs: undefined });
  if (picked.algorithm) {
    Object.assign(state, { algorithm: picked.algorithm, codeDir: undefined, bootFile: undefined, bootFileGiven: false });
    return;
  }
  const folder = picked.folder ?? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use as Code Folder' }))?.[0]?.fsPath;
  if (!folder) return BACK;
  Object.assign(state, { algorithm: undefined, codeDir: folder, bootFile: picked.bootFile, bootFileGiven: picked.bootFile !== undefined });
  return;
}

async function bootFileStep(state: JobChoices, position: StepPosition) {
  const codeDir = state.codeDir ?? '';
  const files = await findPythonFiles(codeDir);
  if (files.length === 0) throw new ModelArtsError(`algorithm.boot_file: ${codeDir} holds no Python file to start the training with.`, 'ModelArts.NoBootFile');
  if (files.length === 1) {
    state.bootFile = files[0];
    return SKIPPED;
  }
  const items = files.map((file) => ({ label: path.relative(codeDir, file).split(path.sep).join('/'), file }));
  const picked = await pickStep({ position, label: 'boot file', items, active: items.find((i) => i.file === state.bootFile), placeholder: 'The Python file that starts the training' });
  if (picked === BACK) return BACK;
  if (picked.file !== state.bootFile) Object.assign(state, { parameters: undefined, inputs: undefined });
  state.bootFile = picked.file;
  return;
}

async function flavorStep(state: JobChoices, position: StepPosition, services: Services, flavors: Flavor[]) {
  if (flavors.length === 0) throw new ModelArtsError('spec.resource.flavor_id: no flavor fits the Docker machine.', 'ModelArts.NoFlavor');
  const preferred = preferredFlavor(flavors, {
    setting: services.settings.defaultFlavor,
    ...(lastCompleted(services, state) ? { lastCompleted: lastCompleted(services, state) } : {}),
    ...(services.remembered.lastFlavor(state.backend.id) ? { lastChosen: services.remembered.lastFlavor(state.backend.id) } : {}),
  });
  const items = flavorItems(flavors, preferred);
  const current = state.flavor?.flavor_id ?? preferred?.flavor.flavor_id;
  const picked = await pickStep({ position, label: 'flavor', items, active: items.find((i) => i.flavor.flavor_id === current) ?? items[0], placeholder: 'CPU and memory of each node' });
  if (picked === BACK) return BACK;
  state.flavor = picked.flavor;
  state.nodeCount = Math.min(state.nodeCount, picked.flavor.max_num);
  return;
}

async function nodeCountStep(state: JobChoices, position: StepPosition) {
  const max = state.flavor?.max_num ?? 1;
  const value = await inputStep({
    position,
    label: 'node count',
    value: String(state.nodeCount),
    prompt: `Nodes (containers) to run the job on, 1 to ${max}; more than 1 makes a distributed job (VC_WORKER_HOSTS, MA_NUM_HOSTS).`,
    validate: (text) => (/^\d+$/.test(text.trim()) && Number(text) >= 1 && Number(text) <= max ? undefined : `Type a whole number of nodes from 1 to ${max}, such as 2.`),
  });
  if (value === BACK) return BACK;
  state.nodeCount = Number(value);
  return;
}

async function parametersStep(state: JobChoices, position: StepPosition, completed: CompletedRun | undefined) {
  const algorithmDefaults = state.algorithm?.job_config.parameters;
  const prefill = state.parameters ?? completed?.parameters ?? algorithmDefaults ?? [];
  const source =
    state.parameters !== undefined
      ? ''
      : completed
        ? ` Prefilled from ${completed.jobName}, the last job of this code that completed.`
        : algorithmDefaults?.length
          ? " Prefilled from the algorithm's defaults."
          : '';
  const value = await inputStep({
    position,
    label: 'hyperparameters',
    value: formatParameterList(prefill),
    prompt: `Passed to the boot file as --name=value flags; a name alone is a bare flag. Leave empty for none.${source}`,
    placeholder: 'epochs=30 lr=0.01',
    validate: hyperparameterTextProblem,
  });
  if (value === BACK) return BACK;
  state.parameters = parseParameterList(value);
  return;
}

async function inputsStep(state: JobChoices, position: StepPosition, services: Services) {
  const base = baseFolder(state);
  const required = state.algorithm?.job_config.inputs.map((c) => c.name) ?? [];
  let prompt = 'Data the job reads, as name=location: obs://bucket/folder/, s3://bucket/folder/, or a folder of this machine (./data is relative to the workspace folder). Mounted at inputs/<name>_0 and passed as --name=<folder>. Leave empty for none.';
  if (state.inputs === undefined) {
    const suggestion = await suggestedInputs({ required, base, codeDir: state.codeDir, completed: lastCompleted(services, state), seed: state.seedInputs });
    state.inputs = suggestion.text;
    if (suggestion.source) prompt += ` ${suggestion.source}`;
  }
  const value = await inputStep({
    position,
    label: 'inputs',
    value: state.inputs,
    prompt,
    placeholder: 'data_url=obs://datasets/digits/ or data_url=./data',
    validate: (text) => channelTextProblem(text, 'inputs', { required, base, folderExists: (folder) => isFolder(folder) }),
    actions: [
      { iconPath: new vscode.ThemeIcon('folder-opened'), tooltip: 'Browse… (a folder of this machine)', run: (text) => chooseFolder(text, base, required[0]) },
      { iconPath: new vscode.ThemeIcon('database'), tooltip: 'Choose a Dataset…', run: (text) => chooseDataset(services, text, required[0], state.backend.id) },
    ],
  });
  if (value === BACK) return BACK;
  state.inputs = value.trim();
  return;
}

function isFolder(folder: string): boolean {
  try {
    return fs.statSync(folder).isDirectory();
  } catch {
    return false;
  }
}

async function outputsStep(state: JobChoices, position: StepPosition) {
  state.outputs ??= state.algorithm ? state.algorithm.job_config.outputs.map((c) => c.name).join(' ') : 'train_url';
  const value = await inputStep({
    position,
    label: 'outputs',
    value: state.outputs,
    prompt: 'Folders the job writes, as name=location (delivered there when the job ends) or a bare name (kept with the job); passed as --name=<folder>.',
    placeholder: 'train_url or train_url=obs://outputs/digits/',
    validate: (text) => channelTextProblem(text, 'outputs'),
  });
  if (value === BACK) return BACK;
  state.outputs = value.trim();
  return;
}

async function nameStep(state: JobChoices, position: StepPosition, services: Services) {
  const base = state.algorithm?.metadata.name ?? path.basename(state.codeDir ?? 'job');
  const existing = (name: string) => services.jobs.list(state.backend.id).find((job) => job.metadata.name === name);
  const taken = (name: string) => existing(name) !== undefined;
  const value = await inputStep({
    position,
    label: 'name',
    value: state.name ?? uniqueName(defaultJobName(base, new Date()), taken),
    prompt: 'Name of the training job (1 to 64 letters, digits, "-" and "_").',
    validate: (text) => {
      const result = jobNameSchema.safeParse(text);
      if (!result.success) return `A job name has 1 to 64 letters, digits, "-" and "_", such as ${uniqueName(defaultJobName(base, new Date()), taken)}.`;
      const other = existing(text);
      // ModelArts tells jobs apart by id and allows a name twice; two rows alike are hard to tell apart.
      return other ? { warning: `A job named ${text} exists already (${other.status.phase}); ${uniqueName(text, taken)} is free. Press Enter to use ${text} anyway.` } : undefined;
    },
  });
  if (value === BACK) return BACK;
  state.name = value;
  return;
}

async function reviewStep(state: JobChoices, position: StepPosition) {
  const request = toRequest(state);
  const source = state.algorithm ? `algorithm ${state.algorithm.metadata.name}` : `${path.basename(request.algorithm.code_dir ?? '')}/${path.relative(request.algorithm.code_dir ?? '', request.algorithm.boot_file ?? '')}`;
  const flags = [formatParameterList(state.parameters ?? []), state.inputs, state.outputs].filter(Boolean).join(' ');
  const items: Array<vscode.QuickPickItem & { value: 'create' | 'json' | 'plan' }> = [
    {
      label: '$(play) Create',
      description: `${request.metadata.name}`,
      detail: `${source} · ${state.flavor?.flavor_name ?? ''} × ${state.nodeCount}${flags ? ` · ${flags}` : ''}`,
      value: 'create' as const,
    },
    { label: '$(json) Open as JSON…', description: 'Review or edit the whole spec, then create it from the editor title', value: 'json' as const },
    ...(await uploadPlanItems(state.backend, request)),
  ];
  for (;;) {
    const picked = await pickStep({ position, label: 'review', items, placeholder: 'Create the job, or open its spec as JSON first', matchOnDescription: false });
    if (picked === BACK) return BACK;
    // A row of the upload plan only informs: the step stays.
    if (picked.value === 'plan') continue;
    state.open = picked.value;
    return;
  }
}

/** What a backend that cannot read this machine would be sent first, one row each (or why it cannot be). */
async function uploadPlanItems(backend: TrainingBackend, request: JobCreateRequest): Promise<Array<vscode.QuickPickItem & { value: 'plan' }>> {
  if (!backend.uploads) return [];
  const separator = { label: `Sent to ${backend.displayName} first`, kind: vscode.QuickPickItemKind.Separator, value: 'plan' as const };
  try {
    const uploads = await backend.uploads.planUploads(request, { uploadLocalInputs: true });
    if (!uploads.length) return [];
    return [separator, ...uploads.map((u) => ({ label: `$(cloud-upload) ${u.what}: ${path.basename(u.from)}/`, description: `${u.files} file${u.files === 1 ? '' : 's'}, ${formatBytes(u.bytes)} (only what changed is sent)`, detail: `${u.from} → ${u.to}`, value: 'plan' as const }))];
  } catch (error) {
    return [separator, { label: `$(warning) ${errorMessage(error)}`, value: 'plan' as const }];
  }
}

function toRequest(state: JobChoices): JobCreateRequest {
  const base = baseFolder(state);
  const inputs = parseChannelText(state.inputs ?? '').map(({ name, location }) => ({ name, remote: { obs: { obs_url: resolveLocalLocation(location, base) } } }));
  const outputs = parseChannelText(state.outputs ?? '').map(({ name, location }) => (location ? { name, remote: { obs: { obs_url: location } } } : { name }));
  const source = state.algorithm
    ? { id: state.algorithm.metadata.id }
    : { code_dir: state.codeDir ?? '', boot_file: state.bootFile ?? '', engine: { engine_id: state.engine?.engine_id ?? '' } };
  return {
    kind: 'job',
    metadata: { name: state.name ?? '' },
    algorithm: {
      ...source,
      parameters: state.parameters ?? [],
      ...(inputs.length ? { inputs } : {}),
      ...(outputs.length ? { outputs } : {}),
    },
    spec: { resource: { flavor_id: state.flavor?.flavor_id ?? '', node_count: state.nodeCount } },
  };
}

