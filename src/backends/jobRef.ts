/**
 * A job named by its backend and its id, wherever a job is kept or passed: tree ids, panel and
 * compare state, followed logs, remembered choices, command arguments. Ids are unique only within
 * a backend, so an id alone never names a job of another backend. One key format for all of them.
 */
import { z } from 'zod';

/** The backend every window has, and the one an id alone (state saved before backends existed) means. */
export const LOCAL_BACKEND_ID = 'local';

const MODELARTS_PREFIX = 'modelarts:';

/** A ModelArts account's backend id: `modelarts:<region>` or `modelarts:<region>:<project id>`, stable across reloads. */
export function modelArtsBackendId(region: string, projectId?: string): string {
  return `${MODELARTS_PREFIX}${region}${projectId ? `:${projectId}` : ''}`;
}

/** Whether a backend is a ModelArts account's (signed in and out from its root). */
export function isModelArtsBackendId(id: string): boolean {
  return id.startsWith(MODELARTS_PREFIX);
}

export interface JobRef {
  readonly backend: string;
  readonly id: string;
}

export const backendIdSchema = z
  .string({ error: 'must be a backend id such as "local" or "modelarts:cn-north-4"' })
  .min(1, { error: 'must be a backend id such as "local" or "modelarts:cn-north-4"' })
  .max(200)
  .regex(/^[^/\s]+$/, { error: 'must be a backend id such as "local" or "modelarts:cn-north-4" (no "/" or spaces)' });

export const jobRefSchema = z.strictObject({
  backend: backendIdSchema,
  id: z.string({ error: 'must be a training job id' }).min(1, { error: 'must be a training job id' }),
});

/** `<backend>/<id>`: backend ids hold no "/", so the first "/" splits it. */
export function jobKey(ref: JobRef): string {
  return `${ref.backend}/${ref.id}`;
}

/** The ref of a key made by jobKey; a key without "/" is an id saved before backends existed: a local job. */
export function parseJobKey(key: string): JobRef {
  const slash = key.indexOf('/');
  return slash < 0 ? { backend: LOCAL_BACKEND_ID, id: key } : { backend: key.slice(0, slash), id: key.slice(slash + 1) };
}

export function jobRef(backend: string, job: { readonly metadata: { readonly id: string } }): JobRef {
  return { backend, id: job.metadata.id };
}

export function sameJob(a: JobRef, b: JobRef): boolean {
  return a.backend === b.backend && a.id === b.id;
}
