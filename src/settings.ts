/**
 * The extension's settings, read through one zod schema so a wrong value is reported with the
 * setting's name and what it allows, and the rest of the code sees typed values only.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { InvalidInputError, fieldPath, type FieldIssue } from './core/errors';
import { dockerOptions } from './engine/local/docker';

const settingsSchema = z.object({
  engine: z.enum(['local'], { error: 'must be "local"' }).default('local'),
  local: z
    .object({
      dockerHost: z.string({ error: 'must be text' }).default(''),
    })
    .default({ dockerHost: '' }),
  jobs: z
    .object({
      showLogsOnCreate: z.boolean({ error: 'must be true or false' }).default(true),
    })
    .default({ showLogsOnCreate: true }),
});
export type Settings = z.output<typeof settingsSchema>;

const KEYS = ['engine', 'local.dockerHost', 'jobs.showLogsOnCreate'] as const;

/** Reads and validates the `modelarts.*` settings; a bad value falls back to its default and is reported. */
export function readSettings(): { settings: Settings; issues: FieldIssue[] } {
  const config = vscode.workspace.getConfiguration('modelarts');
  const raw: Record<string, unknown> = {};
  for (const key of KEYS) {
    const value = config.get(key);
    if (value === undefined) continue;
    const [head, tail] = key.split('.') as [string, string | undefined];
    if (tail) raw[head] = { ...((raw[head] as object | undefined) ?? {}), [tail]: value };
    else raw[head] = value;
  }
  const issues: FieldIssue[] = [];
  const parsed = settingsSchema.safeParse(raw);
  let settings: Settings;
  if (parsed.success) {
    settings = parsed.data;
  } else {
    for (const issue of parsed.error.issues) issues.push({ field: `modelarts.${fieldPath(issue.path)}`, message: issue.message });
    // Keep every valid setting; drop only the offending ones.
    const cleaned = structuredClone(raw);
    for (const issue of parsed.error.issues) deletePath(cleaned, issue.path);
    settings = settingsSchema.parse(cleaned);
  }
  try {
    dockerOptions(settings.local.dockerHost);
  } catch (error) {
    if (error instanceof InvalidInputError) issues.push(...error.issues);
    settings = { ...settings, local: { ...settings.local, dockerHost: '' } };
  }
  return { settings, issues };
}

function deletePath(target: Record<string, unknown>, path: readonly PropertyKey[]): void {
  let node: unknown = target;
  for (const part of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  if (node && typeof node === 'object' && path.length) delete (node as Record<PropertyKey, unknown>)[path[path.length - 1]!];
}
