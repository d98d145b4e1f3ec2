import type { CommandContext } from './registry';
import { jobArgument } from './jobArgument';

/**
 * Opens a job's details panel (overview, events, metrics), or reveals it when it is open.
 * Arguments: a node, a job id or `{jobId}`; returns the job id and the panel's title.
 */
export async function showJobDetails({ services }: CommandContext, ...args: unknown[]): Promise<{ jobId: string; title: string }> {
  const job = await jobArgument(services, 'showEvents', 'modelarts.jobs.showDetails', args[0]);
  const panel = await services.jobPanels.show(job);
  return { jobId: job.metadata.id, title: panel.title };
}
