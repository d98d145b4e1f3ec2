/**
 * "Create Training Job". Interactive, it is a multi-step QuickPick with Back: algorithm or code
 * folder, boot file, engine, flavor, node count, hyperparameters, inputs, outputs, name, and a last
 * step that shows the spec and can open it as JSON. Started from a folder, a Python file, a dataset
 * or an algorithm (a JobDraft), those steps come filled in. With a spec object it asks nothing,
 * creates the job and returns its id.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Algorithm } from '../../core/algorithm';
import { parseStoreUrl } from '../../core/dataset';
import { ModelArtsError } from '../../core/errors';
import { defaultFlavor, type Flavor } from '../../core/flavors';
import { defaultJobName } from '../../core/format';
import { formatParameterList, jobNameSchema, parameterTextProblem, parseParameterList, type JobCreateRequest, type JobParameter, type TrainingJob } from '../../core/job';
import { describeEngine, type PresetEngine } from '../../core/presetEngines';
import { DRAFT_SCHEME } from '../../drafts/jobSpecDrafts';
import type { Services } from '../../services';
import { JobDraft, type JobDraftSeed } from './jobDraft';
import { codeFromUri, findPythonFiles, noPresetEngine, withWorkspaceCodeDir } from '../trainingCode';
import { BACK, SKIPPED, inputStep, pickStep, runSteps, type Step } from '../multiStep';
import type { CommandContext } from '../registry';

const TITLE = 'Create Training Job';

export async function createJob({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  requireTrust();
  if (!interactive) {
    const job = await services.engine.createJob(withWorkspaceCodeDir(args[0], 'algorithm'));
    services.log.info(`Created training job ${job.metadata.name} (${job.metadata.id})`);
    return job.metadata.id;
  }
  // A folder or file the menu passed decides the code; the active editor's file is only offered first.
  const seed = args[0] instanceof JobDraft ? args[0].seed : args[0] instanceof vscode.Uri ? await codeFromUri(args[0]) : {};
  const suggested = args[0] === undefined ? await codeFromUri(activePythonFile()) : {};
  const outcome = await askForJob(services, seed, suggested);
  if (outcome.open === 'json') {
    await services.drafts.open(outcome.request.metadata.name, outcome.request);
    return undefined;
  }
  return createAndReveal(services, outcome.request);
}

/**
 * "Create Training Job" in the title of a job spec opened as JSON: creates the job from the
 * document's text as it is now. Arguments: `{uri}` (programmatic), the draft's URI (the editor
 * title passes it), or none for the active editor's.
 */
export async function createJobFromDraft({ services }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  requireTrust();
  const [first] = args;
  const given = first && typeof first === 'object' && typeof (first as { uri?: unknown }).uri === 'string' ? vscode.Uri.parse((first as { uri: string }).uri) : undefined;
  const uri = first instanceof vscode.Uri ? first : (given ?? vscode.window.activeTextEditor?.document.uri);
  if (!uri) throw new ModelArtsError('Open a job spec (a .job.json document) to create a training job from it.', 'ModelArts.NoDraft');
  const document = await vscode.workspace.openTextDocument(uri);
  let spec: unknown;
  try {
    spec = JSON.parse(document.getText());
  } catch (error) {
    throw new ModelArtsError(`${path.basename(uri.path)} is not valid JSON: ${(error as Error).message}`, 'ModelArts.InvalidJson');
  }
  const id = await createAndReveal(services, withWorkspaceCodeDir(spec, 'algorithm'));
  if (uri.scheme === DRAFT_SCHEME) await services.drafts.discard(uri);
  return id;
}

/** Creates the job with progress in the jobs view, reveals it and follows its log. */
export async function createAndReveal(services: Services, request: unknown): Promise<string> {
  const name = (request as { metadata?: { name?: unknown } })?.metadata?.name;
  const job = await vscode.window.withProgress(
    { location: { viewId: 'modelarts.jobs' }, title: `Creating ${typeof name === 'string' ? name : 'training job'}` },
    (progress) => services.engine.createJob(request, { onProgress: (message) => progress.report({ message }) }),
  );
  services.log.info(`Created training job ${job.metadata.name} (${job.metadata.id})`);
  await revealJob(services, job);
  if (services.settings.showLogsOnCreate) services.jobLogs.show(job, job.status.tasks[0] ?? 'worker-0', true);
  return job.metadata.id;
}

