/**
 * The job a job command acts on, however it was called: a tree node (the job, or one of its tasks,
 * inputs and outputs), `{backend, jobId}`, `{jobId}`, a job reference `{backend, id}`, an id, or
 * nothing (then a person picks among the jobs the action is allowed for). One zod parser for all.
 * A named backend that is not configured is refused naming it, never taken for another; an id
 * alone is the job of whichever backend has it (state saved before backends existed: the local
 * one). A job in the wrong phase is refused with the console's reason.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { backendIdSchema, LOCAL_BACKEND_ID, type JobRef } from '../../backends/jobRef';
import type { TrainingBackend } from '../../backends/trainingBackend';
import { CancelledError, InvalidInputError, InvalidStateError, NotFoundError } from '../../core/errors';
import type { TrainingJob } from '../../core/job';
import { actionRefusal, isActionAllowed, type JobAction } from '../../core/lifecycle';
import type { Services } from '../../services';
import { describeJob, JobNode, JobPartNode } from '../../views/jobsTree';

const ACTION_TITLES: Readonly<Record<JobAction, string>> = {
  stop: 'Stop Training Job',
  delete: 'Delete Training Job',
  copy: 'Copy Training Job',
  saveAsAlgorithm: 'Save Training Job as Algorithm',
  showLogs: 'Show Logs of Training Job',
  showEvents: 'Show Events of Training Job',
};

/** A job a command was given: its backend (if named) and its id. */
export interface JobSelector {
  readonly backend?: string;
  readonly id: string;
}

const idSchema = z.string({ error: 'must be a training job id' }).min(1, { error: 'must be a training job id' });

/** `{backend?, jobId}`, a job reference `{backend, id}`, or an id; other fields are the command's own options. */
export const jobSelectorSchema = z.union(
  [
    idSchema.transform((id): JobSelector => ({ id })),
    z.looseObject({ jobId: idSchema, backend: backendIdSchema.optional() }).transform(({ jobId, backend }): JobSelector => ({ id: jobId, ...(backend ? { backend } : {}) })),
    z.looseObject({ id: idSchema, backend: backendIdSchema }).transform(({ id, backend }): JobSelector => ({ id, backend })),
  ],
  { error: 'must be a training job id, {jobId}, {backend, jobId} or a job reference {backend, id}' },
);

/** What a job command works on. */
export interface JobTarget {
  readonly backend: TrainingBackend;
  readonly job: TrainingJob;
  readonly ref: JobRef;
}

/** The selector of a tree node, or the parsed argument; InvalidInputError naming `jobId` otherwise. */
export function jobSelector(command: string, arg: unknown): JobSelector {
  if (arg instanceof JobNode) return arg.ref;
  if (arg instanceof JobPartNode) return arg.parent.ref;
  const parsed = jobSelectorSchema.safeParse(arg);
  if (!parsed.success) throw new InvalidInputError(`${command} arguments`, [{ field: 'jobId', message: 'must be a training job id (a string), {jobId}, {backend, jobId} or a job reference {backend, id}' }]);
  return parsed.data;
}

/** The backend and job a selector names. */
export async function resolveJob(services: Services, selector: JobSelector): Promise<JobTarget> {
  const { backends, jobs } = services;
  let backendId = selector.backend;
  if (backendId === undefined) {
    const holders = jobs.backendsOf(selector.id);
    if (holders.length > 1) {
      throw new InvalidInputError('Training job reference', [{ field: 'backend', message: `job ${selector.id} exists in several backends (${holders.join(', ')}); give {backend, jobId}` }]);
    }
    backendId = holders[0] ?? LOCAL_BACKEND_ID;
  }
  const backend = backends.require(backendId);
  const job = (await backend.getJob(selector.id)) ?? jobs.get({ backend: backendId, id: selector.id });
  if (!job) throw new NotFoundError('job', backends.size > 1 ? `${selector.id} in ${backend.displayName}` : selector.id);
  return { backend, job, ref: { backend: backendId, id: selector.id } };
}

/** The job a command acts on, allowed `action` in its phase; with no argument, a person picks one. */
export async function jobArgument(services: Services, action: JobAction, command: string, first: unknown): Promise<JobTarget> {
  const selector = first === undefined ? await pickJob(services, action) : jobSelector(command, first);
  const target = await resolveJob(services, selector);
  const refusal = actionRefusal(action, target.job.status.phase, target.job.metadata.name);
  if (refusal) throw new InvalidStateError(refusal);
  return target;
}

async function pickJob(services: Services, action: JobAction): Promise<JobSelector> {
  const entries = services.jobs.all().filter((entry) => isActionAllowed(action, entry.job.status.phase));
  if (!entries.length) {
    throw new InvalidStateError(services.jobs.all().length ? `No training job can be ${action === 'stop' ? 'stopped' : action === 'delete' ? 'deleted' : 'used for this'} right now.` : 'There are no training jobs yet.');
  }
  const now = Date.now();
  const several = services.backends.size > 1;
  const picked = await vscode.window.showQuickPick(
    entries.map(({ backend, job }) => ({
      label: job.metadata.name,
      description: describeJob(job, now),
      detail: several ? `${services.backends.get(backend)?.displayName ?? backend} · ${job.metadata.id}` : job.metadata.id,
      selector: { backend, id: job.metadata.id },
    })),
    { title: ACTION_TITLES[action], placeHolder: 'Pick a training job', matchOnDescription: true, matchOnDetail: true },
  );
  if (!picked) throw new CancelledError('Picking a training job');
  return picked.selector;
}
