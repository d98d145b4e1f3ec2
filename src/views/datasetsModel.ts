/**
 * What the Datasets view shows: the buckets of the configured store and, below each, one level of
 * folders (prefixes) and objects at a time, a page at a time. Levels are listed only when someone
 * expands them, kept until a refresh, and re-listed one at a time after this extension's own
 * uploads and deletions. No `vscode` import: it is tested in plain Node.
 */
import { CancelledError, errorMessage, isCancellation } from '../core/errors';
import { Emitter, type Disposable, type Event } from '../core/events';
import type { Logger } from '../core/logger';
import type { ObjectStore, StoredObject } from '../storage/objectStore';
import { StorageError } from '../storage/storageError';
import { TreeNode } from './treeNode';

/** Entries per page of a level: enough to browse, few enough to list fast on a slow store. */
export const DATASETS_PAGE_SIZE = 100;

/** `loading` until the root was listed; `needsCredentials` when S3 is configured without a key. */
export type StorageState = 'loading' | 'needsCredentials' | 'empty' | 'ready' | 'error';

/** The store the settings name (ConfiguredStore fits this shape). */
export interface DatasetStoreSource {
  readonly current: { readonly store: ObjectStore; readonly bucket?: string; readonly problem?: string };
  readonly onDidChange: Event<unknown>;
  /** Say why the store cannot be used as a row (a store under a root) rather than through the welcome text. */
  readonly problemAsRow?: boolean;
}

export function storeUrl(bucket: string, key: string): string {
  return `obs://${bucket}/${key}`;
}

export abstract class DatasetNode extends TreeNode {
  /** Unique in the tree, stable across refreshes (a store URL for data nodes). */
  abstract readonly id: string;
  abstract readonly parent: ContainerNode | undefined;
}

/** A bucket or a folder: its children are listed page by page. */
export abstract class ContainerNode extends DatasetNode {
  constructor(
    readonly bucket: string,
    /** Empty for a bucket, else ending in "/". */
    readonly prefix: string,
  ) {
    super();
  }
  get url(): string {
    return storeUrl(this.bucket, this.prefix);
  }
  get id(): string {
    return this.url;
  }
}

export class BucketNode extends ContainerNode {
  readonly parent = undefined;
  constructor(bucket: string) {
    super(bucket, '');
  }
}

export class FolderNode extends ContainerNode {
  constructor(
    readonly parent: ContainerNode,
    prefix: string,
  ) {
    super(parent.bucket, prefix);
  }
  /** The last segment, without the "/". */
  get name(): string {
    return this.prefix.slice(this.parent.prefix.length, -1);
  }
}

export class ObjectNode extends DatasetNode {
  constructor(
    readonly parent: ContainerNode,
    public object: StoredObject,
  ) {
    super();
  }
  get bucket(): string {
    return this.parent.bucket;
  }
  get url(): string {
    return storeUrl(this.parent.bucket, this.object.key);
  }
  get id(): string {
    return this.url;
  }
  get name(): string {
    return this.object.key.slice(this.parent.prefix.length);
  }
}

/** The last row of a level that has more pages. */
export class LoadMoreNode extends DatasetNode {
  constructor(readonly parent: ContainerNode) {
    super();
  }
  get id(): string {
    return `more:${this.parent.url}`;
  }
}

/** A listing failed (store unreachable, wrong credentials, no such bucket): shown in place, with Retry. */
export class ErrorNode extends DatasetNode {
  constructor(
    /** The level that failed; undefined for the bucket list. */
    readonly parent: ContainerNode | undefined,
    readonly message: string,
  ) {
    super();
  }
  get id(): string {
    return `error:${this.parent?.url ?? 'buckets'}`;
  }
}

export type DataNode = BucketNode | FolderNode | ObjectNode;

interface Level {
  readonly folders: FolderNode[];
  readonly objects: ObjectNode[];
  /** Token of the next page; with `error`, of the page that failed. */
  next?: string;
  error?: string;
  missingBucket?: boolean;
  loading?: Promise<void>;
  readonly controller: AbortController;
}

interface Root {
  nodes: DatasetNode[];
  loading?: Promise<void>;
  readonly controller: AbortController;
}

export class DatasetsModel implements Disposable {
  private readonly nodes = new Map<string, DatasetNode>();
  private readonly levels = new Map<string, Level>();
  private root: Root | undefined;
  private currentState: StorageState = 'loading';
  private readonly changeEmitter = new Emitter<ContainerNode | undefined>();
  /** A level changed (undefined: the whole tree). */
  readonly onDidChange = this.changeEmitter.event;
  private readonly stateEmitter = new Emitter<StorageState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly subscription: Disposable;

