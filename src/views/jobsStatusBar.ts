/**
 * The status bar item: how many jobs run and wait, spinning while any runs; a click reveals the
 * Training Jobs view. Redrawn from the model's change events, never on a timer.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import type { JobsModel } from './jobsModel';

export function jobCounts(model: JobsModel): { running: number; queued: number } {
  let running = 0;
  let queued = 0;
  for (const { job } of model.all()) {
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
    private readonly registry: BackendRegistry,
  ) {
    this.item.name = 'ModelArts Training Jobs';
    this.item.command = { command: 'modelarts.jobs.focus', title: 'Show Training Jobs' };
    this.subscriptions = [this.item, model.onDidChange(() => this.scheduleUpdate()), registry.onDidChangeState(() => this.scheduleUpdate()), registry.onDidChangeBackends(() => this.scheduleUpdate())];
    this.update();
  }

  private scheduleUpdate(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, 50);
  }

  update(): void {
    const backends = this.registry.list();
    const away = backends.filter((backend) => backend.state.kind === 'unavailable');
    if (away.length && away.length === backends.length) {
      this.item.text = '$(warning) ModelArts';
      this.item.tooltip = away.map((backend) => `${backend.displayName} not reachable: ${backend.state.kind === 'unavailable' ? backend.state.reason : ''}`).join('\n');
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else {
      const { running, queued } = jobCounts(this.model);
      const parts = [running ? `${running} running` : '', queued ? `${queued} queued` : ''].filter(Boolean);
      const where = backends.map((backend) => backend.displayName).join(', ');
      this.item.text = `${running ? '$(sync~spin)' : '$(beaker)'} ${parts.length ? parts.join(', ') : 'ModelArts'}`;
      this.item.tooltip = parts.length ? `Training jobs: ${parts.join(', ')} (${where}). Click to show them.` : `No training job is running (${where}). Click to show the jobs.`;
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
