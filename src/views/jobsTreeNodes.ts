/**
 * The Training Jobs tree's nodes and how each looks: a backend's root (only with several
 * backends), a job (keyed by its backend and id), its tasks, inputs and outputs, a "Load more" row
 * and a message row. Rows carry `contextValue` flags the menus match (`job+running+stoppable`).
 */
import * as vscode from 'vscode';
import { isModelArtsBackendId, jobKey, type JobRef } from '../backends/jobRef';
import type { BackendState, TrainingBackend } from '../backends/trainingBackend';
import { formatDuration } from '../core/format';
import { formatParameterList, type TrainingJob } from '../core/job';
import { allowedActions, isTerminalPhase, type JobAction, type JobPhase } from '../core/lifecycle';
import { TreeNode } from './treeNode';

/** A backend's root, when there is more than one backend. */
export class BackendNode extends TreeNode {
  constructor(readonly backend: TrainingBackend) {
    super();
  }
}

export class JobNode extends TreeNode {
  constructor(
    readonly backend: string,
    public job: TrainingJob,
  ) {
    super();
  }
  get id(): string {
    return this.job.metadata.id;
  }
  get ref(): JobRef {
    return { backend: this.backend, id: this.job.metadata.id };
  }
  get key(): string {
    return jobKey(this.ref);
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

/** "Load more…" after a page of a backend's jobs. */
export class LoadMoreJobsNode extends TreeNode {
  constructor(
    readonly backend: string,
    readonly shown: number,
    readonly total: number,
    readonly parent: BackendNode | undefined,
    /** The backend's service holds more than was loaded (the total is then a lower bound). */
    readonly moreOnService = false,
  ) {
    super();
  }
}

/** An error, a sign-in or an empty filter result, with the action that resolves it. */
export class JobsMessageNode extends TreeNode {
  constructor(
    readonly message: string,
    readonly severity: 'error' | 'info',
    readonly action: vscode.Command,
    readonly parent: BackendNode | undefined,
  ) {
    super();
  }
}

export type JobsTreeNode = BackendNode | JobNode | JobPartNode | LoadMoreJobsNode | JobsMessageNode;

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

/** `job+<phase>+<allowed actions>`, plus `+remote` when its backend keeps the code elsewhere (Debug Locally). */
export function jobContextValue(job: TrainingJob, remote = false): string {
  return ['job', job.status.phase.toLowerCase(), ...allowedActions(job.status.phase).map((a) => ACTION_FLAGS[a]), ...(remote ? ['remote'] : [])].join('+');
}

export function describeJob(job: TrainingJob, now: number): string {
  const { status } = job;
  const phase = status.secondary_phase !== status.phase ? `${status.phase} (${status.secondary_phase})` : status.phase;
  const duration = status.phase === 'Running' && status.start_time ? now - status.start_time : status.duration;
  return duration > 0 ? `${phase} · ${formatDuration(duration)}` : phase;
}

export function jobItem(node: JobNode, backendName: string, sharesName: boolean, remote = false): vscode.TreeItem {
  const job = node.job;
  const item = new vscode.TreeItem(job.metadata.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = node.key;
  const [icon, color] = PHASE_ICONS[job.status.phase];
  item.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
  // Two jobs of one name (ModelArts allows it) are told apart by the start of their ids.
  item.description = describeJob(job, Date.now()) + (sharesName ? ` · #${job.metadata.id.slice(0, 8)}` : '');
  item.tooltip = jobTooltip(job, backendName);
  item.contextValue = jobContextValue(job, remote);
  item.accessibilityInformation = { label: `Training job ${job.metadata.name}, ${item.description}` };
  item.command = { command: 'modelarts.jobs.showLogs', title: 'Show Logs', arguments: [node] };
  return item;
}

export function jobParts(node: JobNode): JobPartNode[] {
  const { algorithm, status } = node.job;
  const tasks = status.tasks.length ? status.tasks : ['worker-0'];
  return [
    ...tasks.map((task) => new JobPartNode(node, { kind: 'task', task })),
    ...algorithm.inputs.map((input) => new JobPartNode(node, { kind: 'input', name: input.name, location: input.remote.obs?.obs_url ?? input.local_dir ?? '' })),
    ...algorithm.outputs.map((output) => new JobPartNode(node, { kind: 'output', name: output.name, location: output.remote?.obs.obs_url ?? '' })),
  ];
}

export function partItem(node: JobPartNode, backend: TrainingBackend | undefined): vscode.TreeItem {
  const { job } = node.parent;
  const { part } = node;
  if (part.kind === 'task') {
    const item = new vscode.TreeItem(part.task);
    item.id = `${node.parent.key}/task/${part.task}`;
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
  const localPath = part.kind === 'output' ? backend?.localFiles?.outputLocation(job.metadata.id, part.name) : undefined;
  const item = new vscode.TreeItem(part.name);
  item.id = `${node.parent.key}/${part.kind}/${part.name}`;
  item.description = part.location || (localPath ? 'kept with the job' : '');
  item.iconPath = new vscode.ThemeIcon(part.kind === 'input' ? 'arrow-down' : 'arrow-up');
  item.tooltip = [`${part.kind === 'input' ? 'Input' : 'Output'} ${part.name}`, part.location, localPath ? `On this machine: ${localPath}` : ''].filter(Boolean).join('\n');
  item.accessibilityInformation = { label: `${part.kind === 'input' ? 'Input' : 'Output'} ${part.name} of training job ${job.metadata.name}${item.description ? `, ${item.description}` : ''}` };
  item.contextValue = ['job' + (part.kind === 'input' ? 'Input' : 'Output'), ...(part.location ? ['url'] : []), ...(localPath ? ['local'] : [])].join('+');
  return item;
}

/** A backend's state in a word or two, for roots and the status bar; undefined when it is available. */
export function describeUnready(state: BackendState): string | undefined {
  switch (state.kind) {
    case 'connecting':
      return 'connecting…';
    case 'unavailable':
      return 'not reachable';
    case 'needsCredentials':
      return 'sign-in needed';
    case 'available':
      return undefined;
  }
}

/** What a backend's root says beside its name: its state, or its job counts. */
export function describeBackend(state: BackendState, jobs: readonly TrainingJob[]): string {
  const unready = describeUnready(state);
  if (unready !== undefined) return unready;
  const running = jobs.filter((job) => job.status.phase === 'Running' || job.status.phase === 'Terminating').length;
  const waiting = jobs.filter((job) => job.status.phase === 'Pending' || job.status.phase === 'Creating').length;
  const parts = [`${jobs.length} job${jobs.length === 1 ? '' : 's'}`, ...(running ? [`${running} running`] : []), ...(waiting ? [`${waiting} waiting`] : [])];
  return parts.join(' · ');
}

/** A root's context value: `backend+<state>`, plus `+cloud` for a ModelArts account (its Sign In / Sign Out). */
export function backendContextValue(backend: TrainingBackend): string {
  return `backend+${backend.state.kind}${isModelArtsBackendId(backend.id) ? '+cloud' : ''}`;
}

export function backendItem(node: BackendNode, jobs: readonly TrainingJob[]): vscode.TreeItem {
  const { backend } = node;
  const item = new vscode.TreeItem(backend.displayName, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `backend:${backend.id}`;
  item.iconPath = new vscode.ThemeIcon(backend.icon);
  item.description = describeBackend(backend.state, jobs);
  const state = backend.state;
  item.tooltip = state.kind === 'unavailable' || state.kind === 'needsCredentials' ? `${backend.displayName}: ${state.reason}` : `${backend.displayName} (${backend.id})`;
  item.contextValue = backendContextValue(backend);
  item.accessibilityInformation = { label: `Backend ${backend.displayName}, ${item.description}` };
  return item;
}

function jobTooltip(job: TrainingJob, backendName: string): vscode.MarkdownString {
  const { metadata, algorithm, spec, status } = job;
  const markdown = new vscode.MarkdownString(undefined, true);
  markdown.supportHtml = false;
  markdown.appendMarkdown(`**${escape(metadata.name)}** — ${status.phase}\n\n`);
  const rows: Array<[string, string]> = [
    ['Engine', `${algorithm.engine.engine_name ?? ''} ${algorithm.engine.engine_version ?? ''}`.trim() || algorithm.engine.image_url],
    ['Runs on', backendName],
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
