/**
 * When the window asks polling backends (ModelArts) for job changes: while the Training Jobs view
 * is visible or the window has focus (its status bar counts and notifications are seen). A window
 * in the background with the view closed asks nothing; open panels and followed logs watch their
 * own jobs meanwhile.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';

export function watchWhileLooked(registry: BackendRegistry, view: vscode.TreeView<unknown>): vscode.Disposable {
  let watch: { dispose(): void } | undefined;
  const update = () => {
    const looked = view.visible || vscode.window.state.focused;
    if (looked && !watch) watch = registry.watch();
    else if (!looked && watch) {
      watch.dispose();
      watch = undefined;
    }
  };
  const subscriptions = [view.onDidChangeVisibility(update), vscode.window.onDidChangeWindowState(update)];
  update();
  return new vscode.Disposable(() => {
    for (const subscription of subscriptions) subscription.dispose();
    watch?.dispose();
  });
}
