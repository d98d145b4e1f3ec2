/**
 * The Docker Engine API boundary: connecting (socket, TCP or SSH), and zod schemas for the parts of
 * Docker's JSON the local engine relies on, so a surprising payload fails here with a clear message
 * instead of deep inside the job logic.
 */
import Docker from 'dockerode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';

/** Labels the local engine puts on everything it creates. */
export const LABELS = {
  jobId: 'org.modelarts-training.job-id',
  task: 'org.modelarts-training.task',
  /** Marks a container as ours, so a user's other containers are never touched. */
  managedBy: 'org.modelarts-training.managed-by',
  /** Which engine data folder the container belongs to (a hash of its path). */
  store: 'org.modelarts-training.store',
} as const;
export const MANAGED_BY = 'modelarts-training';

/**
 * Dockerode options for a Docker host written as in DOCKER_HOST (unix://, npipe://, tcp://, ssh://).
 * Empty: dockerode's own defaults, which honour DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
 */
export function dockerOptions(host: string, field = 'modelarts.local.dockerHost'): Docker.DockerOptions {
  const value = host.trim();
  if (!value) return {};
  const invalid = (message: string) => new InvalidInputError(`Setting ${field}`, [{ field, message: `${message} (got "${value}")` }]);
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw invalid('unix:// must be followed by an absolute socket path');
    return { socketPath };
  }
  if (value.startsWith('npipe://')) {
    return { socketPath: value.slice('npipe://'.length) || '//./pipe/docker_engine' };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('must look like unix:///var/run/docker.sock, tcp://127.0.0.1:2375 or ssh://user@host');
  }
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh',
      host: url.hostname,
      port: url.port || 22,
      username: decodeURIComponent(url.username) || undefined,
      sshOptions: { agent: process.env.SSH_AUTH_SOCK },
    } as Docker.DockerOptions;
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid('must use unix://, npipe://, tcp:// or ssh://');
  }
  if (!url.hostname || !url.port) throw invalid('a tcp:// host needs a host name and a port');
  const tls = url.protocol === 'https:' || process.env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
  const options: Docker.DockerOptions = { protocol: tls ? 'https' : 'http', host: url.hostname, port: url.port };
  const certPath = process.env.DOCKER_CERT_PATH;
  if (tls && certPath) {
    options.ca = fs.readFileSync(path.join(certPath, 'ca.pem'));
    options.cert = fs.readFileSync(path.join(certPath, 'cert.pem'));
    options.key = fs.readFileSync(path.join(certPath, 'key.pem'));
  }
  return options;
}

export function createDockerClient(host: string): Docker {
  return new Docker(dockerOptions(host));
}

/** Where dockerode will connect, for messages. */
export function describeDockerHost(host: string): string {
  if (host.trim()) return host.trim();
  return process.env.DOCKER_HOST || (process.platform === 'win32' ? 'npipe:////./pipe/docker_engine' : 'unix:///var/run/docker.sock');
}

// ---- Payloads -------------------------------------------------------------------------------

export const dockerVersionSchema = z.looseObject({
  Version: z.string(),
  ApiVersion: z.string(),
  Os: z.string().optional(),
  Arch: z.string().optional(),
});

export const dockerInfoSchema = z.looseObject({
  NCPU: z.number(),
  MemTotal: z.number(),
  Runtimes: z.record(z.string(), z.unknown()).optional(),
  /** Resources dockerd advertises (`--node-generic-resource NVIDIA-GPU=<id>`), one entry per GPU. */
  GenericResources: z
    .array(z.looseObject({ DiscreteResourceSpec: z.looseObject({ Kind: z.string(), Value: z.number() }).optional(), NamedResourceSpec: z.looseObject({ Kind: z.string(), Value: z.string() }).optional() }))
    .nullish(),
});

/** GPUs an engine reports: its advertised NVIDIA-GPU resources, else one if it has the NVIDIA runtime. */
export function reportedGpus(info: z.output<typeof dockerInfoSchema>): number {
  let count = 0;
  for (const resource of info.GenericResources ?? []) {
    if (resource.NamedResourceSpec?.Kind === 'NVIDIA-GPU') count += 1;
    if (resource.DiscreteResourceSpec?.Kind === 'NVIDIA-GPU') count += resource.DiscreteResourceSpec.Value;
  }
  if (count === 0 && info.Runtimes && 'nvidia' in info.Runtimes) count = 1;
  return count;
}

export const imageSummarySchema = z.looseObject({
  Id: z.string(),
  RepoTags: z.array(z.string()).nullable().optional(),
  Labels: z.record(z.string(), z.string()).nullable().optional(),
  Created: z.number().optional(),
});
export type ImageSummary = z.output<typeof imageSummarySchema>;

export const containerStateSchema = z.looseObject({
  Status: z.string(),
  Running: z.boolean(),
  ExitCode: z.number(),
  OOMKilled: z.boolean(),
  Error: z.string().optional(),
  StartedAt: z.string(),
  FinishedAt: z.string(),
});
export type ContainerState = z.output<typeof containerStateSchema>;

export const containerInspectSchema = z.looseObject({
  Id: z.string(),
  Name: z.string(),
  State: containerStateSchema,
  Config: z.looseObject({ Labels: z.record(z.string(), z.string()).nullable().optional() }),
});
export type ContainerInspect = z.output<typeof containerInspectSchema>;

export const containerSummarySchema = z.looseObject({
  Id: z.string(),
  Names: z.array(z.string()).optional(),
  State: z.string(),
  Labels: z.record(z.string(), z.string()).nullable().optional(),
});
export type ContainerSummary = z.output<typeof containerSummarySchema>;

export const dockerEventSchema = z.looseObject({
  Type: z.string(),
  Action: z.string(),
  Actor: z.looseObject({
    ID: z.string(),
    Attributes: z.record(z.string(), z.string()).default({}),
  }),
  time: z.number(),
  timeNano: z.number().optional(),
});
export type DockerEvent = z.output<typeof dockerEventSchema>;

/** Parses a Docker payload, naming the API call when it does not have the expected shape. */
export function parseDocker<T extends z.ZodType>(schema: T, value: unknown, call: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`Unexpected answer from the Docker engine to ${call}: ${detail}`);
  }
  return result.data;
}

/** Docker time strings ("0001-01-01T00:00:00Z" meaning never) as epoch milliseconds, or undefined. */
export function dockerTime(value: string | undefined): number | undefined {
  if (!value || value.startsWith('0001-')) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isDockerStatus(error: unknown, status: number): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: unknown }).statusCode === status;
}

/** The engine's message inside a dockerode error, without dockerode's "(HTTP code …)" preamble. */
export function dockerErrorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const json = (error as { json?: unknown }).json;
    if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
      return (json as { message: string }).message;
    }
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(error);
}
