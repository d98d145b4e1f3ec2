import * as vscode from 'vscode';
import { z } from 'zod';
import { backendIdSchema, jobKey, type JobRef } from '../../backends/jobRef';
import { InvalidInputError } from '../../core/errors';
import type { Services } from '../../services';
import { JobNode } from '../../views/jobsTree';
import type { CommandContext } from '../registry';
import { jobArgument, resolveJob } from './jobArgument';

/**
 * Opens a job's details panel (overview, events, metrics), or reveals it when it is open.
 * Arguments: a node, a job id, `{jobId}` or `{backend, jobId}`; returns the job and the panel's title.
 */
export async function showJobDetails({ services }: CommandContext, ...args: unknown[]): Promise<{ jobId: string; backend: string; title: string }> {
  const { job, ref } = await jobArgument(services, 'showEvents', 'modelarts.jobs.showDetails', args[0]);
  const panel = await services.jobPanels.show(ref, job);
  return { jobId: ref.id, backend: ref.backend, title: panel.title };
}

const compareSchema = z.union([
  z.looseObject({ jobIds: z.array(z.string().min(1)) }).transform(({ jobIds }) => jobIds.map((id): { backend?: string; id: string } => ({ id }))),
  z.looseObject({ jobs: z.array(z.object({ backend: backendIdSchema, id: z.string().min(1) })) }).transform(({ jobs }) => jobs),
]);

/**
 * Overlays the training metrics of two or more jobs in one panel, of one backend or several (a
 * local run against a cloud run). From the tree: the selected jobs (select several, then the
 * context menu); from code: `{jobIds}` or `{jobs: [{backend, id}]}`. Returns the jobs compared.
 */
export async function compareMetrics({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ jobIds: string[]; jobs: JobRef[] }> {
  const [first, selection] = args;
  let selectors: Array<{ backend?: string; id: string }>;
  if (Array.isArray(selection) && selection.every((node) => node instanceof JobNode)) {
    selectors = (selection as JobNode[]).map((node) => node.ref);
  } else if (first !== undefined && !(first instanceof JobNode)) {
    const parsed = compareSchema.safeParse(first);
    if (!parsed.success) throw new InvalidInputError('modelarts.jobs.compareMetrics arguments', [{ field: 'jobIds', message: 'give {jobIds: [...]} or {jobs: [{backend, id}, ...]} with two to ten jobs' }]);
    selectors = parsed.data;
  } else if (interactive) {
    selectors = await pickJobs(services);
  } else {
    throw new InvalidInputError('modelarts.jobs.compareMetrics arguments', [{ field: 'jobIds', message: 'give {jobIds: [...]} with two to ten job ids' }]);
  }
  const refs: JobRef[] = [];
  for (const selector of selectors) {
    const { ref } = await resolveJob(services, selector);
    if (!refs.some((each) => jobKey(each) === jobKey(ref))) refs.push(ref);
  }
  if (refs.length < 2 || refs.length > 10) {
    if (interactive && refs.length === 0) return { jobIds: [], jobs: [] };
    throw new InvalidInputError('modelarts.jobs.compareMetrics arguments', [{ field: 'jobIds', message: `compares two to ten jobs (got ${refs.length}); select several jobs in the Training Jobs view` }]);
  }
  services.comparePanels.show(refs);
  return { jobIds: refs.map((ref) => ref.id), jobs: refs };
}

async function pickJobs(services: Services): Promise<JobRef[]> {
  const several = services.backends.size > 1;
  const picked = await vscode.window.showQuickPick(
    services.jobs.all().map(({ backend, job }) => ({
      label: job.metadata.name,
      description: several ? `${job.status.phase} · ${services.backends.get(backend)?.displayName ?? backend}` : job.status.phase,
      ref: { backend, id: job.metadata.id },
    })),
    { canPickMany: true, title: 'Compare Metrics', placeHolder: 'Pick two or more training jobs' },
  );
  return picked?.map((item) => item.ref) ?? [];
}
