/**
 * The Docker container of one task, following the ModelArts container contract of
 * src/core/contract.ts: user 1000:100, code under the job dir, inputs and outputs at
 * `<name>_0`, the boot file started by python with every channel and parameter as a flag (a custom
 * image's command through /bin/sh -c), and the MA_ and VC_ variables of its place in the job.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import {
  MA_JOB_DIR,
  MA_USER_GID,
  MA_USER_UID,
  PYTHON,
  bootArguments,
  codeFolderName,
  containerEnvironment,
  taskCommand,
  taskHostName,
} from '../../../src/core/contract';
import type { TrainingJob } from '../../../src/core/job';
import type { JobRecord, RunPlan } from './jobModel';
import { obsUrl } from './obs';

const posix = path.posix;
const GIB = 1024 ** 3;

/** Labels of everything the contract server creates; it never touches containers without them. */
export const CONTRACT_LABELS = {
  server: 'org.modelarts-contract-server.server',
  job: 'org.modelarts-contract-server.job',
  task: 'org.modelarts-contract-server.task',
} as const;

/** The job's algorithm in the shape the contract helpers take. */
export function contractAlgorithm(plan: RunPlan): TrainingJob['algorithm'] {
  return {
    code_dir: plan.codeDirUrl,
    boot_file: plan.bootFileUrl,
    ...(plan.command !== undefined ? { command: plan.command } : {}),
    parameters: plan.parameters.map((p) => ({ ...p })),
    inputs: plan.inputs.map((c) => ({ name: c.name, local_dir: c.localDir, remote: { obs: { obs_url: obsUrl(c.location) } } })),
    outputs: plan.outputs.map((c) => ({ name: c.name, local_dir: c.localDir, remote: { obs: { obs_url: obsUrl(c.location) } } })),
    engine: { image_url: plan.image },
    ...(plan.workingDir !== undefined ? { working_dir: plan.workingDir } : {}),
    environments: { ...plan.environments },
  };
}

/** Where the code folder lands in the container: `<job dir or local_code_dir>/<last folder of code_dir>`. */
export function containerCodePath(plan: RunPlan): string | undefined {
  if (!plan.codeDir) return undefined;
  return posix.join(plan.localCodeDir ?? MA_JOB_DIR, codeFolderName(plan.codeDir.key));
}

function bootFilePath(plan: RunPlan, codePath: string): string {
  const bootKey = plan.bootFileUrl.replace(/^(?:obs:\/\/|\/)[^/]+\//, '');
  return posix.join(codePath, bootKey.slice(plan.codeDir?.key.length ?? 0));
}

export function taskCmd(plan: RunPlan): string[] {
  const algorithm = contractAlgorithm(plan);
  if (plan.command !== undefined) return taskCommand(algorithm);
  const codePath = containerCodePath(plan) ?? MA_JOB_DIR;
  return [PYTHON, bootFilePath(plan, codePath), ...bootArguments(algorithm)];
}

export interface TaskMounts {
  readonly codeHostDir: string | undefined;
  readonly inputHostDirs: Readonly<Record<string, string>>;
  readonly outputHostDirs: Readonly<Record<string, string>>;
}

export interface TaskContainerSpec {
  readonly job: JobRecord;
  readonly task: string;
  readonly index: number;
  readonly serverId: string;
  readonly mounts: TaskMounts;
  readonly network: string | undefined;
}

export function containerName(serverId: string, jobId: string, task: string): string {
  return `modelarts-contract-${serverId}-${jobId}-${task}`;
}

export function taskContainerOptions({ job, task, index, serverId, mounts, network }: TaskContainerSpec): Docker.ContainerCreateOptions {
  const plan = job.plan;
  const hostName = taskHostName(job.id, task);
  const env = containerEnvironment({ algorithm: contractAlgorithm(plan) }, { jobId: job.id, task, index, nodeCount: plan.nodeCount, gpus: 0 });
  const codePath = containerCodePath(plan);
  if (codePath) env.WORKSPACE = codePath;
  const binds = [
    ...(mounts.codeHostDir && codePath ? [`${mounts.codeHostDir}:${codePath}`] : []),
    ...plan.inputs.flatMap((c) => (mounts.inputHostDirs[c.name] ? [`${mounts.inputHostDirs[c.name]}:${c.localDir}:ro`] : [])),
    ...plan.outputs.flatMap((c) => (mounts.outputHostDirs[c.name] ? [`${mounts.outputHostDirs[c.name]}:${c.localDir}`] : [])),
  ];
  // Docker refuses a CPU limit above the machine's; a flavor bigger than this machine gets all of it.
  const cores = Math.min(plan.cpuCores, os.cpus().length);
  return {
    name: containerName(serverId, job.id, task),
    Hostname: hostName,
    Image: plan.image,
    User: `${MA_USER_UID}:${MA_USER_GID}`,
    Cmd: taskCmd(plan),
    Entrypoint: [],
    WorkingDir: plan.workingDir ?? codePath ?? MA_JOB_DIR,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Tty: false,
    OpenStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Labels: { [CONTRACT_LABELS.server]: serverId, [CONTRACT_LABELS.job]: job.id, [CONTRACT_LABELS.task]: task },
    HostConfig: {
      Binds: binds,
      NanoCpus: Math.round(cores * 1e9),
      Memory: plan.memoryGiB * GIB,
      Init: true,
      ...(network ? { NetworkMode: network } : {}),
    },
    ...(network ? { NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [hostName] } } } } : {}),
  };
}
