/**
 * The jobs the sidebar shows, for every backend: a cache per backend kept current by the backends'
 * change events (no polling), newest first. A backend that is added is loaded; one that is removed
 * takes its jobs with it.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import type { JobRef } from '../backends/jobRef';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { JobChange, TrainingJob } from '../core/job';

export type JobsModelChange = { readonly kind: 'reset'; readonly backend?: string } | { readonly kind: 'job'; readonly backend: string; readonly job: TrainingJob };

/** A job with its backend. */
export interface JobEntry {
  readonly backend: string;
  readonly job: TrainingJob;
}

class BackendJobs {
  readonly jobs = new Map<string, TrainingJob>();
  sorted: TrainingJob[] | undefined;
  nameCounts: Map<string, number> | undefined;
  loading: Promise<void> | undefined;
  loadError: string | undefined;
  /** Changes that arrive while a load is in flight: newer than what the load returns. */
  changedDuringLoad: Map<string, JobChange> | undefined;
  /** For a backend listed by pages: the next page the service has, if any. */
  nextPage: number | undefined;

  list(): readonly TrainingJob[] {
    this.sorted ??= [...this.jobs.values()].sort((a, b) => b.metadata.create_time - a.metadata.create_time);
    return this.sorted;
  }

  reshaped(): void {
    this.sorted = undefined;
    this.nameCounts = undefined;
  }
}

export class JobsModel implements vscode.Disposable {
  private readonly backends = new Map<string, BackendJobs>();
  private allEntries: JobEntry[] | undefined;
  private readonly changeEmitter = new vscode.EventEmitter<JobsModelChange>();
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscriptions: Array<{ dispose(): void }> = [];
  private serviceFilter: { readonly phases?: readonly string[]; readonly name?: string } = {};

  constructor(
    private readonly registry: BackendRegistry,
    private readonly log: Logger,
  ) {
    for (const backend of registry.list()) this.backends.set(backend.id, new BackendJobs());
    this.subscriptions.push(
      this.changeEmitter,
      registry.onDidChangeJob((change) => this.apply(change.backend, change)),
      registry.onDidChangeState(({ backend, state }) => {
        if (state.kind === 'available') void this.reload(backend);
        else this.changeEmitter.fire({ kind: 'reset', backend });
      }),
      registry.onDidChangeBackends(({ added, removed }) => {
        if (added) {
          this.backends.set(added.id, new BackendJobs());
          if (added.state.kind === 'available') void this.reload(added.id);
        }
        if (removed) this.backends.delete(removed.id);
        this.allEntries = undefined;
        this.changeEmitter.fire({ kind: 'reset' });
      }),
    );
  }

  private apply(backend: string, change: JobChange): void {
    const jobs = this.backends.get(backend);
    if (!jobs) return;
    jobs.changedDuringLoad?.set(change.job.metadata.id, change);
    if (change.kind === 'deleted') jobs.jobs.delete(change.job.metadata.id);
    else jobs.jobs.set(change.job.metadata.id, change.job);
    const reorder = change.kind !== 'updated';
    if (reorder) {
      jobs.reshaped();
      this.allEntries = undefined;
    } else if (jobs.sorted) {
      jobs.sorted = jobs.sorted.map((job) => (job.metadata.id === change.job.metadata.id ? change.job : job));
      if (this.allEntries) this.allEntries = this.allEntries.map((entry) => (entry.backend === backend && entry.job.metadata.id === change.job.metadata.id ? { backend, job: change.job } : entry));
    }
    this.changeEmitter.fire(reorder ? { kind: 'reset', backend } : { kind: 'job', backend, job: change.job });
  }

  /** A backend's jobs, newest first. */
  list(backend: string): readonly TrainingJob[] {
    return this.backends.get(backend)?.list() ?? [];
  }

  /** Every backend's jobs, newest first. */
  all(): readonly JobEntry[] {
    this.allEntries ??= [...this.backends.entries()]
      .flatMap(([backend, jobs]) => jobs.list().map((job) => ({ backend, job })))
      .sort((a, b) => b.job.metadata.create_time - a.job.metadata.create_time);
    return this.allEntries;
  }

  get(ref: JobRef): TrainingJob | undefined {
    return this.backends.get(ref.backend)?.jobs.get(ref.id);
  }

  /** The backends that hold a job with this id (ids are unique within a backend only). */
  backendsOf(id: string): string[] {
    return [...this.backends.entries()].filter(([, jobs]) => jobs.jobs.has(id)).map(([backend]) => backend);
  }

