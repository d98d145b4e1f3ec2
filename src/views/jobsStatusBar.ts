/**
 * The status bar item: how many jobs run and wait, spinning while any runs; a click reveals the
 * Training Jobs view. Redrawn from the model's change events, never on a timer.
 */
import * as vscode from 'vscode';
import type { TrainingBackend } from '../backends/trainingBackend';
import type { JobsModel } from './jobsModel';

export function jobCounts(model: JobsModel): { running: number; queued: number } {
  let running = 0;
  let queued = 0;
  for (const job of model.list()) {
    if (job.status.phase === 'Running' || job.status.phase === 'Terminating') running++;
    else if (job.status.phase === 'Pending' || job.status.phase === 'Creating') queued++;
  }
  return { running, queued };
}

export class JobsStatusBar implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('modelarts.jobs', vscode.StatusBarAlignment.Left, 50);
  private readonly subscriptions: vscode.Disposable[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly model: JobsModel,
    private readonly engine: TrainingBackend,
  ) {
    this.item.name = 'ModelArts Training Jobs';
    this.item.command = { command: 'modelarts.jobs.focus', title: 'Show Training Jobs' };
    this.subscriptions = [this.item, model.onDidChange(() => this.scheduleUpdate()), engine.onDidChangeState(() => this.scheduleUpdate())];
    this.update();
  }

  private scheduleUpdate(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, 50);
  }

  update(): void {
    const state = this.engine.state;
    if (state.kind === 'unavailable') {
      this.item.text = '$(warning) ModelArts';
      this.item.tooltip = `Training engine not reachable: ${state.reason}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else {
      const { running, queued } = jobCounts(this.model);
      const parts = [running ? `${running} running` : '', queued ? `${queued} queued` : ''].filter(Boolean);
      this.item.text = `${running ? '$(sync~spin)' : '$(beaker)'} ${parts.length ? parts.join(', ') : 'ModelArts'}`;
      this.item.tooltip = parts.length ? `Training jobs: ${parts.join(', ')} (${this.engine.displayName}). Click to show them.` : `No training job is running (${this.engine.displayName}). Click to show the jobs.`;
      this.item.backgroundColor = undefined;
    }
    this.item.accessibilityInformation = { label: `ModelArts: ${this.item.text.replace(/\$\([^)]*\)\s*/g, '')}` };
    this.item.show();
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}
