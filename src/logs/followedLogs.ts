/**
 * What a window remembers of the logs it follows (workspace state `modelarts.followedLogs`), read
 * through zod: an entry saved before backends existed has no `backend` (a local job's); an entry
 * that is not one (a damaged or foreign value) is dropped, never thrown at activation.
 */
import { z } from 'zod';
import { LOCAL_BACKEND_ID, type JobRef } from '../backends/jobRef';

export const FOLLOWED_KEY = 'modelarts.followedLogs';

const followedSchema = z.object({
  backend: z.string().min(1).optional(),
  jobId: z.string().min(1),
  task: z.string().min(1),
});
export type Followed = z.output<typeof followedSchema>;

/** The valid entries of what was saved, in order. */
export function parseFollowed(saved: unknown): Followed[] {
  if (!Array.isArray(saved)) return [];
  return saved.flatMap((entry) => {
    const parsed = followedSchema.safeParse(entry);
    return parsed.success ? [parsed.data] : [];
  });
}

/** The job an entry names. */
export function followedRef(entry: Followed): JobRef {
  return { backend: entry.backend ?? LOCAL_BACKEND_ID, id: entry.jobId };
}
