/**
 * Progress of the Datasets commands: a cancellable notification for long transfers (Cancel aborts
 * every request in flight), a bar on the view for short work, and how counts are said.
 */
import * as vscode from 'vscode';
import { CancelledError } from '../../core/errors';
import { formatBytes } from '../../core/format';
import type { TransferProgress } from '../../storage/objectStore';

/** A cancellable notification for long transfers; Cancel aborts every request in flight. */
export function withTransferProgress<T>(title: string, initial: TransferProgress, work: (signal: AbortSignal, report: (progress: TransferProgress) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort(new CancelledError(title)));
    let shownPercent = 0;
    let shownAt = 0;
    const report = (p: TransferProgress) => {
      const percent = p.totalBytes ? Math.floor((p.bytes / p.totalBytes) * 100) : 0;
      // Stores report every chunk: repaint on a new percent or a finished object, at most ~4 times a second.
      if (Date.now() - shownAt < 250 && percent === shownPercent) return;
      shownAt = Date.now();
      // No increment until bytes move: the bar stays indeterminate (animated) rather than stuck at 0.
      const increment = percent - shownPercent;
      progress.report({ message: describeProgress(p), ...(increment > 0 ? { increment } : {}) });
      shownPercent = Math.max(shownPercent, percent);
    };
    report(initial);
    try {
      return await work(controller.signal, report);
    } finally {
      subscription.dispose();
    }
  });
}

/** Short work (a listing, one batch of deletions): a progress bar on the Datasets view. */
export function withViewProgress<T>(title: string, work: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: { viewId: 'modelarts.datasets' }, title }, work);
}

function describeProgress(p: TransferProgress): string {
  const files = p.totalObjects !== undefined ? `${p.objects} of ${countFiles(p.totalObjects)}` : countFiles(p.objects);
  const bytes = p.totalBytes !== undefined ? `${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}` : formatBytes(p.bytes);
  return `${files}, ${bytes}`;
}

export function countFiles(n: number): string {
  return `${n.toLocaleString('en-US')} file${n === 1 ? '' : 's'}`;
}

export function countObjects(n: number): string {
  return `${n.toLocaleString('en-US')} object${n === 1 ? '' : 's'}`;
}
