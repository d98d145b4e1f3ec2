import type { CommandContext } from '../registry';

/**
 * Reconnects the backends if needed (only `{backend}` when given) and reloads their jobs; returns
 * the first (or named) backend's state and how many jobs were found.
 */
export async function refreshJobs({ services }: CommandContext, ...args: unknown[]): Promise<{ state: string; jobs: number }> {
  const named = args[0] && typeof args[0] === 'object' && typeof (args[0] as { backend?: unknown }).backend === 'string' ? services.backends.require((args[0] as { backend: string }).backend) : undefined;
  const backends = named ? [named] : services.backends.list();
  const states = await Promise.all(backends.map((backend) => backend.connect()));
  await Promise.all(backends.map((backend, index) => (states[index]?.kind === 'available' ? services.jobs.reload(backend.id) : undefined)));
  const jobs = backends.reduce((sum, backend, index) => sum + (states[index]?.kind === 'available' ? services.jobs.list(backend.id).length : 0), 0);
  return { state: states[0]?.kind ?? 'unavailable', jobs };
}
