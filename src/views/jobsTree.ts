/**
 * The Training Jobs tree: a thin provider over JobsModel. Nodes are plain objects keyed by job id,
 * so a phase change repaints one row; changes are debounced so a burst repaints once. Jobs come
 * newest first, 50 at a time with a "Load more" row, and can be filtered by phase and name.
 */
import * as vscode from 'vscode';
import { formatDuration } from '../core/format';
import { formatParameterList, type TrainingJob } from '../core/job';
import { allowedActions, isTerminalPhase, type JobAction, type JobPhase } from '../core/lifecycle';
import type { TrainingBackend } from '../backends/trainingBackend';
import type { JobsModel } from './jobsModel';
import { TreeNode, shownNodes } from './treeNode';

export class JobNode extends TreeNode {
  constructor(public job: TrainingJob) {
    super();
  }
  get id(): string {
    return this.job.metadata.id;
  }
}

export type JobPart =
  | { readonly kind: 'task'; readonly task: string }
  | { readonly kind: 'input' | 'output'; readonly name: string; readonly location: string };

/** A task, input or output under a job. */
export class JobPartNode extends TreeNode {
  constructor(
    readonly parent: JobNode,
    readonly part: JobPart,
  ) {
    super();
  }
}

/** "Load more…" after a page of jobs. */
export class LoadMoreJobsNode extends TreeNode {
  constructor(
    readonly shown: number,
    readonly total: number,
  ) {
    super();
  }
}

/** An error or an empty filter result, with the action that resolves it. */
export class JobsMessageNode extends TreeNode {
  constructor(
    readonly message: string,
    readonly severity: 'error' | 'info',
    readonly action: vscode.Command,
  ) {
    super();
  }
}

export type JobsTreeNode = JobNode | JobPartNode | LoadMoreJobsNode | JobsMessageNode;

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

// The charts.* colours have light and dark variants with enough contrast on either background
// (testing.iconPassed, one green for all themes, is too pale on light ones).
const PHASE_ICONS: Readonly<Record<JobPhase, [icon: string, color: string]>> = {
  Creating: ['loading~spin', 'charts.blue'],
  Pending: ['clock', 'charts.yellow'],
  Running: ['sync~spin', 'charts.blue'],
  Completed: ['pass-filled', 'charts.green'],
  Failed: ['error', 'charts.red'],
  Terminating: ['loading~spin', 'charts.orange'],
  Terminated: ['circle-slash', 'descriptionForeground'],
  Abnormal: ['warning', 'list.warningForeground'],
};

/** `+flag` tokens for `when` clauses, one per action the phase allows. */
const ACTION_FLAGS: Readonly<Record<JobAction, string>> = {
  stop: 'stoppable',
  delete: 'deletable',
  copy: 'copyable',
  saveAsAlgorithm: 'saveable',
  showLogs: 'logs',
  showEvents: 'events',
};

export function jobContextValue(job: TrainingJob): string {
  return ['job', job.status.phase.toLowerCase(), ...allowedActions(job.status.phase).map((a) => ACTION_FLAGS[a])].join('+');
}

export const PAGE_SIZE = 50;
const DEBOUNCE_MS = 50;
/** Running jobs show a live duration, refreshed this often while the view is visible. */
const TICK_MS = 5000;

export class JobsTreeProvider implements vscode.TreeDataProvider<JobsTreeNode>, vscode.Disposable {
  private readonly nodes = new Map<string, JobNode>();
  private readonly changeEmitter = new vscode.EventEmitter<JobsTreeNode | JobsTreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly filterEmitter = new vscode.EventEmitter<JobsFilter>();
  readonly onDidChangeFilter = this.filterEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [this.changeEmitter, this.filterEmitter];
  private pendingIds = new Set<string>();
  private pendingReset = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private visible = false;
  private limit = PAGE_SIZE;
  private currentFilter: JobsFilter = {};

  constructor(
    private readonly model: JobsModel,
    private readonly engine: TrainingBackend,
  ) {
    this.subscriptions.push(
      model.onDidChange((change) => {
        if (change.kind === 'reset') this.pendingReset = true;
        else this.pendingIds.add(change.job.metadata.id);
        this.scheduleFlush();
      }),
    );
  }

  get filter(): JobsFilter {
    return this.currentFilter;
  }

  setFilter(filter: JobsFilter): void {
    this.currentFilter = { ...(filter.phases?.length ? { phases: [...filter.phases] } : {}), ...(filter.name ? { name: filter.name } : {}) };
    this.limit = PAGE_SIZE;
    this.filterEmitter.fire(this.currentFilter);
    this.changeEmitter.fire(undefined);
  }

