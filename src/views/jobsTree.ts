/**
 * The Training Jobs tree: a thin provider over JobsModel. With one backend it lists that backend's
 * jobs at the top, as it always did; with several, each backend is a root (name, state, counts)
 * with its jobs, or its error or sign-in row, under it. Nodes are keyed by backend and job id, so a
 * phase change repaints one row; changes are debounced so a burst repaints once. Jobs come newest
 * first, 50 at a time per backend with a "Load more" row, and can be filtered by phase and name.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import { isModelArtsBackendId, jobKey, type JobRef } from '../backends/jobRef';
import type { TrainingBackend } from '../backends/trainingBackend';
import type { TrainingJob } from '../core/job';
import type { JobPhase } from '../core/lifecycle';
import type { JobsModel } from './jobsModel';
import {
  BackendNode,
  JobNode,
  JobPartNode,
  JobsMessageNode,
  LoadMoreJobsNode,
  backendItem,
  jobItem,
  jobParts,
  partItem,
  type JobsTreeNode,
} from './jobsTreeNodes';
import { shownNodes } from './treeNode';

export { BackendNode, JobNode, JobPartNode, JobsMessageNode, LoadMoreJobsNode, describeJob, jobContextValue, type JobsTreeNode } from './jobsTreeNodes';

export interface JobsFilter {
  /** Only jobs in these phases; empty or absent: every phase. */
  readonly phases?: readonly JobPhase[];
  /** Only jobs whose name contains this text (case-insensitive). */
  readonly name?: string;
}

export function jobMatches(job: TrainingJob, filter: JobsFilter): boolean {
  if (filter.phases?.length && !filter.phases.includes(job.status.phase)) return false;
  return !filter.name || job.metadata.name.toLowerCase().includes(filter.name.toLowerCase());
}

export function describeFilter(filter: JobsFilter): string | undefined {
  const parts = [filter.phases?.length ? filter.phases.join(', ') : '', filter.name ? `"${filter.name}"` : ''].filter(Boolean);
  return parts.length ? `Filter: ${parts.join(' · ')}` : undefined;
}

export const PAGE_SIZE = 50;
const DEBOUNCE_MS = 50;
/** Running jobs show a live duration, refreshed this often while the view is visible. */
const TICK_MS = 5000;

export class JobsTreeProvider implements vscode.TreeDataProvider<JobsTreeNode>, vscode.Disposable {
  private readonly nodes = new Map<string, JobNode>();
  private readonly roots = new Map<string, BackendNode>();
  private readonly changeEmitter = new vscode.EventEmitter<JobsTreeNode | JobsTreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly filterEmitter = new vscode.EventEmitter<JobsFilter>();
  readonly onDidChangeFilter = this.filterEmitter.event;
  private readonly subscriptions: Array<{ dispose(): void }> = [this.changeEmitter, this.filterEmitter];
  private pendingKeys = new Set<string>();
  private pendingReset = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private visible = false;
  private readonly limits = new Map<string, number>();
  private currentFilter: JobsFilter = {};

  constructor(
    private readonly model: JobsModel,
    private readonly registry: BackendRegistry,
  ) {
    this.subscriptions.push(
      model.onDidChange((change) => {
        if (change.kind === 'reset') this.pendingReset = true;
        else this.pendingKeys.add(jobKey({ backend: change.backend, id: change.job.metadata.id }));
        this.scheduleFlush();
      }),
      registry.onDidChangeState(() => {
        this.pendingReset = true;
        this.scheduleFlush();
      }),
    );
  }

  get filter(): JobsFilter {
    return this.currentFilter;
  }

  /** Whether the tree shows a root per backend (there is more than one). */
  get grouped(): boolean {
    return this.registry.size > 1;
  }

  setFilter(filter: JobsFilter): void {
    this.currentFilter = { ...(filter.phases?.length ? { phases: [...filter.phases] } : {}), ...(filter.name ? { name: filter.name } : {}) };
    this.limits.clear();
    this.model.setServiceFilter(this.currentFilter);
    this.filterEmitter.fire(this.currentFilter);
    this.changeEmitter.fire(undefined);
  }

  /** A backend's jobs the filter lets through, newest first (every backend's without one). */
  matching(backend?: string): readonly TrainingJob[] {
    const all = backend ? this.model.list(backend) : this.model.all().map((entry) => entry.job);
    return describeFilter(this.currentFilter) ? all.filter((job) => jobMatches(job, this.currentFilter)) : all;
  }

