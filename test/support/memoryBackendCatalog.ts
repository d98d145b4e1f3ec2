/**
 * What the in-memory backend offers and accepts: its preset engines and flavors, and the checks a
 * job or algorithm request passes before anything is created (the shared planning rules, with
 * code folders taken as given: nothing is read from disk). Every problem names its field.
 */
import type { Algorithm, ValidAlgorithmCreateRequest } from '../../src/core/algorithm';
import { inputLocalDir } from '../../src/core/contract';
import { InvalidInputError, type FieldIssue } from '../../src/core/errors';
import type { Flavor } from '../../src/core/flavors';
import type { TrainingJob, ValidJobCreateRequest } from '../../src/core/job';
import { matchPresetEngine, type PresetEngine } from '../../src/core/presetEngines';
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
} from '../../src/backends/shared/jobPlanning';

function engine(id: string, name: string, version: string, image: string): PresetEngine {
  return { engine_id: id, engine_name: name, engine_version: version, v1_compatible: false, run_user: '1000', image_info: { cpu_image_url: image, image_version: '1' } };
}

/** Named as the local backend names its preset engine, so requests move between the two. */
export const MEMORY_ENGINES: readonly PresetEngine[] = [
  engine('pytorch-1.13-cpu', 'PyTorch', '1.13-cpu', 'modelarts-training/pytorch:1.13-cpu'),
  engine('mindspore-2.2-cpu', 'MindSpore', '2.2-cpu', 'modelarts-training/mindspore:2.2-cpu'),
];

export const DEFAULT_MEMORY_FLAVOR = 'modelarts.memory.cpu.2u8g';

export const MEMORY_FLAVORS: readonly Flavor[] = [
  { flavor_id: 'modelarts.memory.cpu.1u2g', flavor_name: 'CPU: 1 vCPU | 2 GiB', flavor_type: 'CPU', cpu_cores: 1, memory_gib: 2, gpu_count: 0, max_num: 1 },
  {
    flavor_id: DEFAULT_MEMORY_FLAVOR,
    flavor_name: 'CPU: 2 vCPUs | 8 GiB',
    flavor_type: 'CPU',
    cpu_cores: 2,
    memory_gib: 8,
    gpu_count: 0,
    max_num: 4,
    default_reason: 'default: the in-memory backend runs every job on it unless told otherwise',
  },
  { flavor_id: 'modelarts.memory.gpu.1g.8u32g', flavor_name: 'GPU: 1 GPU | CPU: 8 vCPUs | 32 GiB', flavor_type: 'GPU', cpu_cores: 8, memory_gib: 32, gpu_count: 1, max_num: 2 },
];

const NO_ENGINE_HINT = 'the in-memory backend offers no such engine';

/** A code folder as jobs keep it: ending in "/". */
function folder(codeDir: string): string {
  return codeDir.endsWith('/') ? codeDir : `${codeDir}/`;
}

/** The boot file's full path inside the code folder: a relative path is joined to it. */
function bootPath(codeDir: string, bootFile: string, problem: Problem, field: string): string {
  if (bootFile.startsWith(codeDir)) return bootFile;
  if (bootFile.startsWith('/') || bootFile.includes('://')) {
    problem(field, `must be inside the code folder ${codeDir} (got "${bootFile}")`);
    return bootFile;
  }
  return codeDir + bootFile.replace(/^(\.\/)+/, '');
}

export interface MemoryPlanContext {
  readonly id: string;
  readonly now: number;
  readonly getAlgorithm: (id: string) => Algorithm | undefined;
}

