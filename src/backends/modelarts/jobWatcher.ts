/**
 * ModelArts has no push, so a cloud backend polls — but only jobs that have not ended, and only
 * while someone watches (a view, a panel, a followed log, a caller waiting for an end). Each job
 * has its own interval, short after a change and backing off while nothing changes. A poll reads
 * the job and its new events; events are announced before the change that follows them, so a
 * listener that sees a job end has seen its events.
 */
import { errorMessage } from '../../core/errors';
import type { TrainingJob } from '../../core/job';
import type { JobEvent } from '../../core/jobEvent';
import { isTerminalPhase } from '../../core/lifecycle';
import type { Logger } from '../../core/logger';

export interface WatcherHooks {
  /** The job now; undefined when it no longer exists. */
  fetchJob(id: string): Promise<TrainingJob | undefined>;
  /** Events after the first `known` ones, oldest first. */
  fetchEvents(id: string, known: number): Promise<JobEvent[]>;
  changed(job: TrainingJob): void;
  /** Each poll's reading of the job, changed or not (live metrics ride on it). */
  polled(job: TrainingJob): void;
  eventsAdded(id: string, events: readonly JobEvent[]): void;
  gone(id: string): void;
  /** True while someone is watching; nothing is polled otherwise. */
  watched(): boolean;
  /** A poll failed (the service is away, the keys expired): the backend decides what that means. */
  failed(error: unknown): void;
}

export interface WatcherTiming {
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
}

interface Watch {
  fingerprint: string;
  events: number;
  interval: number;
  timer: NodeJS.Timeout | undefined;
  polling: boolean;
}

/** What counts as a change of a job (not its live duration). */
function fingerprint(job: TrainingJob): string {
  const { phase, secondary_phase, task_statuses, running_records, tasks } = job.status;
  return JSON.stringify([phase, secondary_phase, task_statuses, running_records, tasks, job.metadata.description]);
}

export class JobWatcher {
  private readonly jobs = new Map<string, Watch>();
  private disposed = false;

  constructor(
    private readonly hooks: WatcherHooks,
    private readonly timing: WatcherTiming,
    private readonly logger: Logger,
  ) {}

  /** Starts watching a job that has not ended (its events so far already known, or not). */
  track(job: TrainingJob, knownEvents?: number): void {
    if (this.disposed || isTerminalPhase(job.status.phase)) return;
    const existing = this.jobs.get(job.metadata.id);
    if (existing) return;
    this.jobs.set(job.metadata.id, { fingerprint: fingerprint(job), events: knownEvents ?? 0, interval: this.timing.minIntervalMs, timer: undefined, polling: false });
    this.schedule(job.metadata.id, 0);
  }

  /** A job read by someone else (a list, a show): tracked if it has not ended, polled at once if it changed. */
  observe(job: TrainingJob): void {
    const watch = this.jobs.get(job.metadata.id);
    if (!watch) return this.track(job);
    if (fingerprint(job) !== watch.fingerprint) this.nudge(job.metadata.id);
  }

  /** Polls the job soon (after a stop, or when someone starts watching). */
  nudge(id?: string): void {
    for (const [each, watch] of this.jobs) {
      if (id !== undefined && each !== id) continue;
      watch.interval = this.timing.minIntervalMs;
      if (!watch.polling) this.schedule(each, 0);
    }
  }

  forget(id: string): void {
    const watch = this.jobs.get(id);
    if (watch) clearTimeout(watch.timer);
    this.jobs.delete(id);
  }

  private schedule(id: string, delay: number): void {
    const watch = this.jobs.get(id);
    if (!watch || this.disposed) return;
    clearTimeout(watch.timer);
    watch.timer = setTimeout(() => void this.poll(id), delay);
    watch.timer.unref?.();
  }

  private async poll(id: string): Promise<void> {
    const watch = this.jobs.get(id);
    if (!watch || watch.polling) return;
    if (!this.hooks.watched()) {
      // Nobody looks: check again later without a request.
      this.schedule(id, this.timing.maxIntervalMs);
      return;
    }
    watch.polling = true;
    try {
      const job = await this.hooks.fetchJob(id);
      if (!this.jobs.has(id)) return;
      if (!job) {
        this.forget(id);
        this.hooks.gone(id);
        return;
      }
      const events = await this.hooks.fetchEvents(id, watch.events);
      if (!this.jobs.has(id)) return;
      watch.events += events.length;
      if (events.length) this.hooks.eventsAdded(id, events);
      const now = fingerprint(job);
      const changed = now !== watch.fingerprint || events.length > 0;
      watch.fingerprint = now;
      if (changed) this.hooks.changed(job);
      this.hooks.polled(job);
      if (isTerminalPhase(job.status.phase)) {
        this.forget(id);
        return;
      }
      watch.interval = changed ? this.timing.minIntervalMs : Math.min(this.timing.maxIntervalMs, Math.round(watch.interval * 1.5));
    } catch (error) {
      this.logger.debug(`Polling job ${id}: ${errorMessage(error)}`);
      this.hooks.failed(error);
      watch.interval = Math.min(this.timing.maxIntervalMs, watch.interval * 2);
    } finally {
      watch.polling = false;
    }
    this.schedule(id, watch.interval);
  }

  dispose(): void {
    this.disposed = true;
    for (const watch of this.jobs.values()) clearTimeout(watch.timer);
    this.jobs.clear();
  }
}
