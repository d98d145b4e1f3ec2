/**
 * Turns a schema-valid create request into a job: checks the rules the reference states in words
 * (three algorithm forms, OBS paths, engine, flavor, node count, channels, environments) with
 * ModelArts' error codes, and resolves the engine image, the flavor and a saved algorithm.
 */
import * as path from 'node:path';
import { inputLocalDir, outputLocalDir } from '../../../src/core/contract';
import type { SavedAlgorithm } from './algorithmsApi';
import { algorithmNotFound, invalidParameter, modelArtsError } from './errors';
import type { Channel, RunPlan } from './jobModel';
import type { EngineRequest, InputRequest, JobAlgorithmRequest, JobCreateRequest, OutputRequest } from './jobSchemas';
import { type ObsLocation, type Obs, asFolder, obsUrl, parseObsUrl } from './obs';
import type { EngineOption, FlavorOption, ResolvedOptions } from './options';

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface PlannedJob {
  readonly algorithm: Record<string, unknown>;
  readonly spec: Record<string, unknown>;
  readonly algorithmName: string;
  readonly plan: RunPlan;
}

export interface PlannerContext {
  readonly options: ResolvedOptions;
  readonly obs: Obs;
  findAlgorithm(id: string): SavedAlgorithm | undefined;
}

const obsPathError = (field: string, value: string) =>
  modelArtsError(400, 'ModelArts.2791', `Invalid OBS path ${field}: "${value}"; use obs://bucket/path/ or /bucket/path/.`);

export function parseObsField(field: string, value: string): ObsLocation {
  const location = parseObsUrl(value);
  if (!location) throw obsPathError(field, value);
  return location;
}

/** A preset engine by id, or by name (any case) and version. */
export function findEngine(engines: readonly EngineOption[], ref: EngineRequest): EngineOption | undefined {
  if (ref.engine_id) return engines.find((e) => e.engine_id === ref.engine_id);
  if (ref.engine_name && ref.engine_version) {
    return engines.find((e) => e.engine_name.toLowerCase() === ref.engine_name?.toLowerCase() && e.engine_version === ref.engine_version);
  }
  return undefined;
}

/** `org/image:tag`, also with the region's SWR host in front. */
export function localImageOf(options: ResolvedOptions, imageUrl: string): string | undefined {
  const bare = imageUrl.replace(new RegExp(`^swr\\.${options.region.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.[^/]+/`), '');
  return options.customImages[bare];
}

interface Resolved {
  readonly codeDir: string | undefined;
  readonly bootFile: string | undefined;
  readonly command: string | undefined;
  readonly engine: EngineRequest | undefined;
  readonly parameters: ReadonlyArray<Record<string, unknown> & { name?: string; value?: string }>;
  readonly inputs: readonly InputRequest[];
  readonly outputs: readonly OutputRequest[];
  readonly saved: SavedAlgorithm | undefined;
}

function resolveAlgorithm(algorithm: JobAlgorithmRequest, context: PlannerContext): Resolved {
  if (algorithm.subscription_id !== undefined || algorithm.item_version_id !== undefined) {
    throw algorithmNotFound(algorithm.subscription_id ?? algorithm.item_version_id ?? '');
  }
  if (algorithm.id === undefined) {
    return {
      codeDir: algorithm.code_dir,
      bootFile: algorithm.boot_file,
      command: algorithm.command,
      engine: algorithm.engine,
      parameters: algorithm.parameters ?? [],
      inputs: algorithm.inputs ?? [],
      outputs: algorithm.outputs ?? [],
      saved: undefined,
    };
  }
  const saved = context.findAlgorithm(algorithm.id);
  if (!saved) throw algorithmNotFound(algorithm.id);
  const config = saved.jobConfig;
  const overrides = new Map((algorithm.parameters ?? []).map((p) => [p.name, p]));
  const parameters = (config.parameters ?? []).map((p) => ({ ...p, ...(overrides.has(p.name) ? { value: overrides.get(p.name)?.value } : {}) }));
  for (const extra of algorithm.parameters ?? []) if (!parameters.some((p) => p.name === extra.name)) parameters.push(extra);
  return {
    codeDir: config.code_dir,
    bootFile: config.boot_file,
    command: config.command || undefined,
    engine: config.engine,
    parameters,
    inputs: channelsOfSaved('inputs', (config.inputs ?? []).map((i) => i.name ?? ''), algorithm.inputs ?? []),
    outputs: channelsOfSaved('outputs', (config.outputs ?? []).map((o) => o.name), algorithm.outputs ?? []),
    saved,
  };
}

