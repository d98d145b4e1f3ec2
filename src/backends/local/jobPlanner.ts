/**
 * Turns a schema-valid job request into a local job plan, checking everything the schema cannot:
 * that the code folder and boot file exist on this machine, that the engine is installed, that the
 * flavor fits. Every problem is collected and reported at once, each naming its field, before
 * anything is created.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Algorithm, ValidAlgorithmCreateRequest } from '../../core/algorithm';
import { inputLocalDir } from '../../core/contract';
import { InvalidInputError } from '../../core/errors';
import type { Flavor } from '../../core/flavors';
import type { JobInput, TrainingJob, ValidJobCreateRequest } from '../../core/job';
import { matchPresetEngine, type PresetEngine } from '../../core/presetEngines';
import type { StoreLocation } from '../../storage/objectStore';
import {
  PlanIssues,
  creatingStatus,
  mergeAlgorithm,
  newJobMetadata,
  outputsWithLocalDirs,
  resolveFlavor,
  resolvePresetEngine,
  unknownEngine,
  type Problem,
} from '../shared/jobPlanning';

export interface Capacity {
  readonly cpus: number;
  readonly memoryGib: number;
}

export interface PlanContext {
  readonly id: string;
  readonly now: number;
  readonly engines: readonly PresetEngine[];
  /** Flavors that fit this machine. */
  readonly flavors: readonly Flavor[];
  readonly defaultFlavor: Flavor | undefined;
  /** What the engine may run at once; a job needing more can never start. */
  readonly capacity: Capacity;
  readonly getAlgorithm: (id: string) => Algorithm | undefined;
  /** Maps obs:// and s3:// URLs to a store; throws InvalidInputError naming the field. */
  readonly resolveStore: (url: string, field: string) => StoreLocation;
  /** Problems that keep an image from running training jobs (missing, no UID 1000, no Python). */
  readonly checkImage: (image: string) => Promise<string[]>;
}

/** Where an input's data comes from: a folder on this machine (bound read-only) or a store. */
export type InputSource = { readonly kind: 'folder'; readonly hostDir: string } | { readonly kind: 'store'; readonly location: StoreLocation };

export interface PlannedInput {
  readonly name: string;
  readonly localDir: string;
  readonly source: InputSource;
}

export interface LocalJobPlan {
  readonly job: TrainingJob;
  readonly flavor: Flavor;
  /** Host folder of the code, without a trailing separator; undefined for a custom image without code. */
  readonly codeDir: string | undefined;
  readonly inputs: readonly PlannedInput[];
}

const NO_ENGINE_HINT = 'no preset engine image is installed (build them with scripts/build-preset-images.sh)';

