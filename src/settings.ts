/**
 * The extension's settings, each read through its own zod schema: a wrong value is reported with
 * the setting's name and what it allows, its default is used instead, and the rest of the code
 * sees typed values only.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { InvalidInputError, type FieldIssue } from './core/errors';
import { dockerOptions } from './engine/local/docker';

const SETTINGS = {
  engine: z.enum(['local'], { error: 'must be "local"' }).default('local'),
  'local.dockerHost': z.string({ error: 'must be text' }).default(''),
  'jobs.showLogsOnCreate': z.boolean({ error: 'must be true or false' }).default(true),
  'local.capacity.cpus': z.number({ error: 'must be a number of vCPUs' }).int({ error: 'must be a whole number' }).min(0, { error: 'must be 0 (the whole machine) or more' }).default(0),
  'local.capacity.memoryGib': z.number({ error: 'must be a number of GiB' }).int({ error: 'must be a whole number' }).min(0, { error: 'must be 0 (the whole machine) or more' }).default(0),
};

export interface Settings {
  readonly engine: 'local';
  readonly dockerHost: string;
  readonly showLogsOnCreate: boolean;
  /** What local jobs may use at once; undefined members mean the whole Docker machine. */
  readonly capacity: { readonly cpus?: number; readonly memoryGib?: number };
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
  return { settings: { engine: read('engine'), dockerHost, showLogsOnCreate: read('jobs.showLogsOnCreate'), capacity }, issues };
}