/** A job of a saved algorithm gives each of its channels a remote location, and no others. */
function channelsOfSaved<T extends { name: string }>(kind: string, names: readonly string[], given: readonly T[]): T[] {
  for (const [index, channel] of given.entries()) {
    if (!names.includes(channel.name)) {
      throw modelArtsError(400, 'ModelArts.2753', `algorithm.${kind}[${index}].name "${channel.name}" is not a channel of the algorithm (${names.join(', ') || 'none'}).`);
    }
  }
  const missing = names.filter((n) => !given.some((c) => c.name === n));
  if (missing.length) throw modelArtsError(400, 'ModelArts.2753', `algorithm.${kind}: the algorithm's channel(s) ${missing.join(', ')} need a remote location.`);
  return [...given];
}

interface ImageChoice {
  readonly image: string;
  readonly engineView: Record<string, unknown>;
  readonly custom: boolean;
}

function chooseImage(engine: EngineRequest | undefined, context: PlannerContext): ImageChoice {
  if (!engine) throw invalidParameter('algorithm.engine', 'is required: give engine_id, engine_name with engine_version, or image_url');
  if (engine.image_url !== undefined) {
    const image = localImageOf(context.options, engine.image_url);
    if (!image) throw modelArtsError(400, 'ModelArts.2810', `Image ${engine.image_url} does not exist in SWR of region ${context.options.region}.`);
    const { install_sys_packages: _, ...view } = engine;
    return { image, engineView: view, custom: true };
  }
  if (engine.engine_name !== undefined && engine.engine_version === undefined && engine.engine_id === undefined) {
    throw invalidParameter('algorithm.engine.engine_version', 'is required with engine_name');
  }
  const preset = findEngine(context.options.engines, engine);
  if (!preset) {
    throw modelArtsError(400, 'ModelArts.2780', `Engine ${engine.engine_id ?? `${engine.engine_name} ${engine.engine_version}`} not found.`);
  }
  return {
    image: preset.localImage,
    engineView: { engine_id: preset.engine_id, engine_name: preset.engine_name, engine_version: preset.engine_version },
    custom: false,
  };
}

function checkFlagNames(resolved: Resolved): void {
  const seen = new Set<string>();
  const lists: Array<[string, ReadonlyArray<{ name?: string }>]> = [
    ['inputs', resolved.inputs],
    ['outputs', resolved.outputs],
    ['parameters', resolved.parameters],
  ];
  for (const [kind, list] of lists) {
    list.forEach((item, index) => {
      if (!item.name) throw invalidParameter(`algorithm.${kind}[${index}].name`, 'is required');
      if (seen.has(item.name)) throw modelArtsError(400, 'ModelArts.2753', `algorithm.${kind}[${index}].name "${item.name}" is used twice.`);
      seen.add(item.name);
    });
  }
}

function checkEnvironments(environments: Readonly<Record<string, string>>): void {
  const keys = Object.keys(environments);
  if (keys.length > 100) throw invalidParameter('algorithm.environments', 'must hold at most 100 variables');
  for (const key of keys) {
    const value = environments[key] ?? '';
    if (!ENV_NAME.test(key) || key.length > 8192) throw invalidParameter(`algorithm.environments.${key}`, 'name must be letters, digits and _, not starting with a digit');
    if (value.length > 4096 || value.includes('$')) throw invalidParameter(`algorithm.environments.${key}`, 'value must be at most 4096 characters without "$"');
  }
}

