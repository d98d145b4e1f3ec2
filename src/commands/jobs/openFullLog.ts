import * as vscode from 'vscode';
import { NotFoundError } from '../../core/errors';
import { JobPartNode } from '../../views/jobsTree';
import { jobArgument } from './jobArgument';
import type { CommandContext } from '../registry';

/**
 * Opens a task's whole log file in an editor: the output channel shows the newest lines of a log
 * too long to show whole, this shows all of it. Arguments: a job or task node, a job id (and
 * task), or `{jobId, task?}`; returns the file.
 */
export async function openFullLog({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ jobId: string; task: string; path: string }> {
  const [first, second] = args;
  const fromObject = first && typeof first === 'object' && !(first instanceof JobPartNode) && !('job' in first) ? (first as { jobId?: unknown; task?: unknown }) : undefined;
  const job = await jobArgument(services, 'showLogs', 'modelarts.jobs.openFullLog', fromObject ? fromObject.jobId : first);
  const given = first instanceof JobPartNode && first.part.kind === 'task' ? first.part.task : typeof second === 'string' ? second : typeof fromObject?.task === 'string' ? fromObject.task : undefined;
  const task = given ?? job.status.tasks[0] ?? 'worker-0';
  const file = services.engine.logLocation(job.metadata.id, task);
  if (!file) throw new NotFoundError('task', `${task} of job ${job.metadata.name}`);
  if (interactive) await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
  return { jobId: job.metadata.id, task, path: file };
}