/** A schema-valid request as a job, or InvalidInputError naming every problem; nothing is created here. */
export function planMemoryJob(request: ValidJobCreateRequest, context: MemoryPlanContext): TrainingJob {
  const found = new PlanIssues();
  const { problem } = found;
  const saved = request.algorithm.id === undefined ? undefined : context.getAlgorithm(request.algorithm.id);
  if (request.algorithm.id !== undefined && !saved) problem('algorithm.id', `no algorithm with id "${request.algorithm.id}" exists (it may have been deleted)`);
  const algorithm = saved ? mergeAlgorithm(request.algorithm, saved, problem) : request.algorithm;
  const origin = saved ? ` (from algorithm ${saved.metadata.name})` : '';

  let preset: PresetEngine | undefined;
  let image: string | undefined;
  if (algorithm.engine?.image_url !== undefined) {
    image = algorithm.engine.image_url;
    if (algorithm.command === undefined && algorithm.boot_file === undefined) problem('algorithm.command', 'is required with a custom image: the command that starts training');
  } else if (algorithm.engine) {
    preset = resolvePresetEngine(algorithm.engine, MEMORY_ENGINES, problem, origin, NO_ENGINE_HINT);
    image = preset?.image_info.cpu_image_url;
    if (algorithm.command !== undefined) problem('algorithm.command', 'is only used with a custom image (engine.image_url); preset engines run the boot file');
  }
  const defaultFlavor = MEMORY_FLAVORS.find((f) => f.default_reason !== undefined);
  const { flavor, nodeCount } = resolveFlavor(request, MEMORY_FLAVORS, defaultFlavor, problem);
  if (algorithm.working_dir !== undefined && !algorithm.working_dir.startsWith('/')) problem('algorithm.working_dir', 'must be an absolute path inside the container');
  const codeDir = algorithm.code_dir === undefined ? '' : folder(algorithm.code_dir);
  const bootFile = algorithm.boot_file === undefined ? '' : bootPath(codeDir, algorithm.boot_file, problem, 'algorithm.boot_file');
  const inputs = (algorithm.inputs ?? []).map((input, index) => {
    if (input.local_dir !== undefined && !input.local_dir.startsWith('/')) problem(`algorithm.inputs[${index}].local_dir`, 'must be an absolute path inside the container');
    return { ...input, local_dir: input.local_dir ?? inputLocalDir(input.name) };
  });
  const outputs = outputsWithLocalDirs(algorithm.outputs ?? [], problem);
  found.throwIfAny(!image || !flavor);
  if (!image || !flavor) throw new Error('unreachable: a plan without image or flavor passed its checks');

  return {
    kind: 'job',
    metadata: newJobMetadata(request, context.id, context.now, 'memory'),
    algorithm: {
      ...(saved ? { id: saved.metadata.id, name: saved.metadata.name } : {}),
      code_dir: codeDir,
      boot_file: bootFile,
      ...(algorithm.command !== undefined ? { command: algorithm.command } : {}),
      parameters: algorithm.parameters ?? [],
      inputs,
      outputs,
      engine: preset ? { engine_id: preset.engine_id, engine_name: preset.engine_name, engine_version: preset.engine_version, image_url: image } : { image_url: image },
      ...(algorithm.working_dir ? { working_dir: algorithm.working_dir } : {}),
      environments: { ...(algorithm.environments ?? {}) },
    },
    spec: { resource: { flavor_id: flavor.flavor_id, flavor_name: flavor.flavor_name, node_count: nodeCount } },
    status: creatingStatus(nodeCount),
  };
}

/** A valid algorithm request as an algorithm: a unique name and a known engine, or InvalidInputError naming each field. */
export function checkedAlgorithm(
  request: ValidAlgorithmCreateRequest,
  identity: { readonly id: string; readonly create_time: number; readonly update_time?: number },
  nameTaken: (name: string) => boolean,
): Algorithm {
  const issues: FieldIssue[] = [];
  const problem: Problem = (field, message) => issues.push({ field, message });
  if (nameTaken(request.metadata.name)) problem('metadata.name', `an algorithm named ${request.metadata.name} already exists`);
  const config = request.job_config;
  if (config.engine.image_url === undefined && !matchPresetEngine(MEMORY_ENGINES, config.engine)) {
    problem('job_config.engine', unknownEngine(config.engine, MEMORY_ENGINES, '', NO_ENGINE_HINT));
  }
  const codeDir = config.code_dir === undefined ? '' : folder(config.code_dir);
  const bootFile = config.boot_file === undefined ? '' : bootPath(codeDir, config.boot_file, problem, 'job_config.boot_file');
  if (issues.length) throw new InvalidInputError('Algorithm', issues);
  return {
    metadata: { ...identity, name: request.metadata.name, description: request.metadata.description ?? '' },
    job_config: {
      ...config,
      code_dir: codeDir,
      boot_file: bootFile,
      parameters: config.parameters ?? [],
      parameters_customization: config.parameters_customization ?? true,
      inputs: config.inputs ?? [],
      outputs: config.outputs ?? [],
      environments: config.environments ?? {},
    },
  };
}
