import type { CommandContext } from '../registry';

/** Reconnects to the engine if needed and reloads the jobs; returns what it found. */
export async function refreshJobs({ services }: CommandContext): Promise<{ state: string; jobs: number }> {
  const state = await services.engine.connect();
  if (state.kind === 'available') await services.jobs.reload();
  return { state: state.kind, jobs: state.kind === 'available' ? services.jobs.list().length : 0 };
}
