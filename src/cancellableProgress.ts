/**
 * Long work in a notification with Cancel: Cancel aborts the signal the work was given, so it
 * reaches the container or the network; the work's messages become the notification's.
 */
import * as vscode from 'vscode';

export function withCancellableProgress<T>(title: string, work: (signal: AbortSignal, report: (message: string) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort());
    try {
      return await work(controller.signal, (message) => progress.report({ message }));
    } finally {
      subscription.dispose();
    }
  });
}
