/**
 * Context keys that say which job actions make sense now, so the palette offers Stop, Copy or
 * Delete Training Job only when some job allows it (`modelarts.hasJobs`, `modelarts.hasStoppableJobs`,
 * `modelarts.hasDeletableJobs`, `modelarts.hasOutputs`). Set from the jobs model's changes, debounced.
 */
import * as vscode from 'vscode';
import { isActionAllowed } from '../core/lifecycle';
import type { JobsModel } from './jobsModel';

export class JobsContextKeys implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;
  private timer: NodeJS.Timeout | undefined;
  private readonly current = new Map<string, boolean>();

  constructor(
    private readonly model: JobsModel,
    /** Whether a job keeps an output on this machine. */
    private readonly hasLocalOutput: (backend: string, jobId: string, output: string) => boolean,
  ) {
    this.subscription = model.onDidChange(() => (this.timer ??= setTimeout(() => this.update(), 100)));
    this.update();
  }

  private update(): void {
    this.timer = undefined;
    const entries = this.model.all();
    this.set('modelarts.hasJobs', entries.length > 0);
    this.set('modelarts.hasStoppableJobs', entries.some(({ job }) => isActionAllowed('stop', job.status.phase)));
    this.set('modelarts.hasDeletableJobs', entries.some(({ job }) => isActionAllowed('delete', job.status.phase)));
    this.set('modelarts.hasOutputs', entries.some(({ backend, job }) => job.algorithm.outputs.some((output) => this.hasLocalOutput(backend, job.metadata.id, output.name))));
  }

  private set(key: string, value: boolean): void {
    if (this.current.get(key) === value) return;
    this.current.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.subscription.dispose();
  }
}
