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
import { outputLocalDir, taskNames } from '../../core/contract';
import { InvalidInputError, type FieldIssue } from '../../core/errors';
import { findFlavor, type Flavor } from '../../core/flavors';
import type { TrainingJob, ValidJobCreateRequest } from '../../core/job';
import { describeEngine, matchPresetEngine, type PresetEngine } from '../../core/presetEngines';

export interface PlanContext {
  readonly id: string;
  readonly now: number;
  readonly engines: readonly PresetEngine[];
  /** Flavors that fit this machine. */
  readonly flavors: readonly Flavor[];
  readonly defaultFlavor: Flavor | undefined;
}

export interface LocalJobPlan {
  readonly job: TrainingJob;
  readonly image: string;
  readonly flavor: Flavor;
  /** Host folder of the code, without a trailing separator. */
  readonly codeDir: string;
}

export const DEFAULT_OUTPUT = 'train_url';

export async function planLocalJob(request: ValidJobCreateRequest, context: PlanContext): Promise<LocalJobPlan> {
  const issues: FieldIssue[] = [];
  const problem = (field: string, message: string) => issues.push({ field, message });
  const { algorithm, metadata } = request;

  if (algorithm.id !== undefined) {
    problem('algorithm.id', 'jobs from saved algorithms are not supported by the local engine yet; give code_dir and boot_file');
  }
  if (algorithm.local_code_dir !== undefined) {
    problem('algorithm.local_code_dir', `is not supported by the local engine; code is placed under ${'${MA_JOB_DIR}'}/<code folder>`);
  }
  if (algorithm.inputs?.length) {
    problem('algorithm.inputs', 'the local engine cannot stage inputs from object storage yet; read data from the code folder or a path parameter');
  }
  algorithm.outputs?.forEach((output, index) => {
    if (output.remote) {
      problem(`algorithm.outputs[${index}].remote`, 'the local engine keeps outputs with the job and cannot upload them yet; leave remote out');
    }
  });
  if (algorithm.working_dir !== undefined && !algorithm.working_dir.startsWith('/')) {
    problem('algorithm.working_dir', 'must be an absolute path inside the container');
  }

  // Engine: a preset engine installed in the local Docker engine.
  let engine: PresetEngine | undefined;
  if (algorithm.engine?.image_url !== undefined) {
    problem('algorithm.engine.image_url', 'custom images are not supported by the local engine yet; use a preset engine');
  } else if (algorithm.engine) {
    engine = matchPresetEngine(context.engines, algorithm.engine);
    if (!engine) {
      const wanted = algorithm.engine.engine_id ?? `${algorithm.engine.engine_name} ${algorithm.engine.engine_version}`;
      const field = algorithm.engine.engine_id ? 'algorithm.engine.engine_id' : 'algorithm.engine';
      problem(
        field,
        context.engines.length
          ? `unknown engine "${wanted}"; installed: ${context.engines.map((e) => `${describeEngine(e)} (${e.engine_id})`).join(', ')}`
          : `unknown engine "${wanted}"; no preset engine image is installed (build them with scripts/build-preset-images.sh)`,
      );
    }
  }
  if (algorithm.command !== undefined && algorithm.engine?.image_url === undefined) {
    problem('algorithm.command', 'is only used with a custom image (engine.image_url); preset engines run the boot file');
  }

  // Resources.
  const nodeCount = request.spec?.resource?.node_count ?? 1;
  if (nodeCount !== 1) {
    problem('spec.resource.node_count', 'the local engine runs one node per job for now (distributed training is not supported yet)');
  }
  if (request.spec?.resource?.pool_id !== undefined) {
    problem('spec.resource.pool_id', 'resource pools exist only on ModelArts; leave it out for the local engine');
  }
  const flavorId = request.spec?.resource?.flavor_id;
  const flavor = flavorId ? findFlavor(flavorId, context.flavors) : context.defaultFlavor;
  if (!flavor) {
    problem(
      'spec.resource.flavor_id',
      flavorId
        ? `unknown flavor "${flavorId}"; this machine offers ${context.flavors.map((f) => f.flavor_id).join(', ') || 'none'}`
        : 'no local flavor fits this machine',
    );
  }

  // Code: a folder on this machine, and a Python boot file inside it.
  const codeDir = algorithm.code_dir === undefined ? undefined : await checkCodeDir(algorithm.code_dir, problem);
  const bootFile =
    codeDir === undefined || algorithm.boot_file === undefined ? undefined : await checkBootFile(codeDir, algorithm.boot_file, problem);

  if (issues.length || !engine || !flavor || codeDir === undefined || bootFile === undefined) {
    throw new InvalidInputError('Training job spec', issues.length ? issues : [{ field: 'algorithm', message: 'is incomplete' }]);
  }

  const outputs = (algorithm.outputs?.length ? algorithm.outputs : [{ name: DEFAULT_OUTPUT }]).map((output) => ({
    ...output,
    local_dir: output.local_dir ?? outputLocalDir(output.name),
  }));
  const job: TrainingJob = {
    kind: 'job',
    metadata: {
      id: context.id,
      name: metadata.name,
      description: metadata.description ?? '',
      create_time: context.now,
      workspace_id: metadata.workspace_id ?? '0',
      user_name: safeUserName(),
      annotations: { ...(metadata.annotations ?? {}) },
    },
    algorithm: {
      code_dir: codeDir + path.sep,
      boot_file: bootFile,
      parameters: algorithm.parameters ?? [],
      inputs: [],
      outputs,
      engine: {
        engine_id: engine.engine_id,
        engine_name: engine.engine_name,
        engine_version: engine.engine_version,
        image_url: engine.image_info.cpu_image_url,
      },
      ...(algorithm.working_dir ? { working_dir: algorithm.working_dir } : {}),
      environments: { ...(algorithm.environments ?? {}) },
    },
    spec: { resource: { flavor_id: flavor.flavor_id, flavor_name: flavor.flavor_name, node_count: nodeCount } },
    status: {
      phase: 'Creating',
      secondary_phase: 'Creating',
      duration: 0,
      start_time: 0,
      tasks: taskNames(nodeCount),
      task_statuses: [],
      running_records: [],
    },
  };
  return { job, image: engine.image_info.cpu_image_url, flavor, codeDir };
}

async function checkCodeDir(value: string, problem: (field: string, message: string) => void): Promise<string | undefined> {
  const field = 'algorithm.code_dir';
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
    problem(field, `no folder exists at ${folder}`);
    return undefined;
  }
  if (!stat.isDirectory()) {
    problem(field, `${folder} is a file; give the folder that holds the code`);
    return undefined;
  }
  return folder;
}

async function checkBootFile(codeDir: string, value: string, problem: (field: string, message: string) => void): Promise<string | undefined> {
  const field = 'algorithm.boot_file';
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
    problem(field, `no file ${relative.split(path.sep).join('/')} exists in ${codeDir}`);
    return undefined;
  }
  return file;
}

/** A path on this machine, given as a path or a file:// URL. */
function hostPath(value: string, field: string, problem: (field: string, message: string) => void): string | undefined {
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
