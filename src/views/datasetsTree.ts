/**
 * The Datasets tree: a thin provider over the stores' DatasetsModels (DataPlaces). It turns nodes
 * into items and publishes the settings' store's state as the context key `modelarts.storageState`,
 * which picks the welcome text (needs credentials, empty store) when there is nothing to list.
 */
import * as vscode from 'vscode';
import { formatBytes } from '../core/format';
import { LOCAL_BACKEND_ID } from '../backends/jobRef';
import { PlaceNode, type DataPlaces } from './datasetPlaces';
import { BucketNode, ContainerNode, ErrorNode, FolderNode, LoadMoreNode, ObjectNode, type DatasetNode, type StorageState } from './datasetsModel';

/** `+flag` tokens for `when` clauses: what the node's menu may offer. */
export function datasetContextValue(node: DatasetNode): string {
  if (node instanceof BucketNode) return 'dataset+bucket+container+input';
  if (node instanceof FolderNode) return 'dataset+folder+container+input+deletable';
  if (node instanceof ObjectNode) return 'dataset+object+deletable';
  if (node instanceof LoadMoreNode) return 'dataset+more';
  if (node instanceof PlaceNode) return `dataset+place+${node.place.backend === LOCAL_BACKEND_ID ? 'local' : 'cloud'}`;
  return 'dataset+error';
}

export class DatasetsTreeProvider implements vscode.TreeDataProvider<DatasetNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<DatasetNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly subscriptions: Array<{ dispose(): void }> = [this.changeEmitter];
  private readonly modelSubscriptions = new Map<string, { dispose(): void }>();

  constructor(private readonly places: DataPlaces) {
    const publish = (state: StorageState) => void vscode.commands.executeCommand('setContext', 'modelarts.storageState', state);
    this.subscriptions.push(places.local.model.onDidChangeState(publish), places.onDidChange(() => this.follow()));
    this.follow();
    publish(places.local.model.state);
  }

  /** Listens to every store's model (stores come and go with backends). */
  private follow(): void {
    const current = new Set(this.places.list().map((place) => place.backend));
    for (const [id, subscription] of this.modelSubscriptions) {
      if (current.has(id)) continue;
      subscription.dispose();
      this.modelSubscriptions.delete(id);
    }
    for (const place of this.places.list()) {
      if (!this.modelSubscriptions.has(place.backend)) this.modelSubscriptions.set(place.backend, place.model.onDidChange((node) => this.changeEmitter.fire(node)));
    }
    this.changeEmitter.fire(undefined);
  }

  getTreeItem(node: DatasetNode): vscode.TreeItem {
    const item = this.item(node);
    item.id = this.places.itemId(node);
    return item;
  }

  private item(node: DatasetNode): vscode.TreeItem {
    if (node instanceof PlaceNode) return placeItem(node);
    if (node instanceof ContainerNode) return this.containerItem(node);
    if (node instanceof ObjectNode) return objectItem(node);
    if (node instanceof ErrorNode) return errorItem(node);
    return this.loadMoreItem(node as LoadMoreNode);
  }

  getChildren(node?: DatasetNode): Promise<DatasetNode[]> {
    if (!node) return this.places.roots();
    if (node instanceof PlaceNode) return node.place.model.children();
    return this.places.placeOf(node).model.children(node);
  }

  getParent(node: DatasetNode): DatasetNode | undefined {
    return this.places.parentOf(node);
  }

  dispose(): void {
    for (const subscription of [...this.subscriptions.splice(0), ...this.modelSubscriptions.values()]) subscription.dispose();
    this.modelSubscriptions.clear();
  }

  private loadMoreItem(node: LoadMoreNode): vscode.TreeItem {
    const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
    item.iconPath = new vscode.ThemeIcon('ellipsis');
    item.tooltip = `List the next ${this.places.placeOf(node).model.pageSize} entries of ${node.parent.url}`;
    item.contextValue = datasetContextValue(node);
    item.command = { command: 'modelarts.datasets.loadMore', title: 'Load More', arguments: [node] };
    return item;
  }

  private containerItem(node: ContainerNode): vscode.TreeItem {
    const bucket = node instanceof BucketNode;
    const { model, label: storeName } = this.places.placeOf(node);
    // The configured bucket is all the view shows: open it at once.
    const expanded = bucket && model.configuredBucket === node.bucket;
    const label = node instanceof FolderNode ? node.name : node.bucket;
    const item = new vscode.TreeItem(label, expanded ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    item.iconPath = bucket ? new vscode.ThemeIcon('database') : vscode.ThemeIcon.Folder;
    if (!bucket) item.resourceUri = storeUri(node.bucket, node.prefix.slice(0, -1));
    const markdown = new vscode.MarkdownString(undefined, true);
    markdown.appendMarkdown(`\`${node.url}\`\n\n`);
    markdown.appendText(bucket ? `Bucket in the ${model.store?.description ?? 'store'}${this.places.several ? ` of ${storeName}` : ''}` : 'Folder (prefix)');
    item.tooltip = markdown;
    item.contextValue = datasetContextValue(node);
    item.accessibilityInformation = { label: `${bucket ? 'Bucket' : 'Folder'} ${label}, ${node.url}` };
    return item;
  }
}

function placeItem(node: PlaceNode): vscode.TreeItem {
  const { place } = node;
  const item = new vscode.TreeItem(place.label, vscode.TreeItemCollapsibleState.Collapsed);
  item.description = place.kind;
  item.iconPath = new vscode.ThemeIcon(place.backend === LOCAL_BACKEND_ID ? 'database' : 'cloud');
  const problem = place.model.problem;
  item.tooltip = problem ? `${place.label}: ${place.kind} cannot be reached: ${problem}` : `${place.kind} of ${place.label}: its buckets below`;
  item.contextValue = datasetContextValue(node);
  item.accessibilityInformation = { label: `Store ${place.label}, ${place.kind}` };
  return item;
}

function objectItem(node: ObjectNode): vscode.TreeItem {
  const { object } = node;
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
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
