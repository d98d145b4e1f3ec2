/**
 * The per-job ledger every backend keeps: changes to one job run one after another (a queue per
 * job), each change is applied to a copy under ModelArts' phase rules, saved, its events recorded,
 * and then announced. Handlers may see the same fact twice (a replayed Docker event, a poll that
 * repeats), so every change is written to be idempotent.
 */
import { errorMessage } from '../../core/errors';
import { Emitter, type Disposable, type Event } from '../../core/events';
import { withLiveDuration, type JobChange, type TrainingJob } from '../../core/job';
import type { JobEvent, JobEventAdded } from '../../core/jobEvent';
import { canTransition, type JobPhase, type SecondaryPhase } from '../../core/lifecycle';
import type { Logger } from '../../core/logger';

/** A job and what its backend keeps beside it (containers for the local one). */
export interface LedgerRecord<L> {
  readonly version: 1;
  readonly job: TrainingJob;
  readonly local: L;
}

/** Where a ledger keeps its records and events (files for the local backend, memory for others). */
export interface LedgerStore<L> {
  get(id: string): LedgerRecord<L> | undefined;
  save(record: LedgerRecord<L>): Promise<void>;
  appendEvents(id: string, events: readonly JobEvent[]): Promise<void>;
  /** Resolves once every write has been done. */
  flush(): Promise<void>;
}

/** Moves a job to a phase ModelArts allows after its current one; anything else is a bug, refused. */
export function setPhase(job: TrainingJob, to: JobPhase, secondary: SecondaryPhase): void {
  const from = job.status.phase;
  if (from !== to && !canTransition(from, to)) throw new Error(`illegal phase change ${from} → ${to}`);
  job.status.phase = to;
  job.status.secondary_phase = secondary;
}

export class JobLedger<L> implements Disposable {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly jobEmitter = new Emitter<JobChange>();
  private readonly eventEmitter = new Emitter<JobEventAdded>();
  readonly onDidChangeJob: Event<JobChange> = this.jobEmitter.event;
  readonly onDidAddEvent: Event<JobEventAdded> = this.eventEmitter.event;

  constructor(
    private readonly store: LedgerStore<L>,
    private readonly logger: Logger,
  ) {}

  /** Runs `work` after every earlier piece of work on the same job; a failure is logged and passed on. */
  queue<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch((error: unknown) => this.logger.error(`Job ${id}: ${errorMessage(error)}`));
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return next;
  }

  /** Applies `change` to a copy of the job and its state, saves both, records the events it returns and announces it. */
  async update(id: string, change: (draft: TrainingJob, local: L) => JobEvent[]): Promise<void> {
    const record = this.store.get(id);
    if (!record) return;
    const draft = structuredClone(record.job);
    const local = structuredClone(record.local);
    let events: JobEvent[];
    try {
      events = change(draft, local);
    } catch (error) {
      this.logger.error(`Job ${id}: ${errorMessage(error)}`);
      return;
    }
    await this.store.save({ ...record, job: draft, local });
    await this.addEvents(id, events);
    this.jobEmitter.fire({ kind: 'updated', job: withLiveDuration(draft, Date.now()) });
  }

  async addEvents(id: string, events: readonly JobEvent[]): Promise<void> {
    await this.store.appendEvents(id, events);
    for (const event of events) this.eventEmitter.fire({ jobId: id, event });
  }

  /** Announces a change made outside `update` (a creation, a deletion, another window's write). */
  announce(change: JobChange): void {
    this.jobEmitter.fire(change);
  }

  /** Resolves once every queued change has been applied and written. */
  async idle(): Promise<void> {
    while (this.queues.size) await Promise.allSettled([...this.queues.values()]);
    await this.store.flush();
  }

  get busy(): boolean {
    return this.queues.size > 0;
  }

  dispose(): void {
    this.jobEmitter.dispose();
    this.eventEmitter.dispose();
  }
}