  constructor(
    private readonly source: DatasetStoreSource,
    private readonly log: Logger,
    /** Entries per page of a level. */
    readonly pageSize = DATASETS_PAGE_SIZE,
  ) {
    this.subscription = source.onDidChange(() => this.reset());
  }

  get state(): StorageState {
    return this.currentState;
  }

  /** The store the nodes belong to; undefined while it cannot be used. */
  get store(): ObjectStore | undefined {
    return this.source.current.problem ? undefined : this.source.current.store;
  }

  /** Why the store cannot be used (no credentials), if so. */
  get problem(): string | undefined {
    return this.source.current.problem;
  }

  /** The bucket the settings name, if any (the view shows only it, expanded). */
  get configuredBucket(): string | undefined {
    return this.source.current.bucket;
  }

  /** Children of a node: the buckets at the root, or the listed pages of a bucket or folder. */
  async children(parent?: DatasetNode): Promise<DatasetNode[]> {
    if (!parent) return this.rootChildren();
    if (!(parent instanceof ContainerNode)) return [];
    const level = this.levelOf(parent);
    await level.loading;
    return this.levelChildren(parent, level);
  }

  /** Lists the next page of a level (the "Load more…" row). */
  async loadMore(container: ContainerNode): Promise<void> {
    const level = this.levels.get(container.id);
    if (!level) return this.refresh(container);
    await level.loading;
    if (level.next === undefined || level.error !== undefined) return;
    level.loading = this.fetchPage(container, level);
    this.changeEmitter.fire(container);
    await level.loading;
  }

  /** Forgets what a level (with everything below it) or the whole tree showed, and lists it again. */
  async refresh(node?: DatasetNode): Promise<void> {
    if (node instanceof ErrorNode) return this.retry(node);
    const container = node instanceof ContainerNode ? node : node?.parent;
    if (!container) return this.reset();
    for (const [id, level] of this.levels) {
      if (id.startsWith(container.id)) {
        level.controller.abort(new CancelledError('Listing'));
        this.levels.delete(id);
      }
    }
    // The view lists it again if it shows it; nothing is listed for a hidden view.
    this.changeEmitter.fire(container);
  }

  /**
   * After this extension stored or deleted objects at `key` (a folder ending in "/" or an
   * object): re-lists the one loaded level where that shows, and nothing else.
   */
  async refreshLocation(bucket: string, key: string): Promise<void> {
    const root = this.root;
    if (!root || root.loading) return;
    const bucketNode = this.nodes.get(storeUrl(bucket, ''));
    if (!bucketNode || !root.nodes.includes(bucketNode)) {
      // A new bucket shows in the bucket list (unless the settings name another one).
      if (this.configuredBucket === undefined || this.configuredBucket === bucket) await this.reset();
      return;
    }
    let container = bucketNode as ContainerNode;
    for (const segment of key.split('/').slice(0, -1)) {
      const level = this.levels.get(container.id);
      if (!level) return; // never expanded: it is listed afresh when it is
      const next = level.folders.find((folder) => folder.prefix === `${container.prefix}${segment}/`);
      if (!next) break; // a new folder in this level
      container = next;
    }
    if (this.levels.has(container.id)) await this.refresh(container);
  }

  /** The node of a bucket or folder, for revealing it (it need not be listed yet). */
  containerNode(bucket: string, prefix: string): ContainerNode {
    if (prefix === '') return this.node(storeUrl(bucket, ''), () => new BucketNode(bucket));
    const parentPrefix = prefix.slice(0, prefix.slice(0, -1).lastIndexOf('/') + 1);
    const parent = this.containerNode(bucket, parentPrefix);
    return this.node(storeUrl(bucket, prefix), () => new FolderNode(parent, prefix));
  }

  /** Whether the node is one of this model's (a store's nodes never pass for another's). */
  owns(node: DatasetNode): boolean {
    return this.nodes.get(node.id) === node;
  }

  /** Why the level failed to list, if it did. */
  levelError(container: ContainerNode): string | undefined {
    return this.levels.get(container.id)?.error;
  }

  private async rootChildren(): Promise<DatasetNode[]> {
    if (!this.root) {
      const root: Root = { nodes: [], controller: new AbortController() };
      root.loading = this.loadRoot(root).finally(() => (root.loading = undefined));
      this.root = root;
    }
    const root = this.root;
    await root.loading;
    return root.nodes;
  }

