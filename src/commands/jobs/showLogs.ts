import * as vscode from 'vscode';
import { z } from 'zod';
import { CancelledError, InvalidInputError, NotFoundError } from '../../core/errors';
import { JobPartNode } from '../../views/jobsTree';
import type { CommandContext } from '../registry';
import { jobArgument } from './jobArgument';

const taskSchema = z.looseObject({ task: z.string({ error: 'must be a task name such as worker-0' }).optional() });

export interface ShowLogsResult {
  jobId: string;
  backend: string;
  task: string;
  /** Name of the output channel that follows the log. */
  channel: string;
}

/**
 * Follows a job's log in its own output channel: the whole history, then live. Arguments: a job or
 * task node, a job id (and task), or `{jobId, backend?, task?}`; with none, asks which job. A
 * multi-node job asks which task unless one is given.
 */
export async function showLogs({ services, interactive }: CommandContext, ...args: unknown[]): Promise<ShowLogsResult | undefined> {
  const [first, second] = args;
  let task: string | undefined;
  if (first instanceof JobPartNode && first.part.kind === 'task') task = first.part.task;
  else if (typeof first === 'string' && second !== undefined) {
    if (typeof second !== 'string') throw new InvalidInputError('modelarts.jobs.showLogs', [{ field: 'task', message: 'must be a task name such as worker-0' }]);
    task = second;
  } else if (first && typeof first === 'object' && !(first instanceof JobPartNode) && !('job' in first)) {
    const parsed = taskSchema.safeParse(first);
    if (!parsed.success) throw new InvalidInputError('modelarts.jobs.showLogs arguments', [{ field: 'task', message: 'must be a task name such as worker-0' }]);
    task = parsed.data.task;
  }
  const { job, ref } = await jobArgument(services, 'showLogs', 'modelarts.jobs.showLogs', first);
  const tasks = job.status.tasks.length ? job.status.tasks : ['worker-0'];
  if (!task && interactive && tasks.length > 1) {
    const picked = await vscode.window.showQuickPick(tasks, { title: `Show Logs of ${job.metadata.name}`, placeHolder: 'Which task (node) to follow' });
    if (!picked) throw new CancelledError('Picking a task');
    task = picked;
  }
  task ??= tasks[0] ?? 'worker-0';
  if (!tasks.includes(task)) throw new NotFoundError('task', `${task} of job ${job.metadata.name}`);
  const channel = services.jobLogs.show(ref, job, task, !interactive);
  return { jobId: ref.id, backend: ref.backend, task, channel: channel.name };
}