export async function revealJob(services: Services, job: TrainingJob): Promise<void> {
  services.jobsTree.setFilter({});
  await services.jobsView.reveal(services.jobsTree.nodeFor(job), { select: true, focus: false }).then(undefined, () => undefined);
}

export function requireTrust(): void {
  if (!vscode.workspace.isTrusted) {
    throw new ModelArtsError(
      'Training jobs run code from this workspace, so they are disabled until you trust it (Manage Workspace Trust).',
      'ModelArts.Untrusted',
    );
  }
}

// ---- The steps ------------------------------------------------------------------------------

interface JobChoices {
  codeDir?: string;
  bootFile?: string;
  /** The boot file came with the code folder (a Python file was the starting point). */
  bootFileGiven?: boolean;
  algorithm?: Algorithm;
  engine?: PresetEngine;
  flavor?: Flavor;
  nodeCount: number;
  parameters: JobParameter[];
  inputs: string;
  outputs: string;
  name?: string;
  open?: 'create' | 'json';
}

interface Catalog {
  readonly algorithms: Algorithm[];
  readonly engines: PresetEngine[];
  readonly flavors: Flavor[];
}

async function askForJob(services: Services, seed: JobDraftSeed, suggested: JobDraftSeed): Promise<{ request: JobCreateRequest; open: 'create' | 'json' }> {
  const [algorithms, engines, flavors] = await Promise.all([services.engine.listAlgorithms(), services.engine.listPresetEngines(), services.engine.listFlavors()]);
  const catalog: Catalog = { algorithms, engines, flavors };
  const algorithm = seed.algorithmId ? algorithms.find((a) => a.metadata.id === seed.algorithmId) : undefined;
  const state: JobChoices = {
    ...(seed.codeDir ? { codeDir: seed.codeDir } : {}),
    ...(seed.bootFile ? { bootFile: seed.bootFile, bootFileGiven: true } : {}),
    ...(algorithm ? { algorithm } : {}),
    nodeCount: 1,
    parameters: algorithm ? algorithm.job_config.parameters : [],
    inputs: (seed.inputs ?? []).map((input) => `${input.name}=${input.url}`).join(' '),
    outputs: algorithm ? '' : 'train_url',
  };
  const fromSource = !seed.codeDir && !algorithm;
  const steps: Array<Step<JobChoices>> = [
    { applies: () => fromSource, run: (s, position) => sourceStep(s, position, catalog, suggested) },
    { applies: (s) => !s.algorithm && !s.bootFileGiven, run: (s, position) => bootFileStep(s, position) },
    { applies: (s) => !s.algorithm, run: (s, position) => engineStep(s, position, catalog.engines) },
    { run: (s, position) => flavorStep(s, position, catalog.flavors, services.settings.defaultFlavor) },
    { applies: (s) => (s.flavor?.max_num ?? 1) > 1, run: (s, position) => nodeCountStep(s, position) },
    { run: (s, position) => parametersStep(s, position, services) },
    { run: (s, position) => channelsStep(s, position, 'inputs') },
    { run: (s, position) => channelsStep(s, position, 'outputs') },
    { run: (s, position) => nameStep(s, position) },
    { run: (s, position) => reviewStep(s, position) },
  ];
  await runSteps(TITLE, state, steps);
  return { request: toRequest(state), open: state.open ?? 'create' };
}

type SourceItem = vscode.QuickPickItem & { folder?: string; bootFile?: string; browse?: boolean; algorithm?: Algorithm };

async function sourceStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1], catalog: Catalog, suggested: JobDraftSeed) {
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
  if (picked.algorithm) {
    Object.assign(state, { algorithm: picked.algorithm, codeDir: undefined, bootFile: undefined, bootFileGiven: false, parameters: picked.algorithm.job_config.parameters, outputs: '' });
    return;
  }
  const folder = picked.folder ?? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use as Code Folder' }))?.[0]?.fsPath;
  if (!folder) return BACK;
  Object.assign(state, { algorithm: undefined, codeDir: folder, bootFile: picked.bootFile, bootFileGiven: picked.bootFile !== undefined });
  return;
}

async function bootFileStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1]) {
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
  state.bootFile = picked.file;
  return;
}