  private async loadRoot(root: Root): Promise<void> {
    const { store, bucket, problem } = this.source.current;
    if (problem) {
      if (this.source.problemAsRow) root.nodes = [this.node('error:buckets', () => new ErrorNode(undefined, problem), (n) => n.message === problem)];
      this.setState('needsCredentials');
      return;
    }
    if (bucket) {
      // List the bucket now: an empty one shows the view's welcome (how to upload) instead.
      // A bucket not created yet is empty too: the first upload creates it.
      const node = this.containerNode(bucket, '');
      const entries = await this.children(node);
      if (this.root !== root) return;
      const level = this.levels.get(node.id);
      const empty = entries.length === 0 || level?.missingBucket === true;
      if (empty) this.levels.delete(node.id);
      root.nodes = empty ? [] : [node];
      this.setState(empty ? 'empty' : level?.error !== undefined ? 'error' : 'ready');
      return;
    }
    try {
      const buckets = await store.listBuckets({ signal: root.controller.signal });
      if (this.root !== root) return;
      root.nodes = buckets.map((name) => this.containerNode(name, ''));
      this.setState(buckets.length ? 'ready' : 'empty');
    } catch (error) {
      if (this.root !== root || isCancellation(error)) return;
      this.log.warn(`Datasets: listing the buckets of the ${store.description} failed: ${errorMessage(error)}`);
      const message = errorMessage(error);
      root.nodes = [this.node('error:buckets', () => new ErrorNode(undefined, message), (n) => n.message === message)];
      this.setState('error');
    }
  }

  private levelOf(container: ContainerNode): Level {
    let level = this.levels.get(container.id);
    if (!level) {
      level = { folders: [], objects: [], controller: new AbortController() };
      this.levels.set(container.id, level);
      level.loading = this.fetchPage(container, level);
    }
    return level;
  }

  private levelChildren(container: ContainerNode, level: Level): DatasetNode[] {
    const children: DatasetNode[] = [...level.folders, ...level.objects];
    if (level.error !== undefined) children.push(this.node(`error:${container.url}`, () => new ErrorNode(container, level.error ?? ''), (n) => n.message === level.error));
    else if (level.next !== undefined) children.push(this.node(`more:${container.url}`, () => new LoadMoreNode(container)));
    return children;
  }

  /** Lists the page at `level.next` into the level (folders, then objects, each in key order). */
  private async fetchPage(container: ContainerNode, level: Level): Promise<void> {
    const { store } = this.source.current;
    const signal = level.controller.signal;
    try {
      const page = await store.listLevel(container.bucket, container.prefix, {
        pageSize: this.pageSize,
        signal,
        ...(level.next !== undefined ? { continuationToken: level.next } : {}),
      });
      if (signal.aborted) return;
      level.folders.push(...page.folders.map((prefix) => this.node(storeUrl(container.bucket, prefix), () => new FolderNode(container, prefix)) as FolderNode));
      level.objects.push(...page.objects.map((object) => this.objectNode(container, object)));
      level.next = page.nextContinuationToken;
      level.error = undefined;
    } catch (error) {
      if (signal.aborted || isCancellation(error)) return;
      this.log.warn(`Datasets: listing ${container.url} failed: ${errorMessage(error)}`);
      level.error = errorMessage(error);
      level.missingBucket = error instanceof StorageError && error.storageCode === 'NoSuchBucket';
    } finally {
      level.loading = undefined;
    }
  }

  private async retry(node: ErrorNode): Promise<void> {
    const container = node.parent;
    if (!container) return this.reset();
    const level = this.levels.get(container.id);
    if (!level || level.loading) return this.refresh(container);
    // Only the page that failed: what the level already shows stays.
    level.error = undefined;
    level.loading = this.fetchPage(container, level);
    this.changeEmitter.fire(container);
    await level.loading;
  }

  private objectNode(container: ContainerNode, object: StoredObject): ObjectNode {
    const node = this.node(storeUrl(container.bucket, object.key), () => new ObjectNode(container, object)) as ObjectNode;
    node.object = object;
    return node;
  }

  /** One node object per id, so the view keeps expansion and selection and `reveal` finds it. */
  private node<T extends DatasetNode>(id: string, create: () => T, usable: (node: T) => boolean = () => true): T {
    const existing = this.nodes.get(id) as T | undefined;
    if (existing && usable(existing)) return existing;
    const node = create();
    this.nodes.set(id, node);
    return node;
  }

  /** The store changed (or a full refresh): forget everything, stop every listing in flight. */
  private async reset(): Promise<void> {
    this.root?.controller.abort(new CancelledError('Listing'));
    for (const level of this.levels.values()) level.controller.abort(new CancelledError('Listing'));
    this.root = undefined;
    this.levels.clear();
    this.nodes.clear();
    this.setState(this.source.current.problem ? 'needsCredentials' : 'loading');
    this.changeEmitter.fire(undefined);
  }

  private setState(state: StorageState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.stateEmitter.fire(state);
  }

  dispose(): void {
    this.root?.controller.abort(new CancelledError('Listing'));
    for (const level of this.levels.values()) level.controller.abort(new CancelledError('Listing'));
    this.subscription.dispose();
    this.changeEmitter.dispose();
    this.stateEmitter.dispose();
  }
}