export async function planLocalJob(request: ValidJobCreateRequest, context: PlanContext): Promise<LocalJobPlan> {
  const found = new PlanIssues();
  const { problem } = found;
  const saved = request.algorithm.id === undefined ? undefined : context.getAlgorithm(request.algorithm.id);
  if (request.algorithm.id !== undefined && !saved) {
    problem('algorithm.id', `no algorithm with id "${request.algorithm.id}" exists (it may have been deleted)`);
  }
  const algorithm = saved ? mergeAlgorithm(request.algorithm, saved, problem) : request.algorithm;
  const origin = saved ? ` (from algorithm ${saved.metadata.name})` : '';

  if (algorithm.local_code_dir !== undefined) {
    problem('algorithm.local_code_dir', 'is not supported by the local engine; code is placed under ${MA_JOB_DIR}/<code folder>');
  }
  if (algorithm.working_dir !== undefined && !algorithm.working_dir.startsWith('/')) {
    problem('algorithm.working_dir', 'must be an absolute path inside the container');
  }

  // Engine: a preset engine installed in the local Docker engine, or any local image.
  let image: string | undefined;
  let engine: PresetEngine | undefined;
  const customImage = algorithm.engine?.image_url;
  if (customImage !== undefined) {
    const problems = await context.checkImage(customImage);
    for (const message of problems) problem('algorithm.engine.image_url', message + origin);
    if (!problems.length) image = customImage;
    if (algorithm.command === undefined && algorithm.boot_file === undefined) {
      problem('algorithm.command', 'is required with a custom image: the command that starts training');
    }
  } else if (algorithm.engine) {
    engine = resolvePresetEngine(algorithm.engine, context.engines, problem, origin, NO_ENGINE_HINT);
    if (engine) image = engine.image_info.cpu_image_url;
    if (algorithm.command !== undefined) {
      problem('algorithm.command', 'is only used with a custom image (engine.image_url); preset engines run the boot file');
    }
  }

  // Resources: a flavor of this machine, and room for it in the local capacity.
  if (request.spec?.resource?.pool_id !== undefined) {
    problem('spec.resource.pool_id', 'resource pools exist only on ModelArts; leave it out for the local engine');
  }
  if (request.spec?.log_export_path !== undefined) {
    problem('spec.log_export_path', 'exists only on ModelArts (logs are kept with the job on this machine); leave it out for the local backend');
  }
  const { flavor, nodeCount } = resolveFlavor(request, context.flavors, context.defaultFlavor, problem);
  if (flavor && nodeCount <= flavor.max_num) {
    const cpus = flavor.cpu_cores * nodeCount;
    const memory = flavor.memory_gib * nodeCount;
    if (cpus > context.capacity.cpus || memory > context.capacity.memoryGib) {
      problem(
        nodeCount > 1 ? 'spec.resource.node_count' : 'spec.resource.flavor_id',
        `${nodeCount} × ${flavor.flavor_id} needs ${cpus} vCPUs and ${memory} GiB, more than the local capacity of ` +
          `${context.capacity.cpus} vCPUs and ${context.capacity.memoryGib} GiB; choose a smaller flavor or fewer nodes`,
      );
    }
  }
  // Code: a folder on this machine, and a Python boot file inside it (optional for a custom image's command).
  const codeDir = algorithm.code_dir === undefined ? undefined : await checkCodeDir(algorithm.code_dir, problem, origin, 'algorithm.');
  const bootFile =
    codeDir === undefined || algorithm.boot_file === undefined ? undefined : await checkBootFile(codeDir, algorithm.boot_file, problem, origin, 'algorithm.');

  // Data: inputs staged before the start, outputs delivered after the end.
  const inputs = await planInputs(algorithm.inputs ?? [], context, problem);
  const outputs = outputsWithLocalDirs(algorithm.outputs ?? [], problem);
  outputs.forEach((output, index) => {
    if (!output.remote) return;
    try {
      context.resolveStore(output.remote.obs.obs_url, `algorithm.outputs[${index}].remote.obs.obs_url`);
    } catch (error) {
      reportInvalid(error, problem);
    }
  });

  const codeMissing = algorithm.code_dir !== undefined && codeDir === undefined;
  const bootMissing = algorithm.boot_file !== undefined && bootFile === undefined;
  found.throwIfAny(!image || !flavor || codeMissing || bootMissing);
  if (!image || !flavor) throw new Error('unreachable: a plan without image or flavor passed its checks');

  const job: TrainingJob = {
    kind: 'job',
    metadata: newJobMetadata(request, context.id, context.now, safeUserName()),
    algorithm: {
      ...(saved ? { id: saved.metadata.id, name: saved.metadata.name } : {}),
      code_dir: codeDir === undefined ? '' : codeDir + path.sep,
      boot_file: bootFile ?? '',
      ...(algorithm.command !== undefined ? { command: algorithm.command } : {}),
      parameters: algorithm.parameters ?? [],
      inputs: inputs.map((input, index) => ({ ...(algorithm.inputs?.[index] as JobInput), local_dir: input.localDir })),
      outputs,
      engine: engine
        ? { engine_id: engine.engine_id, engine_name: engine.engine_name, engine_version: engine.engine_version, image_url: image }
        : { image_url: image },
      ...(algorithm.working_dir ? { working_dir: algorithm.working_dir } : {}),
      environments: { ...(algorithm.environments ?? {}) },
    },
    spec: { resource: { flavor_id: flavor.flavor_id, flavor_name: flavor.flavor_name, node_count: nodeCount } },
    status: creatingStatus(nodeCount),
  };
  return { job, flavor, codeDir, inputs };
}

type AlgorithmConfig = ValidAlgorithmCreateRequest['job_config'];

/**
 * Checks a saved algorithm's job_config against this machine: the code folder and boot file exist,
 * the engine is installed or the image can run training. Returns the config with absolute paths.
 */
