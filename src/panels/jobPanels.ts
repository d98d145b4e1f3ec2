/**
 * Job details panels: one webview panel per job (opening it again reveals it), with the overview,
 * events and metrics, updated live from the engine's events and restored after a window reload.
 * The host waits for the webview's `ready` before it posts, checks every message with zod, and
 * serves the bundle from dist/webview only, under a strict CSP with a nonce.
 */
import * as vscode from 'vscode';
import { taskCommand } from '../core/contract';
import { errorMessage } from '../core/errors';
import type { TrainingJob } from '../core/job';
import type { JobEvent } from '../core/jobEvent';
import { isActionAllowed } from '../core/lifecycle';
import type { BackendRegistry } from '../backends/backendRegistry';
import type { TrainingBackend } from '../backends/trainingBackend';
import { jobKey, LOCAL_BACKEND_ID, type JobRef } from '../backends/jobRef';
import { JOB_PANEL_VIEW_TYPE, PANEL_ACTIONS, panelStateSchema, webviewMessageSchema, type HostMessage, type PanelAction } from './protocol';
import { backendNotice, whenBackendReady } from './backendNotice';
import { JobMetrics } from './jobMetrics';
import { webviewHtml, webviewRoot } from './webviewHtml';

export interface JobPanelHost {
  readonly backends: BackendRegistry;
  readonly extensionUri: vscode.Uri;
  readonly log: vscode.LogOutputChannel;
  /** Runs a panel action as the tree's context menu would (with its confirmations). */
  readonly runAction: (action: PanelAction, ref: JobRef, job: TrainingJob) => Promise<unknown>;
  /** Reveals an input or output of the job (Datasets view or the file system). */
  readonly reveal: (ref: JobRef, job: TrainingJob, kind: 'input' | 'output', name: string) => Promise<unknown>;
  /** The metrics line pattern setting, read when a panel opens. */
  readonly metricsPattern: () => string | undefined;
}

export class JobPanels implements vscode.WebviewPanelSerializer, vscode.Disposable {
  private readonly panels = new Map<string, JobPanel>();
  private readonly registration: vscode.Disposable;

  constructor(private readonly host: JobPanelHost) {
    this.registration = vscode.window.registerWebviewPanelSerializer(JOB_PANEL_VIEW_TYPE, this);
  }

  /** Opens the job's panel, or reveals it when it is open. */
  async show(ref: JobRef, job: TrainingJob): Promise<vscode.WebviewPanel> {
    const open = this.panels.get(jobKey(ref));
    if (open) {
      open.panel.reveal();
      return open.panel;
    }
    const panel = vscode.window.createWebviewPanel(JOB_PANEL_VIEW_TYPE, panelTitle(job), vscode.ViewColumn.Active, this.options());
    this.attach(panel, ref);
    return panel;
  }

  /** The open panel of a job, if any (for tests and commands). */
  panelOf(ref: JobRef): vscode.WebviewPanel | undefined {
    return this.panels.get(jobKey(ref))?.panel;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const parsed = panelStateSchema.safeParse(state);
    if (!parsed.success) {
      this.host.log.warn('A job panel could not be restored: its saved state names no job');
      panel.dispose();
      return;
    }
    panel.webview.options = this.options();
    this.attach(panel, { backend: parsed.data.backend ?? LOCAL_BACKEND_ID, id: parsed.data.jobId });
  }

  private options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, retainContextWhenHidden: false, enableFindWidget: true, localResourceRoots: [webviewRoot(this.host.extensionUri)] };
  }

  private attach(panel: vscode.WebviewPanel, ref: JobRef): void {
    const key = jobKey(ref);
    const jobPanel = new JobPanel(panel, ref, this.host, () => this.panels.delete(key));
    this.panels.set(key, jobPanel);
  }

  dispose(): void {
    this.registration.dispose();
    for (const panel of [...this.panels.values()]) panel.panel.dispose();
  }
}

function panelTitle(job: TrainingJob): string {
  return `Job: ${job.metadata.name}`;
}

class JobPanel {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private job: TrainingJob | undefined;
  private metrics: JobMetrics | undefined;
  /** While the backend cannot answer: the wait for it. */
  private waiting: { dispose(): void } | undefined;
  private pendingEvents: JobEvent[] = [];
  /** A polling backend polls the job, its metrics included, while its panel is open. */
  private watching: { readonly backend: TrainingBackend; readonly watch: { dispose(): void } } | undefined;
  private flushTimer: NodeJS.Timeout | undefined;

