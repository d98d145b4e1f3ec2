/**
 * The jobs the sidebar shows: a cache of the engine's jobs kept current by the engine's change
 * events (no polling), newest first.
 */
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { JobChange, TrainingJob } from '../core/job';
import type { TrainingBackend } from '../backends/trainingBackend';

export type JobsModelChange = { readonly kind: 'reset' } | { readonly kind: 'job'; readonly job: TrainingJob };

export class JobsModel implements vscode.Disposable {
  private readonly jobs = new Map<string, TrainingJob>();
  private sorted: TrainingJob[] | undefined;
  /** How many jobs carry each name; rebuilt when the list changes shape. */
  private nameCounts: Map<string, number> | undefined;
  private loading: Promise<void> | undefined;
  private lastLoadError: string | undefined;
  /** Changes that arrive while a load is in flight: newer than what the load returns. */
  private changedDuringLoad: Map<string, JobChange> | undefined;
  private readonly changeEmitter = new vscode.EventEmitter<JobsModelChange>();
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly engine: TrainingBackend,
    private readonly log: Logger,
  ) {
    this.subscriptions.push(
      this.changeEmitter,
      engine.onDidChangeJob((change) => {
        this.changedDuringLoad?.set(change.job.metadata.id, change);
        if (change.kind === 'deleted') this.jobs.delete(change.job.metadata.id);
        else this.jobs.set(change.job.metadata.id, change.job);
        const reorder = change.kind !== 'updated';
        if (reorder) {
          this.sorted = undefined;
          this.nameCounts = undefined;
        }
        else if (this.sorted) this.sorted = this.sorted.map((job) => (job.metadata.id === change.job.metadata.id ? change.job : job));
        this.changeEmitter.fire(reorder ? { kind: 'reset' } : { kind: 'job', job: change.job });
      }),
      engine.onDidChangeState((state) => {
        if (state.kind === 'available') void this.reload();
        else this.changeEmitter.fire({ kind: 'reset' });
      }),
    );
  }

  /** Every job, newest first. */
  list(): readonly TrainingJob[] {
    this.sorted ??= [...this.jobs.values()].sort((a, b) => b.metadata.create_time - a.metadata.create_time);
    return this.sorted;
  }

  /** Whether another job carries this job's name (ModelArts allows that; rows and channels then show the id). */
  sharesName(job: TrainingJob): boolean {
    if (!this.nameCounts) {
      this.nameCounts = new Map();
      for (const each of this.jobs.values()) this.nameCounts.set(each.metadata.name, (this.nameCounts.get(each.metadata.name) ?? 0) + 1);
    }
    return (this.nameCounts.get(job.metadata.name) ?? 0) > 1;
  }

  /** Why the last load failed, until one succeeds. */
  get loadError(): string | undefined {
    return this.lastLoadError;
  }

  get(id: string): TrainingJob | undefined {
    return this.jobs.get(id);
  }

  reload(): Promise<void> {
    this.loading ??= (async () => {
      this.changedDuringLoad = new Map();
      try {
        const jobs = await this.engine.listJobs();
        this.jobs.clear();
        for (const job of jobs) this.jobs.set(job.metadata.id, job);
        for (const { kind, job } of this.changedDuringLoad.values()) {
          if (kind === 'deleted') this.jobs.delete(job.metadata.id);
          else this.jobs.set(job.metadata.id, job);
        }
        this.lastLoadError = undefined;
      } catch (error) {
        this.lastLoadError = errorMessage(error);
        this.log.error(`Could not load the training jobs: ${this.lastLoadError}`);
      } finally {
        this.changedDuringLoad = undefined;
        this.sorted = undefined;
        this.nameCounts = undefined;
        this.loading = undefined;
        this.changeEmitter.fire({ kind: 'reset' });
      }
    })();
    return this.loading;
  }

  dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}
