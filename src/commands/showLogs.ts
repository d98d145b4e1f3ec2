import * as vscode from 'vscode';
import { z } from 'zod';
import { InvalidInputError, NotFoundError, invalidInput } from '../core/errors';
import type { TrainingJob } from '../core/job';
import { describeJob, JobNode } from '../views/jobsTree';
import type { CommandContext } from './registry';

const argsSchema = z.strictObject({
  jobId: z.string({ error: 'must be a job id' }).min(1),
  task: z.string({ error: 'must be a task name such as worker-0' }).optional(),
});

export interface ShowLogsResult {
  jobId: string;
  task: string;
  /** Name of the output channel that follows the log. */
  channel: string;
}

/**
 * Follows a job's log in its own output channel. Arguments: a tree node, a job id (and task), or
 * `{jobId, task}`; with none, asks which job.
 */
export async function showLogs({ services, interactive }: CommandContext, ...args: unknown[]): Promise<ShowLogsResult | undefined> {
  let jobId: string | undefined;
  let task: string | undefined;
  const [first, second] = args;
  if (first instanceof JobNode) {
    jobId = first.id;
  } else if (typeof first === 'string') {
    jobId = first;
    if (second !== undefined) {
      if (typeof second !== 'string') throw new InvalidInputError('modelarts.jobs.showLogs', [{ field: 'task', message: 'must be a task name such as worker-0' }]);
      task = second;
    }
  } else if (first !== undefined) {
    const parsed = argsSchema.safeParse(first);
    if (!parsed.success) throw invalidInput('modelarts.jobs.showLogs arguments', parsed.error);
    ({ jobId, task } = parsed.data);
  } else {
    jobId = await pickJob(services.jobs.list());
    if (!jobId) return undefined;
  }

  const job = await services.engine.getJob(jobId);
  if (!job) throw new NotFoundError('job', jobId);
  task ??= job.status.tasks[0] ?? 'worker-0';
  if (!job.status.tasks.includes(task)) throw new NotFoundError('task', `${task} of job ${job.metadata.name}`);
  const channel = services.jobLogs.show(job, task, !interactive);
  return { jobId, task, channel: channel.name };
}

async function pickJob(jobs: readonly TrainingJob[]): Promise<string | undefined> {
  if (!jobs.length) {
    void vscode.window.showInformationMessage('There are no training jobs yet.');
    return undefined;
  }
  const now = Date.now();
  const picked = await vscode.window.showQuickPick(
    jobs.map((job) => ({ label: job.metadata.name, description: describeJob(job, now), detail: job.metadata.id, id: job.metadata.id })),
    { title: 'Show Logs of Training Job', placeHolder: 'Pick a training job', matchOnDescription: true, matchOnDetail: true },
  );
  return picked?.id;
}
