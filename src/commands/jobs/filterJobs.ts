import { z } from 'zod';
import { invalidInput } from '../../core/errors';
import { JOB_PHASES, type JobPhase } from '../../core/lifecycle';
import { BACK, inputStep, pickManyStep, runSteps } from '../multiStep';
import { LoadMoreJobsNode, type JobsFilter } from '../../views/jobsTree';
import type { CommandContext } from '../registry';

const filterSchema = z.strictObject({
  phases: z.array(z.enum(JOB_PHASES, { error: `must be phases among ${JOB_PHASES.join(', ')}` }), { error: 'must be a list of phases' }).optional(),
  name: z.string({ error: 'must be text the job names contain' }).max(64).optional(),
});

/**
 * Filters the Training Jobs view by phase and name. Interactive: pick phases, then type part of
 * a name. Arguments: `{phases?, name?}` (an empty object clears it). Returns the filter in use and
 * how many jobs match.
 */
export async function filterJobs({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ filter: JobsFilter; matching: number } | undefined> {
  let filter: JobsFilter;
  if (interactive) {
    const current = services.jobsTree.filter;
    const counts = new Map<string, number>();
    for (const { job } of services.jobs.all()) counts.set(job.status.phase, (counts.get(job.status.phase) ?? 0) + 1);
    const state: { phases: JobPhase[]; name: string } = { phases: [...(current.phases ?? [])], name: current.name ?? '' };
    await runSteps('Filter Training Jobs', state, [
      {
        run: async (s, position) => {
          const items = JOB_PHASES.map((phase) => ({ label: phase, description: `${counts.get(phase) ?? 0}`, phase }));
          const picked = await pickManyStep({ position, label: 'phases', items, selected: items.filter((item) => s.phases.includes(item.phase)), placeholder: 'Show jobs in these phases (none: every phase)' });
          if (picked === BACK) return BACK;
          s.phases = picked.map((item) => item.phase);
          return;
        },
      },
      {
        run: async (s, position) => {
          const value = await inputStep({ position, label: 'name', prompt: 'Show jobs whose name contains this text (empty: any name)', value: s.name });
          if (value === BACK) return BACK;
          s.name = value;
          return;
        },
      },
    ]);
    filter = { phases: state.phases, name: state.name.trim() };
  } else {
    const parsed = filterSchema.safeParse(args[0]);
    if (!parsed.success) throw invalidInput('modelarts.jobs.filter arguments', parsed.error);
    filter = parsed.data;
  }
  services.jobsTree.setFilter(filter);
  return matchingCount(services.jobsTree.filter, services);
}

export async function clearJobsFilter({ services }: CommandContext): Promise<{ filter: JobsFilter; matching: number }> {
  services.jobsTree.setFilter({});
  return matchingCount({}, services);
}

/** "Load more…" under the last job of a backend shown (the row passes itself; `{backend}` from code); returns how many jobs that backend's list may now show. */
export async function loadMoreJobs({ services }: CommandContext, ...args: unknown[]): Promise<{ limit: number }> {
  const first = args[0];
  const backend = first instanceof LoadMoreJobsNode ? first.backend : first && typeof first === 'object' && typeof (first as { backend?: unknown }).backend === 'string' ? (first as { backend: string }).backend : undefined;
  if (backend !== undefined) services.backends.require(backend);
  return { limit: services.jobsTree.loadMore(backend) };
}

function matchingCount(filter: JobsFilter, services: CommandContext['services']): { filter: JobsFilter; matching: number } {
  return { filter, matching: services.jobsTree.matching().length };
}
