/**
 * The Algorithms tree: a thin provider over AlgorithmsModel. Each algorithm shows what a job made
 * from it would run (code folder, boot file, engine, hyperparameters, inputs, outputs); with several
 * backends, each backend is a root. Node ids are stable, so a refresh keeps what the user expanded;
 * refreshes are debounced.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import { isModelArtsBackendId } from '../backends/jobRef';
import type { TrainingBackend } from '../backends/trainingBackend';
import { backendContextValue, describeUnready } from './jobsTreeNodes';
import type { Algorithm } from '../core/algorithm';
import type { EngineRef } from '../core/job';
import type { AlgorithmsModel } from './algorithmsModel';
import { shownNodes, TreeNode } from './treeNode';

/** A backend's root, when there is more than one backend. */
export class AlgorithmsBackendNode extends TreeNode {
  constructor(readonly backend: TrainingBackend) {
    super();
  }
}

export class AlgorithmNode extends TreeNode {
  constructor(
    readonly backend: string,
    public algorithm: Algorithm,
  ) {
    super();
  }
  get id(): string {
    return `${this.backend}/${this.algorithm.metadata.id}`;
  }
}

type DetailKind = 'codeDir' | 'bootFile' | 'engine' | 'command' | 'parameters' | 'inputs' | 'outputs' | 'parameter' | 'input' | 'output';

/** One fact of an algorithm (or one entry of its parameters, inputs or outputs). */
export class AlgorithmDetailNode extends TreeNode {
  children: readonly AlgorithmDetailNode[] = [];
  constructor(
    readonly parent: AlgorithmNode | AlgorithmDetailNode,
    readonly kind: DetailKind,
    readonly label: string,
    readonly description: string,
    private readonly key: string = kind,
  ) {
    super();
  }
  get algorithm(): Algorithm {
    return this.parent.algorithm;
  }
  get backend(): string {
    return this.parent.backend;
  }
  /** Stable across refreshes, so expanded rows stay expanded. */
  get id(): string {
    return `${this.parent.id}/${this.key}`;
  }
}

/** Shown instead of the algorithms when loading failed (clicking it retries), while loading, or for a backend that cannot be used. */
export class AlgorithmsMessageNode extends TreeNode {
  constructor(
    readonly kind: 'failed' | 'loading' | 'empty' | 'signIn',
    readonly message: string,
    readonly backend: string,
    /** For `signIn`: the root whose account to sign in to. */
    readonly root?: AlgorithmsBackendNode,
  ) {
    super();
  }
}

export type AlgorithmTreeNode = AlgorithmsBackendNode | AlgorithmNode | AlgorithmDetailNode | AlgorithmsMessageNode;

const DETAIL_ICONS: Readonly<Record<DetailKind, string>> = {
  codeDir: 'folder',
  bootFile: 'file-code',
  engine: 'server-environment',
  command: 'terminal',
  parameters: 'symbol-parameter',
  inputs: 'arrow-circle-down',
  outputs: 'arrow-circle-up',
  parameter: 'symbol-variable',
  input: 'database',
  output: 'output',
};

const DEBOUNCE_MS = 50;

