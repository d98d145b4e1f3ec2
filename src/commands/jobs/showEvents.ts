import * as vscode from 'vscode';
import type { JobEvent } from '../../core/jobEvent';
import type { CommandContext } from '../registry';
import { jobArgument } from './jobArgument';

/**
 * Opens a job's events (newest first, live). Arguments: a node, a job id, `{jobId}` or
 * `{backend, jobId}`; returns the events, newest first, and the document showing them.
 */
export async function showEvents({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ jobId: string; backend: string; uri: string; events: JobEvent[] }> {
  const { backend, job, ref } = await jobArgument(services, 'showEvents', 'modelarts.jobs.showEvents', args[0]);
  const uri = services.jobEvents.uriFor(ref, job.metadata.name);
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document, { preview: true, preserveFocus: !interactive });
  const events = (await backend.listEvents(ref.id)).reverse();
  return { jobId: ref.id, backend: ref.backend, uri: uri.toString(), events };
}