async function checkCode(resolved: Resolved, custom: boolean, context: PlannerContext): Promise<ObsLocation | undefined> {
  const { codeDir, bootFile, command } = resolved;
  if (custom && command === undefined && bootFile === undefined) {
    throw modelArtsError(400, 'ModelArts.2806', 'A custom image needs algorithm.command (the command that starts training).');
  }
  if (!custom && (codeDir === undefined || bootFile === undefined)) {
    throw invalidParameter(codeDir === undefined ? 'algorithm.code_dir' : 'algorithm.boot_file', 'is required: code_dir and boot_file go together');
  }
  if (bootFile !== undefined && codeDir === undefined) throw invalidParameter('algorithm.code_dir', 'is required with boot_file');
  if (codeDir === undefined) return undefined;
  const code = parseObsUrl(codeDir);
  if (!code || code.key === '') throw modelArtsError(400, 'ModelArts.2757', `Invalid algorithm.code_dir "${codeDir}": it must be an OBS folder such as obs://bucket/code/.`);
  const folder = asFolder(code);
  if (bootFile !== undefined) {
    const boot = parseObsUrl(bootFile);
    if (!boot || boot.bucket !== folder.bucket || !boot.key.startsWith(folder.key) || boot.key === folder.key) {
      throw modelArtsError(400, 'ModelArts.2758', `Invalid algorithm.boot_file "${bootFile}": it must be a file inside code_dir ${codeDir}.`);
    }
    if (command === undefined && !boot.key.endsWith('.py')) {
      throw modelArtsError(400, 'ModelArts.2758', `Invalid algorithm.boot_file "${bootFile}": a preset engine starts a Python (.py) file.`);
    }
    if (!(await context.obs.objectExists(boot))) {
      throw modelArtsError(400, 'ModelArts.2758', `The boot file ${obsUrl(boot)} does not exist in OBS.`);
    }
  }
  return folder;
}

function inputChannel(input: InputRequest, index: number, context: PlannerContext): { channel: Channel; view: Record<string, unknown> } {
  const field = `algorithm.inputs[${index}].remote`;
  const { obs, dataset } = input.remote;
  if ((obs ? 1 : 0) + (dataset ? 1 : 0) !== 1) throw invalidParameter(field, 'must name exactly one of obs or dataset');
  const localDir = input.local_dir ?? inputLocalDir(input.name);
  let location: ObsLocation;
  let remote: Record<string, unknown>;
  if (dataset) {
    const known = context.options.datasets.find((d) => d.id === dataset.id && d.version_id === dataset.version_id);
    if (!known) throw modelArtsError(400, 'ModelArts.2753', `${field}.dataset: dataset ${dataset.id} version ${dataset.version_id} not found.`);
    location = parseObsField(`${field}.dataset`, known.obs_url);
    remote = { dataset: { id: dataset.id, version_id: dataset.version_id, obs_url: known.obs_url } };
  } else {
    location = parseObsField(`${field}.obs.obs_url`, obs?.obs_url ?? '');
    remote = { obs: { obs_url: obs?.obs_url } };
  }
  const view = { name: input.name, ...(input.description !== undefined ? { description: input.description } : {}), local_dir: localDir, remote };
  return { channel: { name: input.name, localDir, location }, view };
}

function outputChannel(output: OutputRequest, index: number): { channel: Channel; view: Record<string, unknown> } {
  const location = parseObsField(`algorithm.outputs[${index}].remote.obs.obs_url`, output.remote.obs.obs_url);
  const localDir = output.local_dir ?? outputLocalDir(output.name);
  const view = {
    name: output.name,
    ...(output.description !== undefined ? { description: output.description } : {}),
    local_dir: localDir,
    remote: { obs: { obs_url: output.remote.obs.obs_url } },
  };
  return { channel: { name: output.name, localDir, location: asFolder(location) }, view };
}

function chooseFlavor(request: JobCreateRequest, options: ResolvedOptions): { flavor: FlavorOption; nodeCount: number; poolId: string | undefined } {
  const resource = request.spec?.resource ?? {};
  if (resource.pool_id !== undefined && !options.pools.includes(resource.pool_id)) {
    throw invalidParameter('spec.resource.pool_id', `resource pool ${resource.pool_id} does not exist`);
  }
  if (resource.flavor_id === undefined) throw modelArtsError(400, 'ModelArts.2763', 'No flavor given: set spec.resource.flavor_id.');
  const flavor = options.flavors.find((f) => f.flavor_id === resource.flavor_id);
  if (!flavor) throw modelArtsError(400, 'ModelArts.2781', `Flavor ${resource.flavor_id} not found.`);
  const nodeCount = resource.node_count ?? 1;
  if (nodeCount < 1) throw invalidParameter('spec.resource.node_count', 'must be at least 1');
  if (nodeCount > flavor.flavor_info.max_num) {
    throw modelArtsError(400, 'ModelArts.2793', `node_count ${nodeCount} exceeds the maximum ${flavor.flavor_info.max_num} of flavor ${flavor.flavor_id}.`);
  }
  return { flavor, nodeCount, poolId: resource.pool_id };
}

