/**
 * The composition root: builds every long-lived object once, in dependency order, and hands them
 * around explicitly. Nothing else constructs services, and nothing here decides anything.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BackendRegistry } from './backends/backendRegistry';
import { LOCAL_BACKEND_ID } from './backends/jobRef';
import { LocalBackend } from './backends/local/localBackend';
import { CloudAccounts } from './cloud/cloudAccounts';
import { revealJobPart } from './commands/jobs/revealJobPart';
import { ConfiguredStore } from './configuredStore';
import { DEBUG_TYPE } from './core/launchConfig';
import { DevSessions } from './debug/devSessions';
import { DynamicLaunchConfigurationProvider, LaunchConfigurationProvider } from './debug/launchConfigurations';
import { JobSpecDrafts } from './drafts/jobSpecDrafts';
import { RememberedChoices } from './drafts/rememberedChoices';
import { JobEventsDocuments } from './logs/jobEventsDocuments';
import { JobLogChannels } from './logs/jobLogChannels';
import { JobNotifications } from './logs/jobNotifications';
import { ComparePanels } from './panels/comparePanel';
import { JobPanels } from './panels/jobPanels';
import type { PanelAction } from './panels/protocol';
import type { Settings } from './settings';
import { SettingsWatcher } from './settingsWatcher';
import { ALGORITHM_SCHEME, AlgorithmFileSystem } from './views/algorithmFileSystem';
import { AlgorithmsModel } from './views/algorithmsModel';
import { createAlgorithmsTreeView, type AlgorithmTreeNode, type AlgorithmsTreeProvider } from './views/algorithmsTree';
import { BackendContext } from './views/backendContext';
import { DataPlaces } from './views/datasetPlaces';
import { DatasetsModel, type DatasetNode } from './views/datasetsModel';
import { DatasetsTreeProvider } from './views/datasetsTree';
import { JobsContextKeys } from './views/jobsContextKeys';
import { JobsModel } from './views/jobsModel';
import { JobsStatusBar } from './views/jobsStatusBar';
import { JobsTreeProvider, describeFilter, type JobsTreeNode } from './views/jobsTree';
import { watchWhileLooked } from './views/watchWhileLooked';
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
  /** Every backend of the window: the local one, and any added while it runs. */
  readonly backends: BackendRegistry;
  /** The local Docker backend (for what only it has settings for: capacity, the Docker host). */
  readonly local: LocalBackend;
  /** The ModelArts accounts of `modelarts.cloud.accounts`, each a backend in the registry. */
  readonly cloud: CloudAccounts;
  /** The object store of datasets and job inputs/outputs that the settings name. */
  readonly stores: ConfiguredStore;
  readonly jobs: JobsModel;
  readonly jobsTree: JobsTreeProvider;
  readonly jobsView: vscode.TreeView<JobsTreeNode>;
  readonly jobLogs: JobLogChannels;
  /** The Datasets view's buckets, folders and objects, listed a level and a page at a time. */
  readonly datasets: DatasetsModel;
  /** Every store the Datasets view shows: the settings' one (`datasets`) and each backend's own (a ModelArts account's OBS). */
  readonly dataPlaces: DataPlaces;
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
  const disposables: Array<{ dispose(): void }> = [];
  const own = <T extends { dispose(): void }>(item: T): T => {
    disposables.push(item);
    return item;
  };

  const log = own(vscode.window.createOutputChannel('ModelArts', { log: true }));
  // Settings are read first; what they change at once is reached through `built` once it exists.
  const built: { local?: LocalBackend; stores?: ConfiguredStore } = {};
  const settingsWatcher = own(new SettingsWatcher(log, { local: () => built.local, stores: () => built.stores }));
  const settings = settingsWatcher.settings;

  const dataDir = path.join(context.globalStorageUri.fsPath, 'local-engine');
  const stores = own(new ConfiguredStore(context.secrets, path.join(dataDir, 'object-store'), path.join(dataDir, 'storage-state'), log));
  void stores.apply(settings.storage);
  const local = own(new LocalBackend({ dataDir, dockerHost: settings.dockerHost, logger: log, capacity: settings.capacity, storeResolver: stores.resolver }));
  Object.assign(built, { local, stores });
  const backends = own(new BackendRegistry());
  own(backends.add(local));
  const version = String((context.extension.packageJSON as { version?: unknown }).version ?? '0');
  const cloud = own(new CloudAccounts(backends, context.secrets, path.join(context.globalStorageUri.fsPath, 'cloud'), log, `modelarts-training-vscode/${version}`));
  void cloud.sync();

  const jobs = own(new JobsModel(backends, log));
  const jobsTree = own(new JobsTreeProvider(jobs, backends));
  const jobsView = own(vscode.window.createTreeView('modelarts.jobs', { treeDataProvider: jobsTree, showCollapseAll: true, canSelectMany: true }));
  own(jobsView.onDidChangeVisibility((e) => jobsTree.setVisible(e.visible)));
  jobsTree.setVisible(jobsView.visible);
  own(watchWhileLooked(backends, jobsView));
  own(
    jobsTree.onDidChangeFilter((filter) => {
      jobsView.description = describeFilter(filter);
      void vscode.commands.executeCommand('setContext', 'modelarts.jobs.filtered', jobsView.description !== undefined);
    }),
  );
  own(new JobsStatusBar(jobs, backends));
  own(new JobsContextKeys(jobs, (backend, id, output) => backends.get(backend)?.localFiles?.outputLocation(id, output) !== undefined));
  const walkthrough = own(new WalkthroughProgress(log));
  const remembered = own(new RememberedChoices(context.workspaceState, backends.onDidChangeJob));
  own(backends.onDidChangeJob(({ kind }) => kind === 'created' && walkthrough.complete('create')));
  const jobEvents = own(new JobEventsDocuments(backends));
  const drafts = own(new JobSpecDrafts());
  own(new JobNotifications(backends, () => walkthrough.complete('completed')));
  const algorithms = own(new AlgorithmsModel(backends, log));
  const { tree: algorithmsTree, view: algorithmsView } = own(createAlgorithmsTreeView(algorithms, backends));
  own(vscode.workspace.registerFileSystemProvider(ALGORITHM_SCHEME, own(new AlgorithmFileSystem(backends, log)), { isCaseSensitive: true }));
  const datasets = own(new DatasetsModel(stores, log));
  const localPlace = { backend: LOCAL_BACKEND_ID, label: local.displayName, model: datasets, get kind() { return stores.current.kind === 's3' ? 'S3 store' : 'folder store'; } };
  const dataPlaces = own(new DataPlaces(localPlace, backends, log));
  const datasetsTree = own(new DatasetsTreeProvider(dataPlaces));
  const datasetsView = own(vscode.window.createTreeView('modelarts.datasets', { treeDataProvider: datasetsTree, showCollapseAll: true }));
  const jobLogs = own(new JobLogChannels(backends, context.workspaceState, { nameShared: (backend, job) => jobs.sharesName(backend, job), onDidOpen: () => walkthrough.complete('logs') }));
  const devSessions = own(new DevSessions(backends, log));
  own(devSessions.onDidChange(() => devSessions.all.length > 0 && walkthrough.complete('debug')));
  const metricsPattern = () => settingsWatcher.settings.metricsPattern || undefined;
  const jobPanels = own(
    new JobPanels({
      backends,
      extensionUri: context.extensionUri,
      log,
      runAction: async (action, ref, job) => vscode.commands.executeCommand(PANEL_ACTION_COMMANDS[action], jobsTree.nodeFor(ref.backend, job)),
      reveal: (ref, job, kind, name) => revealJobPart(services, ref, job, kind, name),
      metricsPattern,
    }),
  );
  const comparePanels = own(new ComparePanels({ backends, extensionUri: context.extensionUri, log, metricsPattern }));
  own(new BackendContext(backends, jobs, jobLogs, walkthrough, log));

  const services: Services & vscode.Disposable = {
    context,
    /** Always the settings as they are now. */
    get settings() {
      return settingsWatcher.settings;
    },
    log,
    backends,
    local,
    cloud,
    stores,
    jobs,
    jobsTree,
    jobsView,
    jobLogs,
    datasets,
    dataPlaces,
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
  // launch.json's `modelarts` configurations read the live settings and backends.
  const launchConfigurations = new LaunchConfigurationProvider(services);
  own(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, launchConfigurations));
  own(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new DynamicLaunchConfigurationProvider(launchConfigurations), vscode.DebugConfigurationProviderTriggerKind.Dynamic));
  return services;
}
