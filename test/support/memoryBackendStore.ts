/**
 * Where the in-memory backend keeps its jobs: the ledger's records and events in maps, and each
 * task's log lines and resource samples beside them. Jobs are deep-frozen once stored, so readers
 * share them instead of copying (as the local store does).
 */
import type { TrainingJob } from '../../src/core/job';
import type { JobEvent } from '../../src/core/jobEvent';
import type { ResourceSample } from '../../src/core/resourceSample';
import { deepFreeze } from '../../src/backends/local/jobStore';
import type { LedgerRecord, LedgerStore } from '../../src/backends/shared/jobLedger';

/** What the backend keeps beside a job: its run (0, one more per restart) and that run's first fault. */
export interface MemoryJobState {
  attempt: number;
  fault?: { task: string; reason: string };
}

export type MemoryRecord = LedgerRecord<MemoryJobState>;

export function logKey(id: string, task: string): string {
  return `${id}/${task}`;
}

export class MemoryStore implements LedgerStore<MemoryJobState> {
  private readonly records = new Map<string, MemoryRecord>();
  private readonly events = new Map<string, JobEvent[]>();
  /** Lines of each task's log, by logKey(). */
  readonly logs = new Map<string, string[]>();
  readonly samples = new Map<string, ResourceSample[]>();
  /** Ids newest first, until a job comes or goes. */
  private order: string[] | undefined;

  get(id: string): MemoryRecord | undefined {
    return this.records.get(id);
  }

  save(record: MemoryRecord): Promise<void> {
    const id = record.job.metadata.id;
    if (!this.records.has(id)) this.order = undefined;
    this.records.set(id, { ...record, job: deepFreeze(record.job) });
    return Promise.resolve();
  }

  appendEvents(id: string, events: readonly JobEvent[]): Promise<void> {
    if (!events.length) return Promise.resolve();
    const list = this.events.get(id) ?? [];
    list.push(...events.map((event) => deepFreeze(event)));
    this.events.set(id, list);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  eventsOf(id: string): JobEvent[] {
    return [...(this.events.get(id) ?? [])];
  }

  addSample(id: string, sample: ResourceSample): void {
    const list = this.samples.get(id) ?? [];
    list.push(sample);
    this.samples.set(id, list);
  }

  /** Forgets the job with its events, logs and samples. */
  remove(id: string): void {
    for (const task of this.records.get(id)?.job.status.tasks ?? []) this.logs.delete(logKey(id, task));
    this.records.delete(id);
    this.events.delete(id);
    this.samples.delete(id);
    this.order = undefined;
  }

  /** Newest first; of jobs created in the same millisecond, the later one first. */
  newestFirst(): TrainingJob[] {
    this.order ??= [...this.records.values()]
      .reverse()
      .sort((a, b) => b.job.metadata.create_time - a.job.metadata.create_time)
      .map((record) => record.job.metadata.id);
    const jobs: TrainingJob[] = [];
    for (const id of this.order) {
      const record = this.records.get(id);
      if (record) jobs.push(record.job);
    }
    return jobs;
  }
}
