/**
 * "Compare Metrics": one panel overlaying the training metrics of two or more jobs, one chart per
 * metric and one line per job, live while they run. Opening it again with other jobs reuses it;
 * it is restored after a window reload.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import { jobKey, type JobRef } from '../backends/jobRef';
import { backendNotice } from './backendNotice';
import { JobMetrics } from './jobMetrics';
import { webviewHtml, webviewRoot } from './webviewHtml';
import { COMPARE_PANEL_VIEW_TYPE, compareStateSchema, compareWebviewMessageSchema, type CompareHostMessage } from './protocol';

export interface ComparePanelHost {
  readonly backends: BackendRegistry;
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
  show(jobs: readonly JobRef[]): vscode.WebviewPanel {
    if (this.current) {
      this.current.compare(jobs);
      this.current.panel.reveal();
      return this.current.panel;
    }
    const panel = vscode.window.createWebviewPanel(COMPARE_PANEL_VIEW_TYPE, 'Compare Metrics', vscode.ViewColumn.Active, this.options());
    this.attach(panel, jobs);
    return panel;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const parsed = compareStateSchema.safeParse(state);
    if (!parsed.success) {
      panel.dispose();
      return;
    }
    panel.webview.options = this.options();
    this.attach(panel, parsed.data.jobs);
  }

  private options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [webviewRoot(this.host.extensionUri)] };
  }

  private attach(panel: vscode.WebviewPanel, jobs: readonly JobRef[]): void {
    this.current?.panel.dispose();
    this.current = new ComparePanel(panel, jobs, this.host, () => (this.current = undefined));
  }

  dispose(): void {
    this.registration.dispose();
    this.current?.panel.dispose();
  }
}

function toDisposable(disposable: { dispose(): void }): vscode.Disposable {
  return { dispose: () => disposable.dispose() };
}

class ComparePanel {
  private readonly disposables: vscode.Disposable[] = [];
  private followers: JobMetrics[] = [];
  private ready = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private jobs: readonly JobRef[],
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
      toDisposable(
        host.backends.onDidChangeJob((change) => {
          if (this.jobs.some((ref) => ref.backend === change.backend && ref.id === change.job.metadata.id)) void this.sendJobs();
        }),
      ),
      // Restored before a backend was set up or connected: its jobs fill in once it answers.
      toDisposable(host.backends.onDidChangeBackends(() => this.ready && void this.sendAll())),
      toDisposable(host.backends.onDidChangeState(({ backend }) => this.ready && this.jobs.some((ref) => ref.backend === backend) && void this.sendAll())),
    );
  }

  /** Compares other jobs in this panel. */
  compare(jobs: readonly JobRef[]): void {
    this.jobs = jobs;
    this.stopFollowing();
    if (this.ready) void this.sendAll();
  }

  private async sendAll(): Promise<void> {
    await this.sendJobs();
    this.stopFollowing();
    this.followers = this.jobs.flatMap((ref) => {
      const backend = this.host.backends.get(ref.backend);
      if (!backend || backendNotice(backend, ref.backend) !== undefined) return [];
      const key = jobKey(ref);
      return [
        new JobMetrics(
          backend,
          ref.id,
          this.host.metricsPattern(),
          (message) => {
            if (message.type === 'metrics') this.post({ type: 'jobMetrics', jobId: key, series: message.series, reset: message.reset });
          },
          this.host.log,
        ),
      ];
    });
    for (const follower of this.followers) follower.start();
  }

  private async sendJobs(): Promise<void> {
    const jobs = await Promise.all(this.jobs.map((ref) => this.host.backends.get(ref.backend)?.getJob(ref.id).catch(() => undefined)));
    // Across backends each job says where it ran (a local run against a cloud run).
    const several = new Set(this.jobs.map((ref) => ref.backend)).size > 1;
    this.post({
      type: 'jobs',
      jobs: this.jobs.map((ref, index) => {
        const job = jobs[index];
        const backend = this.host.backends.get(ref.backend);
        const where = several ? ` · ${backend?.displayName ?? ref.backend}` : '';
        if (!job && backendNotice(backend, ref.backend) !== undefined) return { id: jobKey(ref), name: `${ref.id} (waiting for ${backend?.displayName ?? ref.backend})${where}`, phase: 'Waiting' };
        return { id: jobKey(ref), name: `${job?.metadata.name ?? `${ref.id} (deleted)`}${where}`, phase: job?.status.phase ?? 'Deleted' };
      }),
      state: { jobs: this.jobs.map((ref) => ({ backend: ref.backend, id: ref.id })) },
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
