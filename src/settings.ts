/**
 * The extension's settings, each read through its own zod schema: a wrong value is reported with
 * the setting's name and what it allows, its default is used instead, and the rest of the code
 * sees typed values only. Secrets are never settings: storage credentials live in SecretStorage.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import { InvalidInputError, type FieldIssue } from './core/errors';
import { dockerOptions } from './backends/local/docker';
import { isHttpUrl } from './storage/s3Config';

const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const SETTINGS = {
  defaultBackend: z
    .string({ error: 'must be a backend id such as "local" or "modelarts:cn-north-4"' })
    .regex(/^[^/\s]{1,200}$/, { error: 'must be a backend id such as "local" or "modelarts:cn-north-4"' })
    .default('local'),
  /** Deprecated: what `defaultBackend` was called while there was one backend. */
  engine: z.enum(['local'], { error: 'must be "local" (deprecated: use modelarts.defaultBackend)' }).default('local'),
  'local.dockerHost': z.string({ error: 'must be text' }).default(''),
  'jobs.showLogsOnCreate': z.boolean({ error: 'must be true or false' }).default(true),
  'jobs.defaultFlavor': z
    .string({ error: 'must be a flavor id such as modelarts.local.cpu.2u8g' })
    .regex(/^$|^[A-Za-z0-9._-]{1,128}$/, { error: 'must be a flavor id such as modelarts.local.cpu.2u8g, or empty' })
    .default(''),
  'metrics.pattern': z
    .string({ error: 'must be a regular expression with named groups, or empty' })
    .max(1000, { error: 'must be at most 1000 characters' })
    .refine((value) => {
      try {
        new RegExp(value);
        return true;
      } catch {
        return false;
      }
    }, { error: 'must be a valid regular expression (JavaScript syntax) with named groups such as (?<loss>[0-9.]+), or empty' })
    .default(''),
  'local.capacity.cpus': z.number({ error: 'must be a number of vCPUs' }).int({ error: 'must be a whole number' }).min(0, { error: 'must be 0 (the whole machine) or more' }).default(0),
  'local.capacity.memoryGib': z.number({ error: 'must be a number of GiB' }).int({ error: 'must be a whole number' }).min(0, { error: 'must be 0 (the whole machine) or more' }).default(0),
  'storage.kind': z.enum(['folder', 's3'], { error: 'must be "folder" (a local folder store) or "s3" (an S3-compatible store such as OBS)' }).default('folder'),
  'storage.folder': z
    .string({ error: 'must be a folder path' })
    .refine((value) => value === '' || path.isAbsolute(value), { error: 'must be an absolute folder path, or empty for the extension\'s own folder' })
    .default(''),
  'storage.s3.endpoint': z
    .string({ error: 'must be a URL' })
    .refine((value) => value === '' || isHttpUrl(value), { error: 'must be an http:// or https:// URL such as https://obs.cn-north-4.myhuaweicloud.com' })
    .default(''),
  'storage.s3.region': z.string({ error: 'must be a region name such as cn-north-4' }).default(''),
  'storage.s3.bucket': z
    .string({ error: 'must be a bucket name' })
    .refine((value) => value === '' || BUCKET_PATTERN.test(value), { error: 'must be 3 to 63 lowercase letters, digits, "." and "-", or empty for every bucket' })
    .default(''),
  'storage.s3.forcePathStyle': z.boolean({ error: 'must be true or false' }).default(true),
};

export type StorageSettings =
  | { readonly kind: 'folder'; readonly folder: string }
  | {
      readonly kind: 's3';
      readonly endpoint: string;
      readonly region: string;
      /** The bucket the Datasets view shows; empty: every bucket the credentials can list. */
      readonly bucket: string;
      readonly forcePathStyle: boolean;
    };

export interface Settings {
  /** The backend Create Training Job offers first when there are several. */
  readonly defaultBackend: string;
  readonly dockerHost: string;
  readonly showLogsOnCreate: boolean;
  /** Flavor preselected when creating a job; empty: the last completed job's, the last chosen, or the backend's default. */
  readonly defaultFlavor: string;
  /** What local jobs may use at once; undefined members mean the whole Docker machine. */
  readonly capacity: { readonly cpus?: number; readonly memoryGib?: number };
  readonly storage: StorageSettings;
  /** A log-line pattern with named groups (`step` and metrics) for the metrics charts; empty: the built-in formats. */
  readonly metricsPattern: string;
}

export function readSettings(): { settings: Settings; issues: FieldIssue[] } {
  const config = vscode.workspace.getConfiguration('modelarts');
  const issues: FieldIssue[] = [];
  const read = <K extends keyof typeof SETTINGS>(key: K): z.output<(typeof SETTINGS)[K]> => {
    const schema = SETTINGS[key];
    const result = schema.safeParse(config.get(key));
    if (result.success) return result.data as z.output<(typeof SETTINGS)[K]>;
    issues.push({ field: `modelarts.${key}`, message: result.error.issues[0]?.message ?? 'is invalid' });
    return schema.parse(undefined) as z.output<(typeof SETTINGS)[K]>;
  };
  let dockerHost = read('local.dockerHost');
  try {
    dockerOptions(dockerHost);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    issues.push(...error.issues);
    dockerHost = '';
  }
  const cpus = read('local.capacity.cpus');
  const memoryGib = read('local.capacity.memoryGib');
  const capacity = { ...(cpus > 0 ? { cpus } : {}), ...(memoryGib > 0 ? { memoryGib } : {}) };
  return {
    settings: {
      defaultBackend: readDefaultBackend(config, read),
      dockerHost,
      showLogsOnCreate: read('jobs.showLogsOnCreate'),
      defaultFlavor: read('jobs.defaultFlavor'),
      metricsPattern: read('metrics.pattern'),
      capacity,
      storage: readStorage(read, issues),
    },
    issues,
  };
}

/** `modelarts.defaultBackend`, else the deprecated `modelarts.engine` when only that one is set. */
function readDefaultBackend(config: vscode.WorkspaceConfiguration, read: <K extends keyof typeof SETTINGS>(key: K) => z.output<(typeof SETTINGS)[K]>): string {
  const given = (key: string) => {
    const inspected = config.inspect(key);
    return inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
  };
  if (given('defaultBackend') !== undefined || given('engine') === undefined) return read('defaultBackend');
  return read('engine');
}

function readStorage(read: <K extends keyof typeof SETTINGS>(key: K) => z.output<(typeof SETTINGS)[K]>, issues: FieldIssue[]): StorageSettings {
  const folder = { kind: 'folder' as const, folder: read('storage.folder') };
  if (read('storage.kind') === 'folder') return folder;
  const endpoint = read('storage.s3.endpoint');
  const region = read('storage.s3.region');
  // An S3 store needs its endpoint: without one the folder store stays in use, and the user is told.
  if (!endpoint) {
    issues.push({ field: 'modelarts.storage.s3.endpoint', message: 'must be set when modelarts.storage.kind is "s3"; the local folder store is used meanwhile' });
    return folder;
  }
  return { kind: 's3', endpoint, region: region || 'us-east-1', bucket: read('storage.s3.bucket'), forcePathStyle: read('storage.s3.forcePathStyle') };
}