  private readonly jobId: string;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly ref: JobRef,
    private readonly host: JobPanelHost,
    private readonly forget: () => void,
  ) {
    this.jobId = ref.id;
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'modelarts.svg');
    panel.webview.html = this.html();
    const own = (subscription: { dispose(): void }) => this.disposables.push({ dispose: () => subscription.dispose() });
    this.disposables.push({ dispose: () => (this.metrics?.dispose(), this.waiting?.dispose(), this.watching?.watch.dispose()) }, panel.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)), panel.onDidDispose(() => this.dispose()));
    own(
      host.backends.onDidChangeJob((change) => {
        if (change.backend !== ref.backend || change.job.metadata.id !== ref.id) return;
        if (change.kind === 'deleted') {
          this.post({ type: 'removed' });
          return;
        }
        this.job = change.job;
        this.postJob();
      }),
    );
    own(
      host.backends.onDidAddEvent(({ backend: from, jobId: id, event }) => {
        if (from !== ref.backend || id !== ref.id || !this.ready) return;
        // Events come in bursts (a phase change brings several): one message per burst.
        this.pendingEvents.push(event);
        this.flushTimer ??= setTimeout(() => this.flushEvents(), 50);
      }),
    );
  }

  private get backend() {
    return this.host.backends.get(this.ref.backend);
  }

  private async receive(raw: unknown): Promise<void> {
    const parsed = webviewMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.host.log.warn(`Job panel ${this.jobId}: ignoring a malformed message: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')}`);
      return;
    }
    const message = parsed.data;
    try {
      switch (message.type) {
        case 'ready':
          await this.sendAll();
          break;
        case 'action': {
          const job = this.job ?? (await this.backend?.getJob(this.jobId));
          if (job) await this.host.runAction(message.action, this.ref, job);
          break;
        }
        case 'reveal': {
          const job = this.job;
          if (job) await this.host.reveal(this.ref, job, message.kind, message.name);
          break;
        }
      }
    } catch (error) {
      void vscode.window.showErrorMessage(errorMessage(error));
    }
  }

  /** Everything, after the webview said it is ready (again after it was hidden and shown). */
  private async sendAll(): Promise<void> {
    this.ready = true;
    const backend = this.backend;
    const notice = backendNotice(backend, this.ref.backend);
    let job: TrainingJob | undefined;
    try {
      job = notice === undefined ? await backend?.getJob(this.jobId) : undefined;
    } catch (error) {
      this.waitForBackend(`${backend?.displayName ?? this.ref.backend} could not be asked for this job: ${errorMessage(error)}`);
      return;
    }
    if (notice !== undefined || !backend) {
      this.waitForBackend(notice ?? '');
      return;
    }
    if (!job) {
      this.post({ type: 'removed' });
      return;
    }
    this.job = job;
    this.postJob();
    this.watch(backend);
    // Metrics start reading the log while the events are listed: neither waits for the other.
    this.metrics ??= new JobMetrics(backend, this.jobId, this.host.metricsPattern(), (message) => this.post(message), this.host.log);
    this.metrics.start();
    this.pendingEvents = [];
    this.post({ type: 'events', events: await backend.listEvents(this.jobId), reset: true });
  }

  private watch(backend: TrainingBackend): void {
    if (this.watching?.backend === backend || !backend.polling) return;
    this.watching?.watch.dispose();
    this.watching = { backend, watch: backend.polling.watch(this.jobId) };
  }

  /** Says why the panel is empty and fills it in once the backend answers. */
  private waitForBackend(message: string): void {
    this.post({ type: 'unreachable', message });
    this.waiting?.dispose();
    this.waiting = whenBackendReady(this.host.backends, this.ref.backend, () => void this.sendAll());
  }

  private flushEvents(): void {
    this.flushTimer = undefined;
    const events = this.pendingEvents.splice(0);
    if (events.length) this.post({ type: 'events', events, reset: false });
  }

  private postJob(): void {
    const job = this.job;
    if (!job || !this.ready) return;
    this.panel.title = panelTitle(job);
    this.post({
      type: 'job',
      job,
      command: taskCommand(job.algorithm),
      backend: this.backend?.displayName ?? this.ref.backend,
      actions: PANEL_ACTIONS.filter((action) => isActionAllowed(action, job.status.phase)),
    });
  }

  private post(message: HostMessage): void {
    if (!this.ready) return;
    void this.panel.webview.postMessage(message);
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.host.extensionUri, { script: 'jobPanel.js', title: 'Training job', data: { 'job-id': this.jobId, backend: this.ref.backend } });
  }

  private dispose(): void {
    clearTimeout(this.flushTimer);
    this.forget();
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
  }
}