async function engineStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1], engines: PresetEngine[]) {
  if (engines.length === 0) {
    throw noPresetEngine('algorithm.engine');
  }
  if (engines.length === 1) {
    state.engine = engines[0];
    return SKIPPED;
  }
  const items = engines.map((engine) => ({ label: describeEngine(engine), description: engine.image_info.cpu_image_url, engine }));
  const picked = await pickStep({ position, label: 'engine', items, active: items.find((i) => i.engine === state.engine), placeholder: 'The preset engine (image) to train with' });
  if (picked === BACK) return BACK;
  state.engine = picked.engine;
  return;
}

async function flavorStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1], flavors: Flavor[], preferred: string) {
  if (flavors.length === 0) throw new ModelArtsError('spec.resource.flavor_id: no flavor fits the Docker machine.', 'ModelArts.NoFlavor');
  const items = flavors.map((flavor) => ({
    label: flavor.flavor_name,
    description: flavor.flavor_id,
    detail: flavor.max_num > 1 ? `Up to ${flavor.max_num} nodes` : undefined,
    flavor,
  }));
  // Without a setting, the engine's own default: the largest flavor up to 2 vCPUs and 8 GiB.
  const current = state.flavor?.flavor_id ?? (preferred || defaultFlavor({ cpus: Number.POSITIVE_INFINITY, memoryBytes: Number.POSITIVE_INFINITY }, flavors)?.flavor_id);
  const picked = await pickStep({ position, label: 'flavor', items, active: items.find((i) => i.flavor.flavor_id === current) ?? items[0], placeholder: 'CPU and memory of each node' });
  if (picked === BACK) return BACK;
  state.flavor = picked.flavor;
  state.nodeCount = Math.min(state.nodeCount, picked.flavor.max_num);
  return;
}

async function nodeCountStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1]) {
  const max = state.flavor?.max_num ?? 1;
  const value = await inputStep({
    position,
    label: 'node count',
    value: String(state.nodeCount),
    prompt: `Nodes (containers) to run the job on, 1 to ${max}; more than 1 makes a distributed job (VC_WORKER_HOSTS, MA_NUM_HOSTS).`,
    validate: (text) => (/^\d+$/.test(text.trim()) && Number(text) >= 1 && Number(text) <= max ? undefined : `spec.resource.node_count must be a whole number from 1 to ${max}`),
  });
  if (value === BACK) return BACK;
  state.nodeCount = Number(value);
  return;
}

async function parametersStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1], services: Services) {
  const key = `modelarts.lastParameters:${state.algorithm?.metadata.id ?? state.bootFile}`;
  const previous = services.context.workspaceState.get<string>(key);
  const value = await inputStep({
    position,
    label: 'hyperparameters',
    value: previous ?? formatParameterList(state.parameters),
    prompt: 'Passed to the boot file as --name=value flags; a name alone is a bare flag. Leave empty for none.',
    placeholder: 'epochs=30 lr=0.01',
    validate: parameterTextProblem,
  });
  if (value === BACK) return BACK;
  state.parameters = parseParameterList(value);
  await services.context.workspaceState.update(key, formatParameterList(state.parameters));
  return;
}

/** `name=location` pairs; an output may be a bare name (kept with the job). */
export function channelTextProblem(text: string, kind: 'inputs' | 'outputs', required: readonly string[] = []): string | undefined {
  const seen = new Set<string>();
  const tokens = text.split(/\s+/).filter(Boolean);
  for (const [index, token] of tokens.entries()) {
    const eq = token.indexOf('=');
    const name = eq < 0 ? token : token.slice(0, eq);
    const location = eq < 0 ? '' : token.slice(eq + 1);
    const field = `algorithm.${kind}[${index}]`;
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(name)) return `${field}.name: "${name}" must be a letter or "_" followed by letters, digits, ".", "-" or "_"`;
    if (seen.has(name)) return `${field}.name: "${name}" is given twice`;
    seen.add(name);
    if (!location && kind === 'inputs') return `${field}: give ${name}=<obs://bucket/path/, s3://… or an absolute folder>`;
    if (location && !path.isAbsolute(location)) {
      try {
        parseStoreUrl(location, `${field}.remote.obs.obs_url`);
      } catch (error) {
        return (error as Error).message.replace(/^Storage location is invalid: /, '');
      }
    }
  }
  const missing = required.filter((name) => !seen.has(name));
  return missing.length ? `algorithm.inputs: the algorithm needs data for ${missing.map((n) => `${n}=…`).join(' ')}` : undefined;
}

