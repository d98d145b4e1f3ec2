/**
 * The Docker container of one task of a job: image, user, command, environment, mounts, limits
 * and labels, all following the ModelArts container contract (core/contract.ts).
 */
import type Docker from 'dockerode';
import {
  MA_USER_GID,
  MA_USER_UID,
  containerEnvironment,
  containerWorkingDir,
  taskCommand,
  taskHostName,
} from '../../core/contract';
import type { Flavor } from '../../core/flavors';
import type { TrainingJob } from '../../core/job';
import { LABELS, MANAGED_BY } from './docker';
import type { LocalState } from './jobStore';

const GIB = 1024 ** 3;

export interface TaskContainer {
  readonly job: TrainingJob;
  readonly local: LocalState;
  readonly flavor: Flavor;
  readonly task: string;
  readonly index: number;
  readonly storeId: string;
}

export function taskContainerSpec({ job, local, flavor, task, index, storeId }: TaskContainer): Docker.ContainerCreateOptions {
  const id = job.metadata.id;
  const hostName = taskHostName(id, task);
  const env = containerEnvironment(job, { jobId: id, task, index, nodeCount: job.spec.resource.node_count, gpus: flavor.gpu_count });
  const memory = flavor.memory_gib * GIB;
  const binds = [
    ...job.algorithm.inputs.flatMap((input) => {
      const hostDir = local.inputDirs[input.name];
      return hostDir && input.local_dir ? [`${hostDir}:${input.local_dir}:ro`] : [];
    }),
    ...job.algorithm.outputs.flatMap((output) => {
      const hostDir = local.outputDirs[output.name];
      return hostDir && output.local_dir ? [`${hostDir}:${output.local_dir}`] : [];
    }),
  ];
  return {
    name: hostName,
    Hostname: hostName,
    Image: job.algorithm.engine.image_url,
    User: `${MA_USER_UID}:${MA_USER_GID}`,
    Cmd: taskCommand(job.algorithm),
    // A custom image's own entrypoint would swallow the command; ModelArts runs the command itself.
    Entrypoint: [],
    WorkingDir: containerWorkingDir(job.algorithm),
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Tty: false,
    OpenStdin: false,
    Labels: {
      [LABELS.managedBy]: MANAGED_BY,
      [LABELS.jobId]: id,
      [LABELS.task]: task,
      [LABELS.store]: storeId,
    },
    HostConfig: {
      Binds: binds,
      NanoCpus: flavor.cpu_cores * 1e9,
      Memory: memory,
      // PyTorch data loaders share tensors through /dev/shm; Docker's 64 MB default is too small.
      ShmSize: Math.min(memory / 2, 8 * GIB),
      // An init process forwards SIGTERM to the training process and reaps its children.
      Init: true,
      // json-file keeps the whole log, which lets a capture resume exactly after a restart.
      LogConfig: { Type: 'json-file', Config: {} },
      ...(local.network ? { NetworkMode: local.network } : {}),
      ...(flavor.gpu_count > 0 ? { DeviceRequests: [{ Driver: 'nvidia', Count: flavor.gpu_count, Capabilities: [['gpu']] }] } : {}),
    },
    ...(local.network ? { NetworkingConfig: { EndpointsConfig: { [local.network]: { Aliases: [hostName] } } } } : {}),
  };
}

export function jobNetworkName(jobId: string): string {
  return `modelarts-job-${jobId}`;
}