function checkMetadata(request: JobCreateRequest): void {
  if (request.kind !== 'job') throw invalidParameter('kind', 'must be "job" (training job)');
  if (!NAME_PATTERN.test(request.metadata.name)) {
    throw invalidParameter('metadata.name', 'must be 1 to 64 letters, digits, hyphens (-) and underscores (_)');
  }
  if ((request.metadata.description ?? '').length > 256) throw invalidParameter('metadata.description', 'must be at most 256 characters');
  if (request.spec?.auto_stop && request.spec.auto_stop.time_unit !== 'HOURS') throw invalidParameter('spec.auto_stop.time_unit', 'must be HOURS');
}

export async function planJob(request: JobCreateRequest, context: PlannerContext): Promise<PlannedJob> {
  checkMetadata(request);
  const algorithm = request.algorithm;
  if (!algorithm) throw invalidParameter('algorithm', 'is required');
  const resolved = resolveAlgorithm(algorithm, context);
  const image = chooseImage(resolved.engine, context);
  checkFlagNames(resolved);
  const environments = algorithm.environments ?? {};
  checkEnvironments(environments);
  if (algorithm.local_code_dir !== undefined && !path.posix.normalize(algorithm.local_code_dir).startsWith('/home/')) {
    throw invalidParameter('algorithm.local_code_dir', 'must be a folder under /home');
  }
  const { flavor, nodeCount, poolId } = chooseFlavor(request, context.options);
  const logExportUrl = request.spec?.log_export_path?.obs_url;
  const logExport = logExportUrl ? asFolder(parseObsField('spec.log_export_path.obs_url', logExportUrl)) : undefined;
  const inputs = resolved.inputs.map((input, index) => inputChannel(input, index, context));
  const outputs = resolved.outputs.map((output, index) => outputChannel(output, index));
  const codeDir = await checkCode(resolved, image.custom, context);

  const parameters = resolved.parameters.map((p) => ({ name: p.name ?? '', ...(p.value !== undefined ? { value: p.value } : {}) }));
  const algorithmView: Record<string, unknown> = {
    ...(resolved.saved ? { id: resolved.saved.id, name: resolved.saved.name } : {}),
    ...(resolved.codeDir !== undefined ? { code_dir: resolved.codeDir } : {}),
    ...(resolved.bootFile !== undefined ? { boot_file: resolved.bootFile } : {}),
    ...(resolved.command !== undefined ? { command: resolved.command } : {}),
    parameters: resolved.parameters.map((p) => ({ ...p })),
    inputs: inputs.map((i) => i.view),
    outputs: outputs.map((o) => o.view),
    engine: image.engineView,
    ...(algorithm.local_code_dir !== undefined ? { local_code_dir: algorithm.local_code_dir } : {}),
    ...(algorithm.working_dir !== undefined ? { working_dir: algorithm.working_dir } : {}),
    ...(Object.keys(environments).length ? { environments: { ...environments } } : {}),
    ...(algorithm.policies !== undefined ? { policies: structuredClone(algorithm.policies) } : {}),
  };
  const spec: Record<string, unknown> = {
    resource: {
      policy: 'regular',
      flavor_id: flavor.flavor_id,
      flavor_name: flavor.flavor_name,
      node_count: nodeCount,
      ...(poolId !== undefined ? { pool_id: poolId } : {}),
      flavor_detail: { flavor_type: flavor.flavor_type, ...(flavor.billing ? { billing: { ...flavor.billing } } : {}), flavor_info: structuredClone(flavor.flavor_info) },
    },
    log_export_path: logExportUrl ? { obs_url: logExportUrl } : {},
    ...(request.spec?.volumes ? { volumes: structuredClone(request.spec.volumes) } : {}),
    ...(request.spec?.schedule_policy ? { schedule_policy: structuredClone(request.spec.schedule_policy) } : {}),
  };
  const plan: RunPlan = {
    image: image.image,
    codeDir,
    codeDirUrl: resolved.codeDir ?? '',
    bootFileUrl: resolved.bootFile ?? '',
    localCodeDir: algorithm.local_code_dir,
    command: resolved.command,
    parameters,
    inputs: inputs.map((i) => i.channel),
    outputs: outputs.map((o) => o.channel),
    environments,
    workingDir: algorithm.working_dir,
    nodeCount,
    cpuCores: flavor.flavor_info.cpu.core_num,
    memoryGiB: flavor.flavor_info.memory.size,
    logExport,
  };
  return { algorithm: algorithmView, spec, algorithmName: resolved.saved?.name ?? '', plan };
}