  /** Shows the next page of a backend's jobs (the first backend's when none is named). */
  loadMore(backend = this.registry.list()[0]?.id ?? ''): number {
    const limit = (this.limits.get(backend) ?? PAGE_SIZE) + PAGE_SIZE;
    this.limits.set(backend, limit);
    // A paged backend's next page comes from its service once the loaded ones are all shown.
    if (this.model.hasMore(backend) && this.matching(backend).length < limit) void this.model.loadNextPage(backend);
    this.changeEmitter.fire(this.grouped ? this.rootFor(backend) : undefined);
    return limit;
  }

  /** Called by the view: nothing ticks while the view is hidden. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.updateTicking();
  }

  getTreeItem(node: JobsTreeNode): vscode.TreeItem {
    if (node instanceof JobNode) {
      const backend = this.registry.get(node.backend);
      return jobItem(node, backend?.displayName ?? node.backend, this.model.sharesName(node.backend, node.job), backend?.remoteFiles !== undefined);
    }
    if (node instanceof JobPartNode) return partItem(node, this.registry.get(node.parent.backend));
    if (node instanceof BackendNode) return backendItem(node, this.model.list(node.backend.id));
    if (node instanceof LoadMoreJobsNode) {
      const item = new vscode.TreeItem(node.moreOnService ? `Load more… (${node.shown} shown, more on ${this.registry.get(node.backend)?.displayName ?? node.backend})` : `Load more… (${node.shown} of ${node.total} shown)`);
      item.id = `modelarts.jobs.loadMore:${node.backend}`;
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.command = { command: 'modelarts.jobs.loadMore', title: 'Load More', arguments: [node] };
      item.contextValue = 'loadMore';
      return item;
    }
    const item = new vscode.TreeItem(node.message);
    item.iconPath = new vscode.ThemeIcon(node.severity === 'error' ? 'error' : 'info', node.severity === 'error' ? new vscode.ThemeColor('errorForeground') : undefined);
    item.tooltip = node.message;
    item.description = node.action.title;
    item.command = node.action;
    item.contextValue = `message+${node.severity}`;
    return item;
  }

  getChildren(element?: JobsTreeNode): JobsTreeNode[] {
    if (element instanceof JobNode) return jobParts(element);
    if (element instanceof BackendNode) return this.backendChildren(element.backend, element);
    if (element) return [];
    const backends = this.registry.list();
    if (backends.length === 1 && backends[0]) {
      // One backend: its jobs at the top, as before; its state is the views' welcome content.
      return backends[0].state.kind === 'available' ? this.backendChildren(backends[0], undefined) : [];
    }
    return backends.map((backend) => this.rootFor(backend.id)).filter((node): node is BackendNode => node !== undefined);
  }

  private rootFor(backend: string): BackendNode | undefined {
    const found = this.registry.get(backend);
    if (!found) return undefined;
    let node = this.roots.get(backend);
    if (!node || node.backend !== found) this.roots.set(backend, (node = new BackendNode(found)));
    return node;
  }

  private backendChildren(backend: TrainingBackend, parent: BackendNode | undefined): JobsTreeNode[] {
    const state = backend.state;
    if (state.kind === 'needsCredentials') {
      // A ModelArts account signs in from here; another backend is asked again.
      const root = parent ?? this.rootFor(backend.id);
      const command = isModelArtsBackendId(backend.id) && root ? { command: 'modelarts.cloud.signIn', title: 'Sign In', arguments: [root] } : { command: 'modelarts.jobs.refresh', title: 'Retry', arguments: [{ backend: backend.id }] };
      return [new JobsMessageNode(`Sign in to ${backend.displayName}: ${state.reason}`, 'info', command, parent)];
    }
    if (state.kind === 'unavailable') return [new JobsMessageNode(`${backend.displayName} is not reachable: ${state.reason}`, 'error', { command: 'modelarts.jobs.refresh', title: 'Retry', arguments: [{ backend: backend.id }] }, parent)];
    if (state.kind === 'connecting') return parent ? [new JobsMessageNode('Connecting…', 'info', { command: 'modelarts.jobs.refresh', title: 'Retry', arguments: [{ backend: backend.id }] }, parent)] : [];
    const loadError = this.model.loadError(backend.id);
    if (loadError) return [new JobsMessageNode(`Could not load the training jobs: ${loadError}`, 'error', { command: 'modelarts.jobs.refresh', title: 'Retry', arguments: [{ backend: backend.id }] }, parent)];
    const all = this.model.list(backend.id);
    const matching = this.matching(backend.id);
    if (all.length && !matching.length) {
      return [new JobsMessageNode(`No training job matches ${describeFilter(this.currentFilter)?.slice('Filter: '.length)}`, 'info', { command: 'modelarts.jobs.clearFilter', title: 'Clear Filter' }, parent)];
    }
    if (!all.length && parent) return [new JobsMessageNode('No training jobs yet', 'info', { command: 'modelarts.jobs.create', title: 'Create Training Job', arguments: [{ backend: backend.id, interactive: true }] }, parent)];
    const limit = this.limits.get(backend.id) ?? PAGE_SIZE;
    const page = matching.length > limit ? matching.slice(0, limit) : matching;
    const children: JobsTreeNode[] = shownNodes(this.nodes, page, (job) => jobKey({ backend: backend.id, id: job.metadata.id }), (job) => this.nodeFor(backend.id, job), (key) => key.startsWith(`${backend.id}/`));
    if (matching.length > page.length || this.model.hasMore(backend.id)) children.push(new LoadMoreJobsNode(backend.id, page.length, matching.length, parent, this.model.hasMore(backend.id)));
    this.updateTicking();
    return children;
  }

  getParent(node: JobsTreeNode): JobsTreeNode | undefined {
    if (node instanceof JobPartNode) return node.parent;
    if (node instanceof JobNode) return this.grouped ? this.rootFor(node.backend) : undefined;
    if (node instanceof LoadMoreJobsNode || node instanceof JobsMessageNode) return node.parent;
    return undefined;
  }

  /** The node of a job, for `TreeView.reveal`. */
  nodeFor(backend: string, job: TrainingJob): JobNode {
    const key = jobKey({ backend, id: job.metadata.id });
    let node = this.nodes.get(key);
    if (node) node.job = job;
    else this.nodes.set(key, (node = new JobNode(backend, job)));
    return node;
  }

