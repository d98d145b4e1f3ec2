/**
 * Local capacity: waiting jobs start oldest first while the machine's CPUs and memory (or the
 * capacity settings) allow; the first that does not fit waits as Pending (Queuing), and so do
 * those after it. Decisions run one after another, never two at once.
 */
import { errorMessage } from '../../core/errors';
import { makeEvent } from '../../core/jobEvent';
import { setPhase } from '../shared/jobLedger';
import { decideAdmission } from './admission';
import type { Capacity } from './jobPlanner';
import type { LocalRuntime } from './localRuntime';

export class Scheduler {
  private scheduling: Promise<void> = Promise.resolve();

  constructor(private readonly runtime: LocalRuntime) {}

  /** Changes what jobs may use at once (a setting changed); waiting jobs start if they now fit. */
  setCapacity(capacity: Partial<Capacity>): void {
    this.runtime.capacityLimit = { ...capacity };
    void this.schedule();
  }

  schedule(): Promise<void> {
    this.scheduling = this.scheduling.then(() => this.admitWaitingJobs()).catch((error: unknown) => this.runtime.logger.error(`Scheduling: ${errorMessage(error)}`));
    return this.scheduling;
  }

  /** Resolves once the scheduling under way is done. */
  idle(): Promise<void> {
    return this.scheduling;
  }

  private async admitWaitingJobs(): Promise<void> {
    const { runtime } = this;
    if (runtime.connection.state.kind !== 'available' || runtime.disposed || runtime.parts.follower.following) return;
    const candidates = runtime.store.list().map((record) => ({ job: record.job, admitted: record.local.admitted }));
    const decision = decideAdmission(candidates, runtime.capacity());
    for (const id of decision.start) void runtime.ledger.queue(id, () => this.admit(id));
    for (const id of decision.queue) void runtime.ledger.queue(id, () => this.markQueuing(id, decision.reason ?? ''));
  }

  private async admit(id: string): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record || record.job.status.phase !== 'Pending' || record.local.admitted) return;
    const wasQueuing = record.job.status.secondary_phase === 'Queuing';
    await runtime.ledger.update(id, (draft, local) => {
      local.admitted = true;
      setPhase(draft, 'Pending', 'Pending');
      return [makeEvent('Info', 'Job', wasQueuing ? 'Resources are free: starting the job.' : 'Resources assigned: starting the job.')];
    });
    for (const task of record.job.status.tasks) await runtime.parts.creation.startTask(id, task);
  }

  private async markQueuing(id: string, reason: string): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record || record.job.status.phase !== 'Pending' || record.local.admitted || record.job.status.secondary_phase === 'Queuing') return;
    await runtime.ledger.update(id, (draft) => {
      setPhase(draft, 'Pending', 'Queuing');
      return [makeEvent('Info', 'Job', `Queuing: the job ${reason}.`)];
    });
  }
}
