import * as vscode from 'vscode';
import type { JobEvent } from '../../core/jobEvent';
import { jobArgument } from './jobArgument';
import type { CommandContext } from '../registry';

/**
 * Opens a job's events (newest first, live). Arguments: a node, a job id or `{jobId}`; returns the
 * events, newest first, and the document showing them.
 */
export async function showEvents({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ jobId: string; uri: string; events: JobEvent[] }> {
  const job = await jobArgument(services, 'showEvents', 'modelarts.jobs.showEvents', args[0]);
  const uri = services.jobEvents.uriFor(job.metadata.id, job.metadata.name);
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document, { preview: true, preserveFocus: !interactive });
  const events = (await services.engine.listEvents(job.metadata.id)).reverse();
  return { jobId: job.metadata.id, uri: uri.toString(), events };
}
