/**
 * The Training Jobs tree: a thin provider over JobsModel. Items are plain nodes keyed by job id, so
 * a phase change repaints one row; changes are debounced so a burst of events repaints once.
 */
import * as vscode from 'vscode';
import { formatDuration } from '../core/format';
import { formatParameterList, type TrainingJob } from '../core/job';
import { allowedActions, type JobAction, type JobPhase } from '../core/lifecycle';
import type { TrainingEngine } from '../engine/trainingEngine';
import type { JobsModel } from './jobsModel';
import { TreeNode } from './treeNode';

export class JobNode extends TreeNode {
  constructor(public job: TrainingJob) {
    super();
  }
  get id(): string {
    return this.job.metadata.id;
  }
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

const DEBOUNCE_MS = 50;
/** Running jobs show a live duration, refreshed this often while the view is visible. */
const TICK_MS = 5000;

export class JobsTreeProvider implements vscode.TreeDataProvider<JobNode>, vscode.Disposable {
  private readonly nodes = new Map<string, JobNode>();
  private readonly changeEmitter = new vscode.EventEmitter<JobNode | JobNode[] | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [this.changeEmitter];
  private pendingIds = new Set<string>();
  private pendingReset = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private visible = false;

  constructor(
    private readonly model: JobsModel,
    private readonly engine: TrainingEngine,
  ) {
    this.subscriptions.push(
      model.onDidChange((change) => {
        if (change.kind === 'reset') this.pendingReset = true;
        else this.pendingIds.add(change.job.metadata.id);
        this.scheduleFlush();
      }),
    );
  }

  /** Called by the view: nothing ticks while the view is hidden. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.updateTicking();
  }

  getTreeItem(node: JobNode): vscode.TreeItem {
    const job = node.job;
    const item = new vscode.TreeItem(job.metadata.name, vscode.TreeItemCollapsibleState.None);
    item.id = job.metadata.id;
    const [icon, color] = PHASE_ICONS[job.status.phase];
    item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    item.description = describeJob(job, Date.now());
    item.tooltip = jobTooltip(job, this.engine.displayName);
    item.contextValue = jobContextValue(job);
    item.accessibilityInformation = { label: `Training job ${job.metadata.name}, ${item.description}` };
    item.command = { command: 'modelarts.jobs.showLogs', title: 'Show Logs', arguments: [node] };
    return item;
  }

  getChildren(element?: JobNode): JobNode[] {
    if (element || this.engine.state.kind !== 'available') return [];
    const seen = new Set<string>();
    const children = this.model.list().map((job) => {
      seen.add(job.metadata.id);
      return this.nodeFor(job);
    });
    for (const id of this.nodes.keys()) if (!seen.has(id)) this.nodes.delete(id);
    this.updateTicking();
    return children;
  }

  getParent(): undefined {
    return undefined;
  }

  /** The node of a job, for `TreeView.reveal`. */
  nodeFor(job: TrainingJob): JobNode {
    let node = this.nodes.get(job.metadata.id);
    if (node) node.job = job;
    else this.nodes.set(job.metadata.id, (node = new JobNode(job)));
    return node;
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      if (this.pendingReset) {
        this.changeEmitter.fire(undefined);
      } else {
        const changed: JobNode[] = [];
        for (const id of this.pendingIds) {
          const job = this.model.get(id);
          const node = this.nodes.get(id);
          if (job && node) {
            node.job = job;
            changed.push(node);
          }
        }
        if (changed.length) this.changeEmitter.fire(changed);
      }
      this.pendingReset = false;
      this.pendingIds = new Set();
      this.updateTicking();
    }, DEBOUNCE_MS);
  }

  private updateTicking(): void {
    const running = this.visible && this.model.list().some((job) => job.status.phase === 'Running');
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
