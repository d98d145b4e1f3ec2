/**
 * The Datasets tree: a thin provider over DatasetsModel. It turns nodes into items and publishes
 * the store's state as the context key `modelarts.storageState`, which picks the welcome text
 * (needs credentials, empty store) when there is nothing to list.
 */
import * as vscode from 'vscode';
import { formatBytes } from '../core/format';
import { BucketNode, ContainerNode, ErrorNode, FolderNode, LoadMoreNode, ObjectNode, type DatasetNode, type DatasetsModel, type StorageState } from './datasetsModel';

/** `+flag` tokens for `when` clauses: what the node's menu may offer. */
export function datasetContextValue(node: DatasetNode): string {
  if (node instanceof BucketNode) return 'dataset+bucket+container+input';
  if (node instanceof FolderNode) return 'dataset+folder+container+input+deletable';
  if (node instanceof ObjectNode) return 'dataset+object+deletable';
  if (node instanceof LoadMoreNode) return 'dataset+more';
  return 'dataset+error';
}

export class DatasetsTreeProvider implements vscode.TreeDataProvider<DatasetNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<DatasetNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [this.changeEmitter];

  constructor(private readonly model: DatasetsModel) {
    const publish = (state: StorageState) => void vscode.commands.executeCommand('setContext', 'modelarts.storageState', state);
    this.subscriptions.push(model.onDidChange((node) => this.changeEmitter.fire(node)), model.onDidChangeState(publish));
    publish(model.state);
  }

  getTreeItem(node: DatasetNode): vscode.TreeItem {
    if (node instanceof ContainerNode) return this.containerItem(node);
    if (node instanceof ObjectNode) return objectItem(node);
    if (node instanceof ErrorNode) return errorItem(node);
    return this.loadMoreItem(node as LoadMoreNode);
  }

  getChildren(node?: DatasetNode): Promise<DatasetNode[]> {
    return this.model.children(node);
  }

  getParent(node: DatasetNode): DatasetNode | undefined {
    return node.parent;
  }

  dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }

  private loadMoreItem(node: LoadMoreNode): vscode.TreeItem {
    const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.iconPath = new vscode.ThemeIcon('ellipsis');
    item.tooltip = `List the next ${this.model.pageSize} entries of ${node.parent.url}`;
    item.contextValue = datasetContextValue(node);
    item.command = { command: 'modelarts.datasets.loadMore', title: 'Load More', arguments: [node] };
    return item;
  }

  private containerItem(node: ContainerNode): vscode.TreeItem {
    const bucket = node instanceof BucketNode;
    // The configured bucket is all the view shows: open it at once.
    const expanded = bucket && this.model.configuredBucket === node.bucket;
    const label = node instanceof FolderNode ? node.name : node.bucket;
    const item = new vscode.TreeItem(label, expanded ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    item.id = node.id;
    item.iconPath = bucket ? new vscode.ThemeIcon('database') : vscode.ThemeIcon.Folder;
    if (!bucket) item.resourceUri = storeUri(node.bucket, node.prefix.slice(0, -1));
    const markdown = new vscode.MarkdownString(undefined, true);
    markdown.appendMarkdown(`\`${node.url}\`\n\n`);
    markdown.appendText(bucket ? `Bucket in the ${this.model.store?.description ?? 'store'}` : 'Folder (prefix)');
    item.tooltip = markdown;
    item.contextValue = datasetContextValue(node);
    item.accessibilityInformation = { label: `${bucket ? 'Bucket' : 'Folder'} ${label}, ${node.url}` };
    return item;
  }
}

function objectItem(node: ObjectNode): vscode.TreeItem {
  const { object } = node;
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  // A file icon by the object's name, from the icon theme, as in the Explorer.
  item.iconPath = vscode.ThemeIcon.File;
  item.resourceUri = storeUri(node.bucket, object.key);
  item.description = formatBytes(object.size);
  const markdown = new vscode.MarkdownString(undefined, true);
  markdown.appendMarkdown(`\`${node.url}\`\n\n`);
  markdown.appendText(`Size: ${formatBytes(object.size)} (${object.size.toLocaleString('en-US')} bytes)\n`);
  if (object.lastModified !== undefined) markdown.appendText(`Modified: ${new Date(object.lastModified).toLocaleString()}\n`);
  item.tooltip = markdown;
  item.contextValue = datasetContextValue(node);
  item.accessibilityInformation = { label: `Object ${node.name}, ${formatBytes(object.size)}, ${node.url}` };
  return item;
}

function errorItem(node: ErrorNode): vscode.TreeItem {
  const where = node.parent ? `Cannot list ${node.parent.url}` : 'Cannot list the buckets';
  const item = new vscode.TreeItem(where, vscode.TreeItemCollapsibleState.None);
  item.id = node.id;
  item.description = node.message;
  item.tooltip = `${where}: ${node.message}\n\nClick to retry.`;
  item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
  item.contextValue = datasetContextValue(node);
  item.command = { command: 'modelarts.datasets.refresh', title: 'Retry', arguments: [node] };
  item.accessibilityInformation = { label: `${where}: ${node.message}` };
  return item;
}

/** An `obs:` URI standing for an object or folder, so the icon theme can pick its icon. */
function storeUri(bucket: string, key: string): vscode.Uri {
  return vscode.Uri.from({ scheme: 'obs', authority: bucket, path: `/${key}` });
}
