/**
 * "Compare Metrics": one panel overlaying the training metrics of two or more jobs, one chart per
 * metric and one line per job, live while they run. Opening it again with other jobs reuses it;
 * it is restored after a window reload.
 */
import * as vscode from 'vscode';
import type { TrainingBackend } from '../backends/trainingBackend';
import { JobMetrics } from './jobMetrics';
import { webviewHtml, webviewRoot } from './webviewHtml';
import { COMPARE_PANEL_VIEW_TYPE, compareStateSchema, compareWebviewMessageSchema, type CompareHostMessage } from './protocol';

export interface ComparePanelHost {
  readonly engine: TrainingBackend;
  readonly extensionUri: vscode.Uri;
  readonly log: vscode.LogOutputChannel;
  readonly metricsPattern: () => string | undefined;
}

export class ComparePanels implements vscode.WebviewPanelSerializer, vscode.Disposable {
  private current: ComparePanel | undefined;
  private readonly registration: vscode.Disposable;

  constructor(private readonly host: ComparePanelHost) {
    this.registration = vscode.window.registerWebviewPanelSerializer(COMPARE_PANEL_VIEW_TYPE, this);
  }

  /** Shows these jobs compared (at least two), in the open compare panel if there is one. */
  show(jobIds: readonly string[]): vscode.WebviewPanel {
    if (this.current) {
      this.current.compare(jobIds);
      this.current.panel.reveal();
      return this.current.panel;
    }
    const panel = vscode.window.createWebviewPanel(COMPARE_PANEL_VIEW_TYPE, 'Compare Metrics', vscode.ViewColumn.Active, this.options());
    this.attach(panel, jobIds);
    return panel;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const parsed = compareStateSchema.safeParse(state);
    if (!parsed.success) {
      panel.dispose();
      return;
    }
    panel.webview.options = this.options();
    this.attach(panel, parsed.data.jobIds);
  }

  private options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [webviewRoot(this.host.extensionUri)] };
  }

  private attach(panel: vscode.WebviewPanel, jobIds: readonly string[]): void {
    this.current?.panel.dispose();
    this.current = new ComparePanel(panel, jobIds, this.host, () => (this.current = undefined));
  }

  dispose(): void {
    this.registration.dispose();
    this.current?.panel.dispose();
  }
}

class ComparePanel {
  private readonly disposables: vscode.Disposable[] = [];
  private followers: JobMetrics[] = [];
  private ready = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private jobIds: readonly string[],
    private readonly host: ComparePanelHost,
    private readonly forget: () => void,
  ) {
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'modelarts.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const parsed = compareWebviewMessageSchema.safeParse(raw);
        if (!parsed.success) {
          host.log.warn('Compare Metrics: ignoring a malformed message from the webview');
          return;
        }
        this.ready = true;
        void this.sendAll();
      }),
      panel.onDidDispose(() => this.dispose()),
      host.engine.onDidChangeJob((change) => {
        if (this.jobIds.includes(change.job.metadata.id)) void this.sendJobs();
      }),
    );
  }

  /** Compares other jobs in this panel. */
  compare(jobIds: readonly string[]): void {
    this.jobIds = jobIds;
    this.stopFollowing();
    if (this.ready) void this.sendAll();
  }

  private async sendAll(): Promise<void> {
    await this.sendJobs();
    this.stopFollowing();
    this.followers = this.jobIds.map(
      (jobId) =>
        new JobMetrics(
          this.host.engine,
          jobId,
          this.host.metricsPattern(),
          (message) => {
            if (message.type === 'metrics') this.post({ type: 'jobMetrics', jobId, series: message.series, reset: message.reset });
          },
          this.host.log,
        ),
    );
    for (const follower of this.followers) follower.start();
  }

  private async sendJobs(): Promise<void> {
    const jobs = await Promise.all(this.jobIds.map((id) => this.host.engine.getJob(id)));
    this.post({
      type: 'jobs',
      jobs: this.jobIds.map((id, index) => ({ id, name: jobs[index]?.metadata.name ?? `${id} (deleted)`, phase: jobs[index]?.status.phase ?? 'Deleted' })),
    });
    this.panel.title = `Compare: ${jobs.map((job) => job?.metadata.name ?? '?').join(', ')}`.slice(0, 80);
  }

  private post(message: CompareHostMessage): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private stopFollowing(): void {
    for (const follower of this.followers.splice(0)) follower.dispose();
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.host.extensionUri, { script: 'comparePanel.js', title: 'Compare Metrics', data: {} });
  }

  private dispose(): void {
    this.stopFollowing();
    this.forget();
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
  }
}
