import * as vscode from 'vscode';
import { ModelArtsError, NotFoundError } from '../../core/errors';
import { JobPartNode } from '../../views/jobsTree';
import type { CommandContext } from '../registry';
import { jobArgument } from './jobArgument';

/**
 * Opens a task's whole log file in an editor: the output channel shows the newest lines of a log
 * too long to show whole, this shows all of it. Arguments: a job or task node, a job id (and
 * task), or `{jobId, backend?, task?}`; returns the file. Only backends that keep logs as files on
 * this machine have one.
 */
export async function openFullLog({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ jobId: string; task: string; path: string }> {
  const [first, second] = args;
  const fromObject = first && typeof first === 'object' && !(first instanceof JobPartNode) && !('job' in first) ? (first as { task?: unknown }) : undefined;
  const { backend, job, ref } = await jobArgument(services, 'showLogs', 'modelarts.jobs.openFullLog', first);
  const given = first instanceof JobPartNode && first.part.kind === 'task' ? first.part.task : typeof second === 'string' ? second : typeof fromObject?.task === 'string' ? fromObject.task : undefined;
  const task = given ?? job.status.tasks[0] ?? 'worker-0';
  if (!backend.localFiles) throw new ModelArtsError(`${backend.displayName} keeps no log files on this machine; its log channel shows the log.`, 'ModelArts.NoLocalLog');
  const file = backend.localFiles.logLocation(ref.id, task);
  if (!file) throw new NotFoundError('task', `${task} of job ${job.metadata.name}`);
  if (interactive) await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
  return { jobId: ref.id, task, path: file };
}
