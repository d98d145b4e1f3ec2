/**
 * The ModelArts training container contract: where code, inputs, outputs and logs live inside the
 * container, which flags the boot file receives and which environment variables are set. Every
 * engine (and the dev container of the debugger) builds containers from these functions, so code
 * that runs under one runs unchanged under the others.
 */
import * as path from 'node:path';
import type { JobParameter, TrainingJob } from './job';

const posix = path.posix;

export const MA_USER = 'ma-user';
export const MA_USER_UID = 1000;
/** ModelArts images put ma-user in group 100. */
export const MA_USER_GID = 100;
export const MA_HOME = '/home/ma-user';
export const MA_MOUNT_PATH = `${MA_HOME}/modelarts`;
export const MA_JOB_DIR = `${MA_MOUNT_PATH}/user-job-dir`;
export const MA_LOG_DIR = `${MA_MOUNT_PATH}/log`;
export const MA_INPUTS_DIR = `${MA_MOUNT_PATH}/inputs`;
export const MA_OUTPUTS_DIR = `${MA_MOUNT_PATH}/outputs`;

/** The interpreter preset engines start the boot file with. */
export const PYTHON = 'python';

/** Tasks of a job, named as ModelArts names them. */
export function taskNames(nodeCount: number): string[] {
  return Array.from({ length: nodeCount }, (_, index) => `worker-${index}`);
}

/** Host name of a task, like ModelArts' pod names; also the container's name. */
export function taskHostName(jobId: string, task: string): string {
  return `modelarts-job-${jobId}-${task}`;
}

/** Last folder name of a host path or storage URL: ModelArts puts the code at ${MA_JOB_DIR}/<that>. */
export function codeFolderName(codeDir: string): string {
  const trimmed = codeDir.replace(/[\\/]+$/, '');
  const name = trimmed.split(/[\\/]/).pop() ?? '';
  return name || 'code';
}

export function containerCodeDir(codeDir: string): string {
  return posix.join(MA_JOB_DIR, codeFolderName(codeDir));
}

/** The boot file's path inside the container, given its host (or storage) path under codeDir. */
export function containerBootFile(codeDir: string, bootFile: string): string {
  return posix.join(containerCodeDir(codeDir), bootFileRelative(codeDir, bootFile));
}

/** The boot file relative to the code folder, with forward slashes. */
export function bootFileRelative(codeDir: string, bootFile: string): string {
  const base = codeDir.replace(/[\\/]+$/, '');
  const rest = bootFile.startsWith(base) ? bootFile.slice(base.length) : bootFile;
  return rest.replace(/\\/g, '/').replace(/^\/+/, '');
}

export function inputLocalDir(name: string): string {
  return posix.join(MA_INPUTS_DIR, `${name}_0`);
}

export function outputLocalDir(name: string): string {
  return posix.join(MA_OUTPUTS_DIR, `${name}_0`);
}

/** `--name=value`, or a bare `--name` when the value is empty (as ModelArts passes flags). */
export function parameterFlag(parameter: JobParameter): string {
  return parameter.value === undefined || parameter.value === ''
    ? `--${parameter.name}`
    : `--${parameter.name}=${parameter.value}`;
}

/** Flags the boot file receives: every input and output path, then every hyperparameter. */
export function bootArguments(algorithm: Pick<TrainingJob['algorithm'], 'inputs' | 'outputs' | 'parameters'>): string[] {
  return [
    ...algorithm.inputs.map((input) => `--${input.name}=${input.local_dir ?? inputLocalDir(input.name)}`),
    ...algorithm.outputs.map((output) => `--${output.name}=${output.local_dir ?? outputLocalDir(output.name)}`),
    ...algorithm.parameters.map(parameterFlag),
  ];
}

/** The full command line of a task: interpreter, boot file, flags. */
export function bootCommand(algorithm: TrainingJob['algorithm'], interpreter = PYTHON): string[] {
  return [interpreter, containerBootFile(algorithm.code_dir, algorithm.boot_file), ...bootArguments(algorithm)];
}

/** A task's command: a preset engine runs the boot file; a custom image runs its command with the same flags appended. */
export function taskCommand(algorithm: TrainingJob['algorithm']): string[] {
  if (algorithm.command !== undefined) {
    // `"$@"` appends the input, output and hyperparameter flags to the (last) command, as ModelArts does.
    return ['/bin/sh', '-c', `${algorithm.command} "$@"`, 'sh', ...bootArguments(algorithm)];
  }
  return bootCommand(algorithm);
}

export interface TaskPlacement {
  readonly jobId: string;
  readonly task: string;
  readonly index: number;
  readonly nodeCount: number;
  readonly gpus: number;
}

/**
 * The variables ModelArts presets in a training container (paths, distributed-training topology,
 * job metadata), then the job's own `environments`, which may override them as on ModelArts.
 */
export function containerEnvironment(job: Pick<TrainingJob, 'algorithm'>, placement: TaskPlacement): Record<string, string> {
  const hosts = taskNames(placement.nodeCount).map((task) => taskHostName(placement.jobId, task));
  const workspace = job.algorithm.code_dir ? containerCodeDir(job.algorithm.code_dir) : MA_JOB_DIR;
  return {
    MA_HOME,
    MA_JOB_DIR,
    MA_MOUNT_PATH,
    MA_LOG_DIR,
    MA_SCRIPT_INTERPRETER: '',
    WORKSPACE: workspace,
    PYTHONPATH: MA_JOB_DIR,
    PYTHONUNBUFFERED: '1',
    MA_NUM_GPUS: String(placement.gpus),
    MA_TASK_NAME: 'worker',
    MA_NUM_HOSTS: String(placement.nodeCount),
    MA_CURRENT_INSTANCE_NAME: taskHostName(placement.jobId, placement.task),
    VC_TASK_INDEX: String(placement.index),
    VC_WORKER_NUM: String(placement.nodeCount),
    VC_WORKER_HOSTS: hosts.join(','),
    ...job.algorithm.environments,
  };
}

/** Working directory of the boot process: the job's `working_dir`, else its code folder. */
export function containerWorkingDir(algorithm: Pick<TrainingJob['algorithm'], 'code_dir' | 'working_dir'>): string {
  return algorithm.working_dir || (algorithm.code_dir ? containerCodeDir(algorithm.code_dir) : MA_JOB_DIR);
}
