/**
 * The status bar item: how many jobs run and wait, spinning while any runs; a click reveals the
 * Training Jobs view. Redrawn from the model's change events, never on a timer.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import type { JobsModel } from './jobsModel';
import { describeUnready } from './jobsTreeNodes';

/** Running and queued jobs, of every backend or of one. */
export function jobCounts(model: JobsModel, backend?: string): { running: number; queued: number } {
  let running = 0;
  let queued = 0;
  for (const entry of model.all()) {
    if (backend !== undefined && entry.backend !== backend) continue;
    const { phase } = entry.job.status;
    if (phase === 'Running' || phase === 'Terminating') running++;
    else if (phase === 'Pending' || phase === 'Creating') queued++;
  }
  return { running, queued };
}

function describeCounts({ running, queued }: { running: number; queued: number }): string {
  return [running ? `${running} running` : '', queued ? `${queued} queued` : ''].filter(Boolean).join(', ');
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
      const total = jobCounts(this.model);
      const summary = describeCounts(total);
      // Per backend, each with its own counts (or its state when it cannot answer).
      const lines = backends.map((backend) => {
        const state = describeUnready(backend.state) ?? (describeCounts(jobCounts(this.model, backend.id)) || 'nothing running');
        return `${backend.displayName}: ${state}`;
      });
      this.item.text = `${total.running ? '$(sync~spin)' : '$(beaker)'} ${summary || 'ModelArts'}`;
      this.item.tooltip = `${summary ? `Training jobs: ${summary}` : 'No training job is running'}\n${lines.join('\n')}\nClick to show them.`;
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
