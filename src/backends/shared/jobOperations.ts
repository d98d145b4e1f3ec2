/**
 * The console's job operations that have no API of their own on ModelArts — Copy ("Rebuild"),
 * Save As Algorithm, and stopping a job and waiting for its end — written once over any backend,
 * for the commands and the public API alike. Phase rules are checked first (ModelArts allows stop
 * only while Creating, Pending or Running); the backend checks them again.
 */
import { algorithmRequestFromJob, type Algorithm } from '../../core/algorithm';
import { CancelledError, InvalidStateError, NotFoundError } from '../../core/errors';
import { waitForEvent } from '../../core/events';
import { uniqueName } from '../../core/format';
import { toCreateRequest, withLiveDuration, type JobParameter, type TrainingJob } from '../../core/job';
import { actionRefusal, isTerminalPhase, type JobAction } from '../../core/lifecycle';
import type { CreateJobOptions, TrainingBackend } from '../trainingBackend';

/** The job, once its phase allows `action`; NotFoundError or InvalidStateError (the console's words) otherwise. */
export async function jobAllowing(backend: TrainingBackend, id: string, action: JobAction): Promise<TrainingJob> {
  const job = await backend.getJob(id);
  if (!job) throw new NotFoundError('job', id);
  const refusal = actionRefusal(action, job.status.phase, job.metadata.name);
  if (refusal) throw new InvalidStateError(refusal);
  return job;
}

/** Stops the job and resolves with it once it ended (Terminated, or ended otherwise meanwhile). */
export async function stopJobAndWait(backend: TrainingBackend, id: string, options: { readonly signal?: AbortSignal } = {}): Promise<TrainingJob> {
  await jobAllowing(backend, id, 'stop');
  // A polling backend is watched until the end is seen.
  const watch = backend.polling?.watch();
  try {
    return await stopAndWait(backend, id, options.signal);
  } finally {
    watch?.dispose();
  }
}

async function stopAndWait(backend: TrainingBackend, id: string, signal: AbortSignal | undefined): Promise<TrainingJob> {
  // Listening before the stop is asked, so its end is not missed.
  const ended = waitForEvent(
    backend.onDidChangeJob,
    (change) => change.job.metadata.id === id && (change.kind === 'deleted' || isTerminalPhase(change.job.status.phase)),
    signal,
  ).then(
    (change) => withLiveDuration(change.job, Date.now()),
    (error: unknown) => {
      throw signal?.aborted ? new CancelledError('Waiting for the job to stop') : error;
    },
  );
  try {
    await backend.stopJob(id);
  } catch (error) {
    void ended.catch(() => undefined);
    throw error;
  }
  // It may have ended before the listener saw a change (a stop of a job ending anyway).
  const now = await backend.getJob(id);
  if (now && isTerminalPhase(now.status.phase)) {
    void ended.catch(() => undefined);
    return now;
  }
  return ended;
}

export interface CopyJobOptions extends CreateJobOptions {
  /** Name of the copy; by default the original's name with `-copy`, made unique among the backend's jobs. */
  readonly name?: string;
  /** Replaces the hyperparameters. */
  readonly parameters?: readonly JobParameter[];
}

/** The name a copy of `job` gets by default: `<name>-copy`, or `-copy-2` … when that is taken. */
export async function copyName(backend: TrainingBackend, job: TrainingJob): Promise<string> {
  const taken = new Set((await backend.listJobs()).map((each) => each.metadata.name));
  return uniqueName(`${job.metadata.name}-copy`, (name) => taken.has(name));
}

/** Copy ("Rebuild"): a new job from the old one's spec, on the same backend. */
export async function copyJob(backend: TrainingBackend, id: string, options: CopyJobOptions = {}): Promise<TrainingJob> {
  const job = await jobAllowing(backend, id, 'copy');
  const request = toCreateRequest(job);
  request.metadata.name = options.name ?? (await copyName(backend, job));
  if (options.parameters) request.algorithm.parameters = options.parameters.map((p) => ({ ...p }));
  return backend.createJob(request, { ...(options.signal ? { signal: options.signal } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
}

/** The name an algorithm saved from `job` gets by default: the job's, made unique among the algorithms. */
export async function algorithmName(backend: TrainingBackend, job: TrainingJob): Promise<string> {
  const taken = new Set((await backend.listAlgorithms()).map((algorithm) => algorithm.metadata.name));
  return uniqueName(job.metadata.name, (name) => taken.has(name));
}

/** "Save As Algorithm": the job's code, boot file, engine, hyperparameters, inputs and outputs as an algorithm. */
export async function saveJobAsAlgorithm(
  backend: TrainingBackend,
  id: string,
  options: { readonly name?: string; readonly description?: string } = {},
): Promise<Algorithm> {
  const job = await jobAllowing(backend, id, 'saveAsAlgorithm');
  const name = options.name ?? (await algorithmName(backend, job));
  return backend.createAlgorithm(algorithmRequestFromJob(job, name, options.description));
}
