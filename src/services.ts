/**
 * The composition root: builds every long-lived object once, in dependency order, and hands them
 * around explicitly. Nothing else constructs services.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ConfiguredStore } from './configuredStore';
import type { FieldIssue } from './core/errors';
import { LocalBackend } from './backends/local/localBackend';
import type { BackendState, TrainingBackend } from './backends/trainingBackend';
import { JobLogChannels } from './logs/jobLogChannels';
import { readSettings, type Settings } from './settings';
import { JobsModel } from './views/jobsModel';
import { JobsTreeProvider, describeFilter, type JobsTreeNode } from './views/jobsTree';
import { JobsStatusBar } from './views/jobsStatusBar';
import { JobEventsDocuments } from './logs/jobEventsDocuments';
import { JobNotifications } from './logs/jobNotifications';
import { JobSpecDrafts } from './drafts/jobSpecDrafts';
import { ALGORITHM_SCHEME, AlgorithmFileSystem } from './views/algorithmFileSystem';
import { AlgorithmsModel } from './views/algorithmsModel';
import { createAlgorithmsTreeView, type AlgorithmTreeNode, type AlgorithmsTreeProvider } from './views/algorithmsTree';
import { DatasetsModel, type DatasetNode } from './views/datasetsModel';
import { DatasetsTreeProvider } from './views/datasetsTree';
import { DEBUG_TYPE } from './core/launchConfig';
import { DevSessions } from './debug/devSessions';
import { JobPanels } from './panels/jobPanels';
import { ComparePanels } from './panels/comparePanel';
import type { PanelAction } from './panels/protocol';
import type { TrainingJob } from './core/job';
import { folderKey, parseObjectStoreUrl } from './core/dataset';
import { DynamicLaunchConfigurationProvider, LaunchConfigurationProvider } from './debug/launchConfigurations';
import { RememberedChoices } from './drafts/rememberedChoices';
import { JobsContextKeys } from './views/jobsContextKeys';
import { WalkthroughProgress } from './views/walkthrough';

/** The command each panel action runs, with a tree node so it asks as from the context menu. */
const PANEL_ACTION_COMMANDS: Readonly<Record<PanelAction, string>> = {
  stop: 'modelarts.jobs.stop',
  copy: 'modelarts.jobs.copy',
  delete: 'modelarts.jobs.delete',
  saveAsAlgorithm: 'modelarts.jobs.saveAsAlgorithm',
  showLogs: 'modelarts.jobs.showLogs',
};