  /** The node of a task, input or output of a job (what its row's menu hands to commands). */
  partNode(ref: JobRef, job: TrainingJob, kind: 'input' | 'output', name: string): JobPartNode {
    const location = (kind === 'input' ? job.algorithm.inputs.find((i) => i.name === name)?.remote.obs?.obs_url : job.algorithm.outputs.find((o) => o.name === name)?.remote?.obs.obs_url) ?? '';
    return new JobPartNode(this.nodeFor(ref.backend, job), { kind, name, location });
  }

  /** Shown nodes whose job changed; a change that moves a job in or out of the filter redraws the list. */
  private flush(): void {
    this.flushTimer = undefined;
    const filtered = describeFilter(this.currentFilter) !== undefined;
    let reset = this.pendingReset;
    const changed: JobsTreeNode[] = [];
    for (const key of this.pendingKeys) {
      const node = this.nodes.get(key);
      const slash = key.indexOf('/');
      const job = this.model.get({ backend: key.slice(0, slash), id: key.slice(slash + 1) });
      if (!job) continue;
      if (filtered && (node ? !jobMatches(job, this.currentFilter) : jobMatches(job, this.currentFilter))) reset = true;
      if (node) {
        node.job = job;
        changed.push(node);
        // The root's counts change with its jobs.
        const root = this.grouped ? this.rootFor(node.backend) : undefined;
        if (root && !changed.includes(root)) changed.push(root);
      }
    }
    if (reset) this.changeEmitter.fire(undefined);
    else if (changed.length) this.changeEmitter.fire(changed);
    this.pendingReset = false;
    this.pendingKeys = new Set();
    this.updateTicking();
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  private updateTicking(): void {
    const running = this.visible && [...this.nodes.values()].some((node) => node.job.status.phase === 'Running');
    if (running && !this.tickTimer) {
      this.tickTimer = setInterval(() => {
        const live = [...this.nodes.values()].filter((node) => node.job.status.phase === 'Running');
        if (live.length) this.changeEmitter.fire(live);
        else this.updateTicking();
      }, TICK_MS);
    } else if (!running && this.tickTimer) {
      clearInterval(this.tickTimer);
      this.tickTimer = undefined;
    }
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    clearInterval(this.tickTimer);
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}