  /** The jobs the filter lets through, newest first. */
  matching(): readonly TrainingJob[] {
    const all = this.model.list();
    return describeFilter(this.currentFilter) ? all.filter((job) => jobMatches(job, this.currentFilter)) : all;
  }

  /** Shows the next page of jobs. */
  loadMore(): number {
    this.limit += PAGE_SIZE;
    this.changeEmitter.fire(undefined);
    return this.limit;
  }

  /** Called by the view: nothing ticks while the view is hidden. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.updateTicking();
  }

  getTreeItem(node: JobsTreeNode): vscode.TreeItem {
    if (node instanceof JobNode) return this.jobItem(node);
    if (node instanceof JobPartNode) return partItem(node, this.engine);
    if (node instanceof LoadMoreJobsNode) {
      const item = new vscode.TreeItem(`Load more… (${node.shown} of ${node.total} shown)`);
      item.id = 'modelarts.jobs.loadMore';
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.command = { command: 'modelarts.jobs.loadMore', title: 'Load More' };
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

  private jobItem(node: JobNode): vscode.TreeItem {
    const job = node.job;
    const item = new vscode.TreeItem(job.metadata.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = job.metadata.id;
    const [icon, color] = PHASE_ICONS[job.status.phase];
    item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    // Two jobs of one name (ModelArts allows it) are told apart by the start of their ids.
    const shared = this.model.sharesName(job) ? ` · #${job.metadata.id.slice(0, 8)}` : '';
    item.description = describeJob(job, Date.now()) + shared;
    item.tooltip = jobTooltip(job, this.engine.displayName);
    item.contextValue = jobContextValue(job);
    item.accessibilityInformation = { label: `Training job ${job.metadata.name}, ${item.description}` };
    item.command = { command: 'modelarts.jobs.showLogs', title: 'Show Logs', arguments: [node] };
    return item;
  }

  getChildren(element?: JobsTreeNode): JobsTreeNode[] {
    if (element instanceof JobNode) return jobParts(element);
    if (element || this.engine.state.kind !== 'available') return [];
    if (this.model.loadError) {
      return [new JobsMessageNode(`Could not load the training jobs: ${this.model.loadError}`, 'error', { command: 'modelarts.jobs.refresh', title: 'Retry' })];
    }
    const all = this.model.list();
    const matching = this.matching();
    if (all.length && !matching.length) {
      return [new JobsMessageNode(`No training job matches ${describeFilter(this.currentFilter)?.slice('Filter: '.length)}`, 'info', { command: 'modelarts.jobs.clearFilter', title: 'Clear Filter' })];
    }
    const page = matching.length > this.limit ? matching.slice(0, this.limit) : matching;
    const children: JobsTreeNode[] = shownNodes(this.nodes, page, (job) => job.metadata.id, (job) => this.nodeFor(job));
    if (matching.length > page.length) children.push(new LoadMoreJobsNode(page.length, matching.length));
    this.updateTicking();
    return children;
  }

  getParent(node: JobsTreeNode): JobsTreeNode | undefined {
    return node instanceof JobPartNode ? node.parent : undefined;
  }

  /** The node of a task, input or output of a job (what its row's menu hands to commands). */
  partNode(job: TrainingJob, kind: 'input' | 'output', name: string): JobPartNode {
    const location = (kind === 'input' ? job.algorithm.inputs.find((i) => i.name === name)?.remote.obs?.obs_url : job.algorithm.outputs.find((o) => o.name === name)?.remote?.obs.obs_url) ?? '';
    return new JobPartNode(this.nodeFor(job), { kind, name, location });
  }

  /** The node of a job, for `TreeView.reveal`. */
  nodeFor(job: TrainingJob): JobNode {
    let node = this.nodes.get(job.metadata.id);
    if (node) node.job = job;
    else this.nodes.set(job.metadata.id, (node = new JobNode(job)));
    return node;
  }

