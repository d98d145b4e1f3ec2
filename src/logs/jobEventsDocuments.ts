/**
 * A job's events as a read-only document (`modelarts-events:/<id>/<name> events`), newest first and
 * live: an event the engine adds for an open document redraws it. The details panel shows them
 * in a grid later; this keeps them one click away from the tree and the palette now.
 */
import * as vscode from 'vscode';
import type { JobEvent } from '../core/jobEvent';
import type { TrainingBackend } from '../backends/trainingBackend';

export const EVENTS_SCHEME = 'modelarts-events';
const REDRAW_MS = 200;

export class JobEventsDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[];
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly engine: TrainingBackend) {
    this.subscriptions = [
      this.changeEmitter,
      vscode.workspace.registerTextDocumentContentProvider(EVENTS_SCHEME, this),
      engine.onDidAddEvent(({ jobId }) => this.redrawLater(jobId)),
      engine.onDidChangeJob(({ job }) => this.redrawLater(job.metadata.id)),
    ];
  }

  uriFor(jobId: string, jobName: string): vscode.Uri {
    return vscode.Uri.from({ scheme: EVENTS_SCHEME, path: `/${jobId}/${jobName} events` });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const jobId = uri.path.split('/')[1] ?? '';
    const job = await this.engine.getJob(jobId);
    if (!job) return 'This training job no longer exists.\n';
    const events = await this.engine.listEvents(jobId);
    return `Events of training job ${job.metadata.name} (${job.status.phase}), newest first\n\n${formatEvents(events)}`;
  }

  private redrawLater(jobId: string): void {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === EVENTS_SCHEME && d.uri.path.startsWith(`/${jobId}/`));
    if (!open || this.pending.has(jobId)) return;
    this.pending.set(
      jobId,
      setTimeout(() => {
        this.pending.delete(jobId);
        this.changeEmitter.fire(open.uri);
      }, REDRAW_MS),
    );
  }

  dispose(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}

export function formatEvents(events: readonly JobEvent[]): string {
  return [...events]
    .reverse()
    .map((event) => `${event.time.replace('T', ' ').slice(0, 23)}  ${event.level.padEnd(7)}  ${event.source.padEnd(6)}  ${event.message}`)
    .join('\n')
    .concat('\n');
}
