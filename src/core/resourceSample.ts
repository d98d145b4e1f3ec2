/** CPU and memory of a job's task containers over time, for a job's metrics chart. */
import { z } from 'zod';

export const resourceSampleSchema = z.object({
  /** When the engine measured it (epoch ms, the container engine's clock). */
  time: z.number(),
  task: z.string(),
  /** As `docker stats` shows it: 100 is one core busy, so a 4-vCPU flavor goes up to 400. */
  cpuPercent: z.number().nonnegative(),
  /** Memory in use without the reclaimable file cache, as `docker stats` counts it. */
  memoryBytes: z.number().nonnegative(),
  /** The container's memory limit (the flavor's memory). */
  memoryLimitBytes: z.number().nonnegative(),
});
export type ResourceSample = z.output<typeof resourceSampleSchema>;

export interface ResourceSampleAdded {
  readonly jobId: string;
  readonly sample: ResourceSample;
}
