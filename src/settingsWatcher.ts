/**
 * Settings as they change: each read through its schema (a wrong value is named, with what it
 * allows, and its default used), and applied where they apply at once — the local capacity, the
 * object store — or with a reload (the Docker host).
 */
import * as vscode from 'vscode';
import type { ConfiguredStore } from './configuredStore';
import type { FieldIssue } from './core/errors';
import type { Logger } from './core/logger';
import type { LocalBackend } from './backends/local/localBackend';
import { readSettings, type Settings } from './settings';

export class SettingsWatcher implements vscode.Disposable {
  private current: Settings;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly log: Logger,
    private readonly apply: { readonly local: () => LocalBackend | undefined; readonly stores: () => ConfiguredStore | undefined },
  ) {
    const { settings, issues } = readSettings();
    this.current = settings;
    for (const issue of issues) this.warn(issue, true);
    this.subscription = vscode.workspace.onDidChangeConfiguration((event) => this.changed(event));
  }

  /** The settings as they are now. */
  get settings(): Settings {
    return this.current;
  }

  private warn(issue: FieldIssue, show: boolean): void {
    this.log.warn(`Setting ${issue.field}: ${issue.message}; using its default.`);
    if (!show) return;
    void vscode.window.showWarningMessage(`ModelArts: setting ${issue.field} ${issue.message}. Its default is used.`, 'Open Settings').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', issue.field);
    });
  }

  private changed(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration('modelarts')) return;
    const { settings, issues } = readSettings();
    this.current = settings;
    for (const issue of issues) this.warn(issue, event.affectsConfiguration(issue.field));
    if (event.affectsConfiguration('modelarts.local.capacity')) this.apply.local()?.setCapacity(settings.capacity);
    if (event.affectsConfiguration('modelarts.storage')) void this.apply.stores()?.apply(settings.storage);
    if (event.affectsConfiguration('modelarts.local.dockerHost')) {
      void vscode.window
        .showInformationMessage('ModelArts: reload the window to connect to the new Docker engine.', 'Reload Window')
        .then((choice) => choice && vscode.commands.executeCommand('workbench.action.reloadWindow'));
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
