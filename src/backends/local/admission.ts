/**
 * Which waiting jobs may start: first come, first served within the local capacity. A job holds
 * its flavor's CPUs and memory times its nodes from the moment it is admitted until it ends; the
 * first waiting job that does not fit queues, and every later one queues behind it.
 */
import { LOCAL_FLAVORS, findFlavor } from '../../core/flavors';
import type { TrainingJob } from '../../core/job';
import type { Capacity } from './jobPlanner';

export interface AdmissionCandidate {
  readonly job: TrainingJob;
  /** Admitted earlier: it holds its share until it ends. */
  readonly admitted: boolean;
}

export interface AdmissionDecision {
  /** Ids to start now, oldest first. */
  readonly start: readonly string[];
  /** Ids that must wait, with why (for the Queuing event). */
  readonly queue: readonly string[];
  readonly reason?: string;
}

/** CPUs and memory a job holds while it runs: its flavor times its nodes. */
export function jobDemand(job: TrainingJob): Capacity {
  const flavor = findFlavor(job.spec.resource.flavor_id, LOCAL_FLAVORS);
  const nodes = job.spec.resource.node_count;
  return { cpus: (flavor?.cpu_cores ?? 1) * nodes, memoryGib: (flavor?.memory_gib ?? 1) * nodes };
}

export function decideAdmission(candidates: readonly AdmissionCandidate[], capacity: Capacity): AdmissionDecision {
  const used = { cpus: 0, memoryGib: 0, jobs: 0 };
  const hold = (demand: Capacity) => {
    used.cpus += demand.cpus;
    used.memoryGib += demand.memoryGib;
    used.jobs += 1;
  };
  for (const { job, admitted } of candidates) {
    const phase = job.status.phase;
    if (phase === 'Running' || phase === 'Terminating' || (phase === 'Pending' && admitted)) hold(jobDemand(job));
  }
  const waiting = candidates
    .filter(({ job, admitted }) => job.status.phase === 'Pending' && !admitted)
    .map(({ job }) => job)
    .sort((a, b) => a.metadata.create_time - b.metadata.create_time);
  const start: string[] = [];
  for (const [index, job] of waiting.entries()) {
    const demand = jobDemand(job);
    if (used.cpus + demand.cpus <= capacity.cpus && used.memoryGib + demand.memoryGib <= capacity.memoryGib) {
      hold(demand);
      start.push(job.metadata.id);
      continue;
    }
    const reason =
      `needs ${demand.cpus} vCPUs and ${demand.memoryGib} GiB; ${used.jobs} running job${used.jobs === 1 ? '' : 's'} use ` +
      `${used.cpus} of ${capacity.cpus} vCPUs and ${used.memoryGib} of ${capacity.memoryGib} GiB`;
    return { start, queue: waiting.slice(index).map((j) => j.metadata.id), reason };
  }
  return { start, queue: [] };
}
