/**
 * The job a job command acts on, however it was called: a tree node (the job, or one of its tasks,
 * inputs and outputs), a job id, `{jobId}`, or nothing (then a person picks among the jobs the
 * action is allowed for). A job in the wrong phase is refused with the console's reason.
 */
import * as vscode from 'vscode';
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

export async function jobArgument(services: Services, action: JobAction, command: string, first: unknown): Promise<TrainingJob> {
  let id: string;
  if (first instanceof JobNode) id = first.id;
  else if (first instanceof JobPartNode) id = first.parent.id;
  else if (typeof first === 'string' && first) id = first;
  else if (first && typeof first === 'object' && typeof (first as { jobId?: unknown }).jobId === 'string') id = (first as { jobId: string }).jobId;
  else if (first === undefined) id = await pickJob(services, action);
  else throw new InvalidInputError(`${command} arguments`, [{ field: 'jobId', message: 'must be a training job id (a string, or {jobId})' }]);

  const job = (await services.engine.getJob(id)) ?? services.jobs.get(id);
  if (!job) throw new NotFoundError('job', id);
  const refusal = actionRefusal(action, job.status.phase, job.metadata.name);
  if (refusal) throw new InvalidStateError(refusal);
  return job;
}

async function pickJob(services: Services, action: JobAction): Promise<string> {
  const jobs = services.jobs.list().filter((job) => isActionAllowed(action, job.status.phase));
  if (!jobs.length) {
    throw new InvalidStateError(services.jobs.list().length ? `No training job can be ${action === 'stop' ? 'stopped' : action === 'delete' ? 'deleted' : 'used for this'} right now.` : 'There are no training jobs yet.');
  }
  const now = Date.now();
  const picked = await vscode.window.showQuickPick(
    jobs.map((job) => ({ label: job.metadata.name, description: describeJob(job, now), detail: job.metadata.id, id: job.metadata.id })),
    { title: ACTION_TITLES[action], placeHolder: 'Pick a training job', matchOnDescription: true, matchOnDetail: true },
  );
  if (!picked) throw new CancelledError('Picking a training job');
  return picked.id;
}
