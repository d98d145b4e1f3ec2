/**
 * The composition root: builds every long-lived object once, in dependency order, and hands them
 * around explicitly. Nothing else constructs services.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ConfiguredStore } from './configuredStore';
import { LocalEngine } from './engine/local/localEngine';
import type { EngineState, TrainingEngine } from './engine/trainingEngine';
import { JobLogChannels } from './logs/jobLogChannels';
import { readSettings, type Settings } from './settings';
import { JobsModel } from './views/jobsModel';
import { JobsTreeProvider, type JobNode } from './views/jobsTree';
import { WelcomeOnlyTreeProvider } from './views/welcomeOnlyTree';

export interface Services {
  readonly context: vscode.ExtensionContext;
  readonly settings: Settings;
  /** The extension's own diagnostics ("ModelArts" in the Output panel). */
  readonly log: vscode.LogOutputChannel;
  readonly engine: TrainingEngine;
  /** The object store of datasets and job inputs/outputs that the settings name. */
  readonly stores: ConfiguredStore;
  readonly jobs: JobsModel;
  readonly jobsTree: JobsTreeProvider;
  readonly jobsView: vscode.TreeView<JobNode>;
  readonly jobLogs: JobLogChannels;
}

export function createServices(context: vscode.ExtensionContext): Services & vscode.Disposable {
  const disposables: vscode.Disposable[] = [];
  const own = <T extends vscode.Disposable>(item: T): T => {
    disposables.push(item);
    return item;
  };

  const log = own(vscode.window.createOutputChannel('ModelArts', { log: true }));
  const { settings, issues } = readSettings();
  let currentSettings = settings;
  for (const issue of issues) {
    log.warn(`Setting ${issue.field}: ${issue.message}; using its default.`);
    void vscode.window.showWarningMessage(`ModelArts: setting ${issue.field} ${issue.message}. Its default is used.`, 'Open Settings').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', issue.field);
    });
  }

  const dataDir = path.join(context.globalStorageUri.fsPath, 'local-engine');
  const stores = own(new ConfiguredStore(context.secrets, path.join(dataDir, 'object-store'), path.join(dataDir, 'storage-state'), log));
  void stores.apply(settings.storage);
  const engine = own(
    new LocalEngine({
      dataDir,
      dockerHost: settings.dockerHost,
      logger: log,
      capacity: settings.capacity,
      storeResolver: stores.resolver,
    }),
  );
  const jobs = own(new JobsModel(engine, log));
  const jobsTree = own(new JobsTreeProvider(jobs, engine));
  const jobsView = own(vscode.window.createTreeView('modelarts.jobs', { treeDataProvider: jobsTree, showCollapseAll: false }));
  own(jobsView.onDidChangeVisibility((e) => jobsTree.setVisible(e.visible)));
  jobsTree.setVisible(jobsView.visible);
  own(vscode.window.registerTreeDataProvider('modelarts.algorithms', new WelcomeOnlyTreeProvider()));
  own(vscode.window.registerTreeDataProvider('modelarts.datasets', new WelcomeOnlyTreeProvider()));
  const jobLogs = own(new JobLogChannels(engine));

  // `when` clauses and welcome views follow the engine's reachability.
  const publishState = (state: EngineState) => {
    void vscode.commands.executeCommand('setContext', 'modelarts.engineState', state.kind);
  };
  own(engine.onDidChangeState(publishState));

  own(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('modelarts')) return;
      const { settings: changed, issues } = readSettings();
      currentSettings = changed;
      for (const issue of issues) log.warn(`Setting ${issue.field}: ${issue.message}; using its default.`);
      if (event.affectsConfiguration('modelarts.local.capacity')) engine.setCapacity(changed.capacity);
      if (event.affectsConfiguration('modelarts.storage')) void stores.apply(changed.storage);
      if (event.affectsConfiguration('modelarts.local.dockerHost') || event.affectsConfiguration('modelarts.engine')) {
        void vscode.window
          .showInformationMessage('ModelArts: reload the window to connect to the new training engine.', 'Reload Window')
          .then((choice) => choice && vscode.commands.executeCommand('workbench.action.reloadWindow'));
      }
    }),
  );

  return {
    context,
    /** Always the settings as they are now. */
    get settings() {
      return currentSettings;
    },
    log,
    engine,
    stores,
    jobs,
    jobsTree,
    jobsView,
    jobLogs,
    dispose() {
      for (const item of disposables.splice(0).reverse()) item.dispose();
    },
  };
}