export async function checkAlgorithmConfig(
  config: AlgorithmConfig,
  context: { readonly engines: readonly PresetEngine[]; readonly checkImage: (image: string) => Promise<string[]>; readonly problem: Problem },
): Promise<AlgorithmConfig | undefined> {
  const { problem } = context;
  const before = { count: 0 };
  const counting: Problem = (field, message) => {
    before.count++;
    problem(field, message);
  };
  if (config.engine.image_url !== undefined) {
    for (const message of await context.checkImage(config.engine.image_url)) counting('engine.image_url', message);
  } else if (!matchPresetEngine(context.engines, config.engine)) {
    counting('engine', unknownEngine(config.engine, context.engines, '', NO_ENGINE_HINT));
  }
  const codeDir = config.code_dir === undefined ? undefined : await checkCodeDir(config.code_dir, counting, '', '');
  const bootFile = codeDir === undefined || config.boot_file === undefined ? undefined : await checkBootFile(codeDir, config.boot_file, counting, '', '');
  if (before.count) return undefined;
  return {
    ...config,
    ...(codeDir !== undefined ? { code_dir: codeDir + path.sep } : {}),
    ...(bootFile !== undefined ? { boot_file: bootFile } : {}),
  };
}

async function planInputs(inputs: readonly JobInput[], context: PlanContext, problem: Problem): Promise<PlannedInput[]> {
  const planned: PlannedInput[] = [];
  for (const [index, input] of inputs.entries()) {
    const field = `algorithm.inputs[${index}]`;
    const localDir = input.local_dir ?? inputLocalDir(input.name);
    if (input.local_dir !== undefined && !input.local_dir.startsWith('/')) problem(`${field}.local_dir`, 'must be an absolute path inside the container');
    if (input.remote.dataset) {
      problem(`${field}.remote.dataset`, 'datasets by id exist only on ModelArts; give the data location as remote.obs.obs_url');
      continue;
    }
    const url = input.remote.obs?.obs_url ?? '';
    if (url.startsWith('file://') || url.startsWith('/')) {
      const hostDir = hostPath(url, `${field}.remote.obs.obs_url`, problem);
      if (hostDir === undefined) continue;
      const stat = await fs.promises.stat(hostDir).catch(() => undefined);
      if (!stat?.isDirectory()) problem(`${field}.remote.obs.obs_url`, `no folder exists at ${hostDir}`);
      else planned.push({ name: input.name, localDir, source: { kind: 'folder', hostDir: path.resolve(hostDir) } });
      continue;
    }
    try {
      planned.push({ name: input.name, localDir, source: { kind: 'store', location: context.resolveStore(url, `${field}.remote.obs.obs_url`) } });
    } catch (error) {
      reportInvalid(error, problem);
    }
  }
  return planned;
}

function reportInvalid(error: unknown, problem: Problem): void {
  if (!(error instanceof InvalidInputError)) throw error;
  for (const issue of error.issues) problem(issue.field, issue.message);
}

/** `prefix` places the field: `algorithm.` in a job spec, nothing in an algorithm's job_config. */
async function checkCodeDir(value: string, problem: Problem, origin: string, prefix: string): Promise<string | undefined> {
  const field = `${prefix}code_dir`;
  if (/^(obs|s3):\/\//.test(value)) {
    problem(field, 'the local engine runs code from a folder on this machine; object-storage code folders are not supported yet');
    return undefined;
  }
  let folder = hostPath(value, field, problem);
  if (folder === undefined) return undefined;
  if (!path.isAbsolute(folder)) {
    problem(field, `must be an absolute folder path (got "${value}")`);
    return undefined;
  }
  folder = path.resolve(folder);
  const stat = await fs.promises.stat(folder).catch(() => undefined);
  if (!stat) {
    problem(field, `no folder exists at ${folder}${origin}`);
    return undefined;
  }
  if (!stat.isDirectory()) {
    problem(field, `${folder} is a file; give the folder that holds the code`);
    return undefined;
  }
  return folder;
}

async function checkBootFile(codeDir: string, value: string, problem: Problem, origin: string, prefix: string): Promise<string | undefined> {
  const field = `${prefix}boot_file`;
  const given = hostPath(value, field, problem);
  if (given === undefined) return undefined;
  const file = path.resolve(codeDir, given);
  const relative = path.relative(codeDir, file);
  if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) {
    problem(field, `must be inside the code folder ${codeDir} (got "${value}")`);
    return undefined;
  }
  const stat = await fs.promises.stat(file).catch(() => undefined);
  if (!stat?.isFile()) {
    problem(field, `no file ${relative.split(path.sep).join('/')} exists in ${codeDir}${origin}`);
    return undefined;
  }
  return file;
}

/** A path on this machine, given as a path or a file:// URL. */
function hostPath(value: string, field: string, problem: Problem): string | undefined {
  try {
    return value.startsWith('file://') ? fileURLToPath(value) : value;
  } catch {
    problem(field, `is not a valid file:// URL ("${value}")`);
    return undefined;
  }
}

function safeUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '';
  }
}
