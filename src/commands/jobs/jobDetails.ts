import * as vscode from 'vscode';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import type { Services } from '../../services';
import { JobNode } from '../../views/jobsTree';
import { jobArgument } from './jobArgument';
import type { CommandContext } from '../registry';

/**
 * Opens a job's details panel (overview, events, metrics), or reveals it when it is open.
 * Arguments: a node, a job id or `{jobId}`; returns the job id and the panel's title.
 */
export async function showJobDetails({ services }: CommandContext, ...args: unknown[]): Promise<{ jobId: string; title: string }> {
  const job = await jobArgument(services, 'showEvents', 'modelarts.jobs.showDetails', args[0]);
  const panel = await services.jobPanels.show(job);
  return { jobId: job.metadata.id, title: panel.title };
}

/**
 * Overlays the training metrics of two or more jobs in one panel. From the tree: the selected
 * jobs (select several, then the context menu); from code: `{jobIds}`. Returns the jobs compared.
 */
export async function compareMetrics({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ jobIds: string[] }> {
  const [first, selection] = args;
  let jobIds: string[];
  if (Array.isArray(selection) && selection.every((node) => node instanceof JobNode)) {
    jobIds = (selection as JobNode[]).map((node) => node.id);
  } else if (first && typeof first === 'object' && Array.isArray((first as { jobIds?: unknown }).jobIds)) {
    jobIds = ((first as { jobIds: unknown[] }).jobIds).filter((id): id is string => typeof id === 'string');
  } else if (interactive) {
    jobIds = await pickJobs(services);
  } else {
    throw new InvalidInputError('modelarts.jobs.compareMetrics arguments', [{ field: 'jobIds', message: 'give {jobIds: [...]} with two to ten job ids' }]);
  }
  jobIds = [...new Set(jobIds)];
  if (jobIds.length < 2 || jobIds.length > 10) {
    if (interactive && jobIds.length === 0) return { jobIds: [] };
    throw new InvalidInputError('modelarts.jobs.compareMetrics arguments', [{ field: 'jobIds', message: `compares two to ten jobs (got ${jobIds.length}); select several jobs in the Training Jobs view` }]);
  }
  for (const id of jobIds) if (!(await services.engine.getJob(id))) throw new NotFoundError('job', id);
  services.comparePanels.show(jobIds);
  return { jobIds };
}

async function pickJobs(services: Services): Promise<string[]> {
  const jobs = await services.engine.listJobs();
  const picked = await vscode.window.showQuickPick(
    jobs.map((job) => ({ label: job.metadata.name, description: job.status.phase, id: job.metadata.id })),
    { canPickMany: true, title: 'Compare Metrics', placeHolder: 'Pick two or more training jobs' },
  );
  return picked?.map((item) => item.id) ?? [];
}