  /** Shown nodes whose job changed; a change that moves a job in or out of the filter redraws the list. */
  private flush(): void {
    this.flushTimer = undefined;
    const filtered = describeFilter(this.currentFilter) !== undefined;
    let reset = this.pendingReset;
    const changed: JobNode[] = [];
    for (const id of this.pendingIds) {
      const job = this.model.get(id);
      const node = this.nodes.get(id);
      if (!job) continue;
      if (filtered && (node ? !jobMatches(job, this.currentFilter) : jobMatches(job, this.currentFilter))) reset = true;
      if (node) {
        node.job = job;
        changed.push(node);
      }
    }
    if (reset) this.changeEmitter.fire(undefined);
    else if (changed.length) this.changeEmitter.fire(changed);
    this.pendingReset = false;
    this.pendingIds = new Set();
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

function jobParts(node: JobNode): JobPartNode[] {
  const { algorithm, status } = node.job;
  const tasks = status.tasks.length ? status.tasks : ['worker-0'];
  return [
    ...tasks.map((task) => new JobPartNode(node, { kind: 'task', task })),
    ...algorithm.inputs.map((input) => new JobPartNode(node, { kind: 'input', name: input.name, location: input.remote.obs?.obs_url ?? input.local_dir ?? '' })),
    ...algorithm.outputs.map((output) => new JobPartNode(node, { kind: 'output', name: output.name, location: output.remote?.obs.obs_url ?? '' })),
  ];
}

function partItem(node: JobPartNode, engine: TrainingBackend): vscode.TreeItem {
  const { job } = node.parent;
  const { part } = node;
  if (part.kind === 'task') {
    const item = new vscode.TreeItem(part.task);
    item.id = `${job.metadata.id}/task/${part.task}`;
    const status = job.status.task_statuses.find((s) => s.task === part.task);
    const exited = status?.exit_code !== undefined;
    item.description = exited ? `exit code ${status.exit_code}` : isTerminalPhase(job.status.phase) ? job.status.phase : job.status.secondary_phase;
    item.iconPath = new vscode.ThemeIcon(
      exited ? (status.exit_code === 0 ? 'pass' : 'error') : 'server-process',
      exited ? new vscode.ThemeColor(status.exit_code === 0 ? 'charts.green' : 'charts.red') : undefined,
    );
    item.tooltip = status?.message ?? `Task ${part.task} of ${job.metadata.name}`;
    item.contextValue = 'jobTask+logs';
    item.accessibilityInformation = { label: `Task ${part.task} of training job ${job.metadata.name}, ${item.description}` };
    item.command = { command: 'modelarts.jobs.showLogs', title: 'Show Logs', arguments: [node] };
    return item;
  }
  const localPath = part.kind === 'output' ? engine.outputLocation(job.metadata.id, part.name) : undefined;
  const item = new vscode.TreeItem(part.name);
  item.id = `${job.metadata.id}/${part.kind}/${part.name}`;
  item.description = part.location || (localPath ? 'kept with the job' : '');
  item.iconPath = new vscode.ThemeIcon(part.kind === 'input' ? 'arrow-down' : 'arrow-up');
  item.tooltip = [`${part.kind === 'input' ? 'Input' : 'Output'} ${part.name}`, part.location, localPath ? `On this machine: ${localPath}` : ''].filter(Boolean).join('\n');
  item.accessibilityInformation = { label: `${part.kind === 'input' ? 'Input' : 'Output'} ${part.name} of training job ${job.metadata.name}${item.description ? `, ${item.description}` : ''}` };
  item.contextValue = ['job' + (part.kind === 'input' ? 'Input' : 'Output'), ...(part.location ? ['url'] : []), ...(localPath ? ['local'] : [])].join('+');
  return item;
}

export function describeJob(job: TrainingJob, now: number): string {
  const { status } = job;
  const phase = status.secondary_phase !== status.phase ? `${status.phase} (${status.secondary_phase})` : status.phase;
  const duration = status.phase === 'Running' && status.start_time ? now - status.start_time : status.duration;
  return duration > 0 ? `${phase} · ${formatDuration(duration)}` : phase;
}

function jobTooltip(job: TrainingJob, engineName: string): vscode.MarkdownString {
  const { metadata, algorithm, spec, status } = job;
  const markdown = new vscode.MarkdownString(undefined, true);
  markdown.supportHtml = false;
  markdown.appendMarkdown(`**${escape(metadata.name)}** — ${status.phase}\n\n`);
  const rows: Array<[string, string]> = [
    ['Engine', `${algorithm.engine.engine_name ?? ''} ${algorithm.engine.engine_version ?? ''} (${engineName})`.trim()],
    ['Flavor', spec.resource.flavor_name ? `${spec.resource.flavor_id} — ${spec.resource.flavor_name}` : spec.resource.flavor_id],
    ['Nodes', String(spec.resource.node_count)],
    ['Boot file', algorithm.boot_file],
    ['Hyperparameters', formatParameterList(algorithm.parameters) || '(none)'],
    ['Created', new Date(metadata.create_time).toLocaleString()],
    ['Job ID', metadata.id],
  ];
  const exit = status.task_statuses.find((s) => s.exit_code !== undefined && s.exit_code !== 0);
  if (exit) rows.push(['Exit', `${exit.task}: ${exit.message ?? exit.exit_code}`]);
  for (const [label, value] of rows) markdown.appendMarkdown(`${label}: \`${value.replace(/`/g, "'")}\`  \n`);
  return markdown;
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, '\\$&');
}