export class AlgorithmsTreeProvider implements vscode.TreeDataProvider<AlgorithmTreeNode>, vscode.Disposable {
  private readonly nodes = new Map<string, AlgorithmNode>();
  private readonly roots = new Map<string, AlgorithmsBackendNode>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly subscriptions: Array<{ dispose(): void }> = [this.changeEmitter];
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly model: AlgorithmsModel,
    private readonly registry: BackendRegistry,
  ) {
    this.subscriptions.push(model.onDidChange(() => this.scheduleRefresh()), registry.onDidChangeState(() => this.scheduleRefresh()));
  }

  getTreeItem(node: AlgorithmTreeNode): vscode.TreeItem {
    if (node instanceof AlgorithmNode) return algorithmItem(node);
    if (node instanceof AlgorithmDetailNode) return detailItem(node);
    if (node instanceof AlgorithmsBackendNode) {
      const item = new vscode.TreeItem(node.backend.displayName, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `backend:${node.backend.id}`;
      item.iconPath = new vscode.ThemeIcon(node.backend.icon);
      const count = this.model.list(node.backend.id).length;
      item.description = describeUnready(node.backend.state) ?? `${count} algorithm${count === 1 ? '' : 's'}`;
      item.contextValue = backendContextValue(node.backend);
      return item;
    }
    return messageItem(node);
  }

  getChildren(element?: AlgorithmTreeNode): AlgorithmTreeNode[] {
    if (element instanceof AlgorithmNode) return detailsOf(element);
    if (element instanceof AlgorithmDetailNode) return [...element.children];
    if (element instanceof AlgorithmsBackendNode) return this.backendChildren(element.backend, true);
    if (element) return [];
    const backends = this.registry.list();
    if (backends.length === 1 && backends[0]) return backends[0].state.kind === 'available' ? this.backendChildren(backends[0], false) : [];
    return backends.map((backend) => {
      let root = this.roots.get(backend.id);
      if (!root || root.backend !== backend) this.roots.set(backend.id, (root = new AlgorithmsBackendNode(backend)));
      return root;
    });
  }

  private backendChildren(backend: TrainingBackend, grouped: boolean): AlgorithmTreeNode[] {
    if (backend.state.kind === 'needsCredentials') return [new AlgorithmsMessageNode('signIn', `Sign in to ${backend.displayName}: ${backend.state.reason}`, backend.id, this.roots.get(backend.id))];
    if (backend.state.kind !== 'available') {
      const why = backend.state.kind === 'connecting' ? 'Connecting…' : `${backend.displayName}: ${backend.state.reason}`;
      return [new AlgorithmsMessageNode(backend.state.kind === 'connecting' ? 'loading' : 'failed', why, backend.id)];
    }
    const state = this.model.state(backend.id);
    if (state.kind === 'failed') return [new AlgorithmsMessageNode('failed', state.message, backend.id)];
    const algorithms = this.model.list(backend.id);
    if (!algorithms.length && (state.kind === 'loading' || state.kind === 'idle')) return [new AlgorithmsMessageNode('loading', 'Loading algorithms…', backend.id)];
    if (!algorithms.length && grouped) return [new AlgorithmsMessageNode('empty', 'No algorithms yet', backend.id)];
    return shownNodes(this.nodes, algorithms, (algorithm) => `${backend.id}/${algorithm.metadata.id}`, (algorithm) => this.nodeFor(backend.id, algorithm), (key) => key.startsWith(`${backend.id}/`));
  }

  getParent(node: AlgorithmTreeNode): AlgorithmTreeNode | undefined {
    if (node instanceof AlgorithmDetailNode) return node.parent;
    if (node instanceof AlgorithmNode && this.registry.size > 1) return this.roots.get(node.backend);
    return undefined;
  }

  /** The node of an algorithm, for `TreeView.reveal`. */
  nodeFor(backend: string, algorithm: Algorithm): AlgorithmNode {
    const key = `${backend}/${algorithm.metadata.id}`;
    let node = this.nodes.get(key);
    if (node) node.algorithm = algorithm;
    else this.nodes.set(key, (node = new AlgorithmNode(backend, algorithm)));
    return node;
  }

  private scheduleRefresh(): void {
    this.flushTimer ??= setTimeout(() => this.refreshNow(), DEBOUNCE_MS);
  }

  /** Sends a pending refresh at once: `TreeView.reveal` waits for it, so a new node can be revealed. */
  refreshNow(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.changeEmitter.fire();
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}

function algorithmItem(node: AlgorithmNode): vscode.TreeItem {
  const { algorithm } = node;
  const item = new vscode.TreeItem(algorithm.metadata.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = node.id;
  item.iconPath = new vscode.ThemeIcon('symbol-method');
  item.description = describeAlgorithm(algorithm);
  item.tooltip = algorithmTooltip(algorithm);
  item.contextValue = algorithmContextValue(algorithm);
  item.accessibilityInformation = { label: `Algorithm ${algorithm.metadata.name}, ${item.description}` };
  return item;
}

/** `algorithm` plus `+customImage` for algorithms that run an image's command rather than a boot file. */
export function algorithmContextValue(algorithm: Algorithm): string {
  return algorithm.job_config.engine.image_url ? 'algorithm+customImage' : 'algorithm';
}

function detailItem(node: AlgorithmDetailNode): vscode.TreeItem {
  const collapsible = node.children.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None;
  const item = new vscode.TreeItem(node.label, collapsible);
  item.id = node.id;
  item.description = node.description;
  item.iconPath = new vscode.ThemeIcon(DETAIL_ICONS[node.kind]);
  item.contextValue = `algorithmDetail+${node.kind}`;
  item.tooltip = node.description ? `${node.label}: ${node.description}` : node.label;
  const bootFile = node.algorithm.job_config.boot_file;
  if (node.kind === 'bootFile' && path.isAbsolute(bootFile)) {
    item.resourceUri = vscode.Uri.file(bootFile);
    item.iconPath = vscode.ThemeIcon.File;
    item.command = { command: 'vscode.open', title: 'Open Boot File', arguments: [item.resourceUri] };
  }
  return item;
}

function messageItem(node: AlgorithmsMessageNode): vscode.TreeItem {
  if (node.kind === 'signIn') {
    const item = new vscode.TreeItem(node.message);
    item.iconPath = new vscode.ThemeIcon('account');
    item.tooltip = node.message;
    item.command = node.root && isModelArtsBackendId(node.backend) ? { command: 'modelarts.cloud.signIn', title: 'Sign In', arguments: [node.root] } : { command: 'modelarts.algorithms.refresh', title: 'Retry', arguments: [{ backend: node.backend }] };
    return item;
  }
  if (node.kind === 'loading' || node.kind === 'empty') {
    const item = new vscode.TreeItem(node.message);
    item.iconPath = new vscode.ThemeIcon(node.kind === 'loading' ? 'loading~spin' : 'info');
    return item;
  }
  const item = new vscode.TreeItem('Could not load the algorithms');
  item.description = node.message;
  item.tooltip = `${node.message}\n\nClick to retry; the ModelArts log has the details.`;
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
  item.contextValue = 'algorithmsError';
  item.command = { command: 'modelarts.algorithms.refresh', title: 'Retry', arguments: [{ backend: node.backend }] };
  return item;
}

function detailsOf(node: AlgorithmNode): AlgorithmDetailNode[] {
  const config = node.algorithm.job_config;
  const detail = (kind: DetailKind, label: string, description: string) => new AlgorithmDetailNode(node, kind, label, description);
  const list = (kind: keyof typeof CHILD_KIND, label: string, entries: Array<{ name: string; label: string; description?: string | undefined }>) => {
    const parent = detail(kind, label, entries.length ? String(entries.length) : 'none');
    parent.children = entries.map((entry) => new AlgorithmDetailNode(parent, CHILD_KIND[kind], entry.label, entry.description ?? '', entry.name));
    return parent;
  };
  return [
    ...(config.code_dir ? [detail('codeDir', 'Code folder', config.code_dir)] : []),
    ...(config.boot_file ? [detail('bootFile', 'Boot file', relativeBootFile(node.algorithm))] : []),
    detail('engine', 'Engine', describeEngineRef(config.engine)),
    ...(config.command ? [detail('command', 'Command', config.command)] : []),
    list('parameters', 'Parameters', config.parameters.map((p) => ({ ...p, label: p.value === undefined || p.value === '' ? p.name : `${p.name} = ${p.value}` }))),
    list('inputs', 'Inputs', config.inputs.map((i) => ({ ...i, label: i.name }))),
    list('outputs', 'Outputs', config.outputs.map((o) => ({ ...o, label: o.name }))),
  ];
}

const CHILD_KIND = { parameters: 'parameter', inputs: 'input', outputs: 'output' } as const;

/** "PyTorch 1.13-cpu · train.py": what runs, and from which file. */
export function describeAlgorithm(algorithm: Algorithm): string {
  const file = algorithm.job_config.boot_file ? relativeBootFile(algorithm) : algorithm.job_config.command ?? '';
  return [describeEngineRef(algorithm.job_config.engine), file].filter(Boolean).join(' · ');
}

export function describeEngineRef(engine: EngineRef): string {
  if (engine.engine_name && engine.engine_version) return `${engine.engine_name} ${engine.engine_version}`;
  return engine.image_url ?? engine.engine_id ?? '';
}

function relativeBootFile(algorithm: Algorithm): string {
  const { code_dir: codeDir, boot_file: bootFile } = algorithm.job_config;
  if (!codeDir || !path.isAbsolute(bootFile)) return bootFile;
  const relative = path.relative(codeDir, bootFile);
  return relative.startsWith('..') ? bootFile : relative.split(path.sep).join('/');
}

function algorithmTooltip(algorithm: Algorithm): vscode.MarkdownString {
  const { metadata, job_config: config } = algorithm;
  const markdown = new vscode.MarkdownString(undefined, true);
  markdown.supportHtml = false;
  markdown.appendMarkdown(`**${escapeMarkdown(metadata.name)}**\n\n`);
  if (metadata.description) markdown.appendMarkdown(`${escapeMarkdown(metadata.description)}\n\n`);
  const parameters = config.parameters.map((p) => (p.value === undefined || p.value === '' ? p.name : `${p.name}=${p.value}`)).join(' ');
  const rows: Array<[string, string]> = [
    ['Code folder', config.code_dir],
    ['Boot file', config.boot_file],
    ['Command', config.command ?? ''],
    ['Engine', describeEngineRef(config.engine)],
    ['Parameters', parameters || '(none)'],
    ['Inputs', config.inputs.map((i) => i.name).join(', ')],
    ['Outputs', config.outputs.map((o) => o.name).join(', ')],
    ['Algorithm ID', metadata.id],
  ];
  for (const [label, value] of rows) if (value) markdown.appendMarkdown(`${label}: \`${value.replace(/`/g, "'")}\`  \n`);
  return markdown;
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, '\\$&');
}

/** The view and its provider, wired to the view's lifetime. */
export function createAlgorithmsTreeView(
  model: AlgorithmsModel,
  registry: BackendRegistry,
): { tree: AlgorithmsTreeProvider; view: vscode.TreeView<AlgorithmTreeNode>; dispose(): void } {
  const tree = new AlgorithmsTreeProvider(model, registry);
  const view = vscode.window.createTreeView('modelarts.algorithms', { treeDataProvider: tree, showCollapseAll: true });
  return {
    tree,
    view,
    dispose() {
      view.dispose();
      tree.dispose();
    },
  };
}