async function channelsStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1], kind: 'inputs' | 'outputs') {
  const channels = state.algorithm?.job_config[kind].map((c) => c.name) ?? [];
  const prefill = state[kind] || channels.map((name) => (kind === 'inputs' ? `${name}=` : name)).join(' ');
  const value = await inputStep({
    position,
    label: kind,
    value: prefill,
    prompt:
      kind === 'inputs'
        ? 'Data the job reads, as name=location (obs://bucket/path/, s3://bucket/path/ or a local folder); mounted at inputs/<name>_0 and passed as --name=<folder>. Leave empty for none.'
        : 'Folders the job writes, as name=location (delivered there when the job ends) or a bare name (kept with the job); passed as --name=<folder>.',
    placeholder: kind === 'inputs' ? 'data_url=obs://datasets/digits/' : 'train_url=obs://outputs/digits/',
    validate: (text) => channelTextProblem(text, kind, kind === 'inputs' ? channels : []),
  });
  if (value === BACK) return BACK;
  state[kind] = value.trim();
  return;
}

async function nameStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1]) {
  const base = state.algorithm?.metadata.name ?? path.basename(state.codeDir ?? 'job');
  const value = await inputStep({
    position,
    label: 'name',
    value: state.name ?? defaultJobName(base, new Date()),
    prompt: 'Name of the training job',
    validate: (text) => {
      const result = jobNameSchema.safeParse(text);
      return result.success ? undefined : `metadata.name ${result.error.issues[0]?.message ?? 'is invalid'}`;
    },
  });
  if (value === BACK) return BACK;
  state.name = value;
  return;
}

async function reviewStep(state: JobChoices, position: Parameters<Step<JobChoices>['run']>[1]) {
  const request = toRequest(state);
  const source = state.algorithm ? `algorithm ${state.algorithm.metadata.name}` : `${path.basename(request.algorithm.code_dir ?? '')}/${path.relative(request.algorithm.code_dir ?? '', request.algorithm.boot_file ?? '')}`;
  const flags = [formatParameterList(state.parameters), state.inputs, state.outputs].filter(Boolean).join(' ');
  const items = [
    {
      label: '$(play) Create',
      description: `${request.metadata.name}`,
      detail: `${source} · ${state.flavor?.flavor_name ?? ''} × ${state.nodeCount}${flags ? ` · ${flags}` : ''}`,
      value: 'create' as const,
    },
    { label: '$(json) Open as JSON…', description: 'Review or edit the whole spec, then create it from the editor title', value: 'json' as const },
  ];
  const picked = await pickStep({ position, label: 'review', items, placeholder: 'Create the job, or open its spec as JSON first', matchOnDescription: false });
  if (picked === BACK) return BACK;
  state.open = picked.value;
  return;
}

function channelList(text: string): Array<{ name: string; location: string }> {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((token) => {
      const eq = token.indexOf('=');
      return eq < 0 ? { name: token, location: '' } : { name: token.slice(0, eq), location: token.slice(eq + 1) };
    });
}

function toRequest(state: JobChoices): JobCreateRequest {
  const inputs = channelList(state.inputs).map(({ name, location }) => ({ name, remote: { obs: { obs_url: location } } }));
  const outputs = channelList(state.outputs).map(({ name, location }) => (location ? { name, remote: { obs: { obs_url: location } } } : { name }));
  const source = state.algorithm
    ? { id: state.algorithm.metadata.id }
    : { code_dir: state.codeDir ?? '', boot_file: state.bootFile ?? '', engine: { engine_id: state.engine?.engine_id ?? '' } };
  return {
    kind: 'job',
    metadata: { name: state.name ?? '' },
    algorithm: {
      ...source,
      parameters: state.parameters,
      ...(inputs.length ? { inputs } : {}),
      ...(outputs.length ? { outputs } : {}),
    },
    spec: { resource: { flavor_id: state.flavor?.flavor_id ?? '', node_count: state.nodeCount } },
  };
}

// ---- Where the flow starts --------------------------------------------------------------------

function activePythonFile(): vscode.Uri | undefined {
  const document = vscode.window.activeTextEditor?.document;
  return document && document.languageId === 'python' && document.uri.scheme === 'file' ? document.uri : undefined;
}
