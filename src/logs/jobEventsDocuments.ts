/**
 * A job's events as a read-only document (`modelarts-events:/<backend>/<id>/<name> events`), newest
 * first and live: an event its backend adds for an open document redraws it. The details panel
 * shows them in a grid; this keeps them one click away from the tree and the palette.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import { jobKey, type JobRef } from '../backends/jobRef';
import type { JobEvent } from '../core/jobEvent';

export const EVENTS_SCHEME = 'modelarts-events';
const REDRAW_MS = 200;

export class JobEventsDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[];
  private readonly pending = new Map<string, NodeJS.Timeout>();

  private readonly registrySubscriptions: Array<{ dispose(): void }>;

  constructor(private readonly registry: BackendRegistry) {
    this.subscriptions = [this.changeEmitter, vscode.workspace.registerTextDocumentContentProvider(EVENTS_SCHEME, this)];
    this.registrySubscriptions = [
      registry.onDidAddEvent(({ backend, jobId }) => this.redrawLater({ backend, id: jobId })),
      registry.onDidChangeJob(({ backend, job }) => this.redrawLater({ backend, id: job.metadata.id })),
    ];
  }

  uriFor(ref: JobRef, jobName: string): vscode.Uri {
    return vscode.Uri.from({ scheme: EVENTS_SCHEME, path: `/${encodeURIComponent(ref.backend)}/${ref.id}/${jobName} events` });
  }

  private refOf(uri: vscode.Uri): JobRef {
    const [backend, id] = uri.path.split('/').filter(Boolean);
    return { backend: decodeURIComponent(backend ?? ''), id: id ?? '' };
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const ref = this.refOf(uri);
    const backend = this.registry.get(ref.backend);
    const job = await backend?.getJob(ref.id);
    if (!backend || !job) return 'This training job no longer exists.\n';
    const events = await backend.listEvents(ref.id);
    return `Events of training job ${job.metadata.name} (${job.status.phase}), newest first\n\n${formatEvents(events)}`;
  }

  private redrawLater(ref: JobRef): void {
    const key = jobKey(ref);
    const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === EVENTS_SCHEME && jobKey(this.refOf(d.uri)) === key);
    if (!open || this.pending.has(key)) return;
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        this.changeEmitter.fire(open.uri);
      }, REDRAW_MS),
    );
  }

  dispose(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    for (const subscription of [...this.subscriptions.splice(0), ...this.registrySubscriptions.splice(0)]) subscription.dispose();
  }
}

export function formatEvents(events: readonly JobEvent[]): string {
  return [...events]
    .reverse()
    .map((event) => `${event.time.replace('T', ' ').slice(0, 23)}  ${event.level.padEnd(7)}  ${event.source.padEnd(6)}  ${event.message}`)
    .join('\n')
    .concat('\n');
}