  /** Whether another job of the backend carries this job's name (ModelArts allows that; rows and channels then show the id). */
  sharesName(backend: string, job: TrainingJob): boolean {
    const jobs = this.backends.get(backend);
    if (!jobs) return false;
    if (!jobs.nameCounts) {
      jobs.nameCounts = new Map();
      for (const each of jobs.jobs.values()) jobs.nameCounts.set(each.metadata.name, (jobs.nameCounts.get(each.metadata.name) ?? 0) + 1);
    }
    return (jobs.nameCounts.get(job.metadata.name) ?? 0) > 1;
  }

  /** Why the last load of a backend's jobs failed, until one succeeds. */
  loadError(backend: string): string | undefined {
    return this.backends.get(backend)?.loadError;
  }

  /** Loads a backend's jobs again (every backend's without one). */
  async reload(backend?: string): Promise<void> {
    const ids = backend ? [backend] : [...this.backends.keys()];
    await Promise.all(ids.map((id) => this.load(id)));
  }

  private load(id: string): Promise<void> {
    const jobs = this.backends.get(id);
    const backend = this.registry.get(id);
    if (!jobs || !backend) return Promise.resolve();
    jobs.loading ??= (async () => {
      jobs.changedDuringLoad = new Map();
      try {
        // A backend listed by pages gives its first page (the service's filters applied); the rest on "Load more".
        let listed: readonly TrainingJob[];
        if (backend.jobPages) {
          const first = await backend.jobPages.searchJobs({ page: 0, ...this.serviceFilter });
          listed = first.jobs;
          jobs.nextPage = first.more ? 1 : undefined;
        } else {
          listed = await backend.listJobs();
          jobs.nextPage = undefined;
        }
        jobs.jobs.clear();
        for (const job of listed) jobs.jobs.set(job.metadata.id, job);
        for (const { kind, job } of jobs.changedDuringLoad.values()) {
          if (kind === 'deleted') jobs.jobs.delete(job.metadata.id);
          else jobs.jobs.set(job.metadata.id, job);
        }
        jobs.loadError = undefined;
      } catch (error) {
        jobs.loadError = errorMessage(error);
        this.log.error(`Could not load the training jobs of ${backend.displayName}: ${jobs.loadError}`);
      } finally {
        jobs.changedDuringLoad = undefined;
        jobs.reshaped();
        jobs.loading = undefined;
        this.allEntries = undefined;
        this.changeEmitter.fire({ kind: 'reset', backend: id });
      }
    })();
    return jobs.loading;
  }

  /** Whether the service holds more of a paged backend's jobs than were loaded. */
  hasMore(backend: string): boolean {
    return this.backends.get(backend)?.nextPage !== undefined;
  }

  /** Loads the next page of a paged backend's jobs (the filter still applied by the service). */
  async loadNextPage(id: string): Promise<void> {
    const jobs = this.backends.get(id);
    const backend = this.registry.get(id);
    if (!jobs || !backend?.jobPages) return;
    // One load at a time: a second "Load more" waits for the first, then asks for the page after it.
    if (jobs.loading) {
      await jobs.loading;
      return this.loadNextPage(id);
    }
    if (jobs.nextPage === undefined) return;
    const page = jobs.nextPage;
    jobs.loading = (async () => {
      try {
        const next = await backend.jobPages?.searchJobs({ page, ...this.serviceFilter });
        for (const job of next?.jobs ?? []) if (!jobs.jobs.has(job.metadata.id)) jobs.jobs.set(job.metadata.id, job);
        jobs.nextPage = next?.more ? page + 1 : undefined;
      } catch (error) {
        jobs.loadError = errorMessage(error);
      } finally {
        jobs.reshaped();
        jobs.loading = undefined;
        this.allEntries = undefined;
        this.changeEmitter.fire({ kind: 'reset', backend: id });
      }
    })();
    return jobs.loading;
  }

  /** The view's filter, passed to paged backends' services (which then list only what matches). */
  setServiceFilter(filter: { readonly phases?: readonly string[]; readonly name?: string }): void {
    const next = { ...(filter.phases?.length ? { phases: [...filter.phases] } : {}), ...(filter.name ? { name: filter.name } : {}) };
    if (JSON.stringify(next) === JSON.stringify(this.serviceFilter)) return;
    this.serviceFilter = next;
    for (const backend of this.registry.list()) if (backend.jobPages && backend.state.kind === 'available') void this.reload(backend.id);
  }

  dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}