export interface Services {
  readonly context: vscode.ExtensionContext;
  readonly settings: Settings;
  /** The extension's own diagnostics ("ModelArts" in the Output panel). */
  readonly log: vscode.LogOutputChannel;
  readonly engine: TrainingBackend;
  /** The object store of datasets and job inputs/outputs that the settings name. */
  readonly stores: ConfiguredStore;
  readonly jobs: JobsModel;
  readonly jobsTree: JobsTreeProvider;
  readonly jobsView: vscode.TreeView<JobsTreeNode>;
  readonly jobLogs: JobLogChannels;
  /** The Datasets view's buckets, folders and objects, listed a level and a page at a time. */
  readonly datasets: DatasetsModel;
  readonly datasetsView: vscode.TreeView<DatasetNode>;
  readonly jobEvents: JobEventsDocuments;
  /** Job specs opened as JSON before they are created. */
  readonly drafts: JobSpecDrafts;
  readonly algorithms: AlgorithmsModel;
  readonly algorithmsTree: AlgorithmsTreeProvider;
  readonly algorithmsView: vscode.TreeView<AlgorithmTreeNode>;
  /** Debug sessions of type `modelarts` and their dev containers. */
  readonly devSessions: DevSessions;
  /** Job details panels (one per job). */
  readonly jobPanels: JobPanels;
  /** The panel overlaying several jobs' metrics. */
  readonly comparePanels: ComparePanels;
  /** What job flows offer first: the last completed job's hyperparameters, inputs and flavor. */
  readonly remembered: RememberedChoices;
  /** Ticks the Getting Started walkthrough as the workflow happens. */
  readonly walkthrough: WalkthroughProgress;
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
  const warnAboutSetting = (issue: FieldIssue) => {
    void vscode.window.showWarningMessage(`ModelArts: setting ${issue.field} ${issue.message}. Its default is used.`, 'Open Settings').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', issue.field);
    });
  };
  for (const issue of issues) {
    log.warn(`Setting ${issue.field}: ${issue.message}; using its default.`);
    warnAboutSetting(issue);
  }

  const dataDir = path.join(context.globalStorageUri.fsPath, 'local-engine');
  const stores = own(new ConfiguredStore(context.secrets, path.join(dataDir, 'object-store'), path.join(dataDir, 'storage-state'), log));
  void stores.apply(settings.storage);
  const engine = own(
    new LocalBackend({
      dataDir,
      dockerHost: settings.dockerHost,
      logger: log,
      capacity: settings.capacity,
      storeResolver: stores.resolver,
    }),
  );
  const jobs = own(new JobsModel(engine, log));
  const jobsTree = own(new JobsTreeProvider(jobs, engine));
  const jobsView = own(vscode.window.createTreeView('modelarts.jobs', { treeDataProvider: jobsTree, showCollapseAll: true, canSelectMany: true }));
  own(jobsView.onDidChangeVisibility((e) => jobsTree.setVisible(e.visible)));
  jobsTree.setVisible(jobsView.visible);
  own(
    jobsTree.onDidChangeFilter((filter) => {
      jobsView.description = describeFilter(filter);
      void vscode.commands.executeCommand('setContext', 'modelarts.jobs.filtered', jobsView.description !== undefined);
    }),
  );
  own(new JobsStatusBar(jobs, engine));
  own(new JobsContextKeys(jobs, (id, output) => engine.outputLocation(id, output) !== undefined));
  const walkthrough = own(new WalkthroughProgress(log));
  const remembered = own(new RememberedChoices(context.workspaceState, engine.onDidChangeJob));
  own(engine.onDidChangeJob(({ kind }) => kind === 'created' && walkthrough.complete('create')));
  const jobEvents = own(new JobEventsDocuments(engine));
  const drafts = own(new JobSpecDrafts());
  // The walkthrough's last step completes once a job has completed.
  const markJobCompleted = () => walkthrough.complete('completed');
  own(new JobNotifications(engine, markJobCompleted));
  const algorithms = own(new AlgorithmsModel(engine, log));
  const { tree: algorithmsTree, view: algorithmsView } = own(createAlgorithmsTreeView(algorithms, engine));
  own(vscode.workspace.registerFileSystemProvider(ALGORITHM_SCHEME, own(new AlgorithmFileSystem(engine, log)), { isCaseSensitive: true }));
  const datasets = own(new DatasetsModel(stores, log));
  const datasetsTree = own(new DatasetsTreeProvider(datasets));
  const datasetsView = own(vscode.window.createTreeView('modelarts.datasets', { treeDataProvider: datasetsTree, showCollapseAll: true }));
  const jobLogs = own(
    new JobLogChannels(engine, context.workspaceState, {
      nameShared: (job) => jobs.sharesName(job),
      onDidOpen: () => walkthrough.complete('logs'),
    }),
  );
  const devSessions = own(new DevSessions(engine, log));
  own(devSessions.onDidChange(() => devSessions.all.length > 0 && walkthrough.complete('debug')));
  const jobPanels = own(
    new JobPanels({
      engine,
      extensionUri: context.extensionUri,
      log,
      runAction: async (action, job) => vscode.commands.executeCommand(PANEL_ACTION_COMMANDS[action], jobsTree.nodeFor(job)),
      reveal: (job, kind, name) => revealChannel(job, kind, name),
      metricsPattern: () => currentSettings.metricsPattern || undefined,
    }),
  );
  const comparePanels = own(new ComparePanels({ engine, extensionUri: context.extensionUri, log, metricsPattern: () => currentSettings.metricsPattern || undefined }));
  /** An output kept on this machine: Open Output… as from its row; an input: its folder, or its place in the Datasets view. */
  const revealChannel = async (job: TrainingJob, kind: 'input' | 'output', name: string): Promise<void> => {
    if (kind === 'output') {
      if (engine.outputLocation(job.metadata.id, name)) await vscode.commands.executeCommand('modelarts.jobs.openOutput', jobsTree.partNode(job, 'output', name));
      else void vscode.window.showInformationMessage(`Output ${name} of ${job.metadata.name} is not on this machine.`);
      return;
    }
    const url = job.algorithm.inputs.find((input) => input.name === name)?.remote.obs?.obs_url ?? '';
    if (url.startsWith('/') || url.startsWith('file://')) {
      // A local folder: opened in a new window (revealFileInOS exists only in a desktop VS Code).
      const uri = url.startsWith('/') ? vscode.Uri.file(url) : vscode.Uri.parse(url);
      await vscode.commands.executeCommand('vscode.openFolder', uri, { forceNewWindow: true });
      return;
    }
    const { bucket, key } = parseObjectStoreUrl(url, `algorithm.inputs.${name}.remote.obs.obs_url`);
    await datasetsView.reveal(datasets.containerNode(bucket, folderKey(key)), { select: true, focus: true, expand: true });
  };

  // `when` clauses and welcome views follow the engine's reachability.
  let restored = false;
  const publishState = (state: BackendState) => {
    void vscode.commands.executeCommand('setContext', 'modelarts.engineState', state.kind);
    if (state.kind === 'available') walkthrough.complete('engine');
    if (state.kind !== 'available' || restored) return;
    restored = true;
    void jobLogs.restore().then((count) => count && log.info(`Following ${count} job log(s) again after the reload`));
    // The jobs model is loading them already (it listens first): this waits for that load.
    void jobs.reload().then(() => {
      if (jobs.list().some((job) => job.status.phase === 'Completed')) markJobCompleted();
    });
  };
  own(engine.onDidChangeState(publishState));

  own(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('modelarts')) return;
      const { settings: changed, issues } = readSettings();
      currentSettings = changed;
      for (const issue of issues) {
        log.warn(`Setting ${issue.field}: ${issue.message}; using its default.`);
        if (event.affectsConfiguration(issue.field)) warnAboutSetting(issue);
      }
      if (event.affectsConfiguration('modelarts.local.capacity')) engine.setCapacity(changed.capacity);
      if (event.affectsConfiguration('modelarts.storage')) void stores.apply(changed.storage);
      if (event.affectsConfiguration('modelarts.local.dockerHost') || event.affectsConfiguration('modelarts.engine')) {
        void vscode.window
          .showInformationMessage('ModelArts: reload the window to connect to the new training engine.', 'Reload Window')
          .then((choice) => choice && vscode.commands.executeCommand('workbench.action.reloadWindow'));
      }
    }),
  );

  const services: Services & vscode.Disposable = {
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
    datasets,
    datasetsView,
    jobEvents,
    drafts,
    algorithms,
    algorithmsTree,
    algorithmsView,
    devSessions,
    jobPanels,
    comparePanels,
    remembered,
    walkthrough,
    dispose() {
      for (const item of disposables.splice(0).reverse()) item.dispose();
    },
  };
  // launch.json's `modelarts` configurations read the live settings and engines.
  const launchConfigurations = new LaunchConfigurationProvider(services);
  own(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, launchConfigurations));
  own(
    vscode.debug.registerDebugConfigurationProvider(
      DEBUG_TYPE,
      new DynamicLaunchConfigurationProvider(launchConfigurations),
      vscode.DebugConfigurationProviderTriggerKind.Dynamic,
    ),
  );
  return services;
}
