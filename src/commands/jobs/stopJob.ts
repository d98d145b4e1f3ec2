import * as vscode from 'vscode';
import { stopJobAndWait } from '../../backends/shared/jobOperations';
import type { JobPhase } from '../../core/lifecycle';
import { jobArgument } from './jobArgument';
import type { CommandContext } from '../registry';

/**
 * Stops a Creating, Pending or Running job and resolves once it has ended. Interactive, it asks
 * for YES first, as the ModelArts console does. Arguments: a node, a job id, `{jobId}` or
 * `{backend, jobId}`.
 */
export async function stopJob({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ jobId: string; phase: JobPhase } | undefined> {
  const { backend, job } = await jobArgument(services, 'stop', 'modelarts.jobs.stop', args[0]);
  const { id, name } = job.metadata;
  if (interactive) {
    const answer = await vscode.window.showInputBox({
      title: `Stop Training Job ${name}`,
      prompt: `Its containers get SIGTERM, then a kill after the grace period; outputs written so far are uploaded. A stopped job cannot be resumed, only copied. Type YES to stop it.`,
      placeHolder: 'YES',
      ignoreFocusOut: true,
      validateInput: (value) => (value === 'YES' ? undefined : 'Type YES in capital letters to stop the job.'),
    });
    if (answer !== 'YES') return undefined;
  }
  const stopped = await vscode.window.withProgress({ location: { viewId: 'modelarts.jobs' }, title: `Stopping ${name}` }, () => stopJobAndWait(backend, id));
  services.log.info(`Stopped training job ${name} (${id}): ${stopped.status.phase}`);
  return { jobId: id, phase: stopped.status.phase };
}
