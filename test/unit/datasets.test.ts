/**
 * The Datasets view below VS Code: the folder store's bucket list and one-level listing, and the
 * model the tree shows (pages, Load more, errors with Retry, targeted refreshes, store changes).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Emitter } from '../../src/core/events';
import type { Logger } from '../../src/core/logger';
import { FolderStore } from '../../src/storage/folderStore';
import type { LevelOptions, ObjectStore, StoreLevel } from '../../src/storage/objectStore';
import { StorageError } from '../../src/storage/storageError';
import {
  BucketNode,
  DatasetsModel,
  ErrorNode,
  FolderNode,
  LoadMoreNode,
  ObjectNode,
  type ContainerNode,
  type DatasetNode,
  type DatasetStoreSource,
} from '../../src/views/datasetsModel';
import { BackendRegistry } from '../../src/backends/backendRegistry';
import { DataPlaces, type PlaceNode } from '../../src/views/datasetPlaces';
import { makeFolder, removeFolders } from '../support/jobs';
import { MemoryBackend } from '../support/memoryBackend';

after(removeFolders);

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A folder store holding `files` (key → content) in `bucket`. */
async function folderStoreWith(files: Record<string, string>, bucket = 'data'): Promise<FolderStore> {
  const store = new FolderStore(makeFolder('store'));
  await store.ensureBucket(bucket);
  const source = makeFolder('source', files);
  for (const key of Object.keys(files)) await store.upload(path.join(source, key), bucket, key);
  return store;
}

/** Every page of a level, following the continuation tokens. */
async function allPages(store: ObjectStore, bucket: string, prefix: string, pageSize: number): Promise<StoreLevel[]> {
  const pages: StoreLevel[] = [];
  let token: string | undefined;
  do {
    const page = await store.listLevel(bucket, prefix, { pageSize, ...(token !== undefined ? { continuationToken: token } : {}) });
    pages.push(page);
    token = page.nextContinuationToken;
  } while (token !== undefined && pages.length < 100);
  return pages;
}

describe('folder store: buckets and one level at a time', function () {
  it('lists the buckets, leaving out its own folders and names no bucket can have', async function () {
    assert.deepEqual(await new FolderStore(path.join(makeFolder('none'), 'missing')).listBuckets(), [], 'no root yet: no buckets');
    const store = await folderStoreWith({ f: 'x' }, 'zeta');
    await store.ensureBucket('alpha-1');
    fs.mkdirSync(path.join(store.root, '.partial'), { recursive: true });
    fs.mkdirSync(path.join(store.root, 'Not_A_Bucket'));
    fs.writeFileSync(path.join(store.root, 'file-not-folder'), '');
    assert.deepEqual(await store.listBuckets(), ['alpha-1', 'zeta']);
  });

  it('lists folders (full prefixes) and objects of one level, in key order', async function () {
    const store = await folderStoreWith({ 'a.txt': '1', 'a/b': '22', 'a/c/d': '333', a0: '4', 'b/x': '5' });
    const root = await store.listLevel('data', '');
    assert.deepEqual(root.folders, ['a/', 'b/']);
    assert.deepEqual(root.objects.map((o) => [o.key, o.size]), [['a.txt', 1], ['a0', 1]]);
    assert.ok(root.objects.every((o) => o.etag && o.lastModified), 'objects carry an ETag and a time');
    assert.equal(root.nextContinuationToken, undefined);
    const a = await store.listLevel('data', 'a/');
    assert.deepEqual([a.folders, a.objects.map((o) => o.key)], [['a/c/'], ['a/b']]);
    // A prefix that is not a whole folder filters the level, as S3 does.
    const partial = await store.listLevel('data', 'a');
    assert.deepEqual([partial.folders, partial.objects.map((o) => o.key)], [['a/'], ['a.txt', 'a0']]);
    assert.deepEqual(await store.listLevel('data', 'nothing/'), { folders: [], objects: [] });
  });

  it('pages through a level with continuation tokens, each entry once', async function () {
    const files: Record<string, string> = {};
    for (let i = 0; i < 7; i += 1) files[`f${i}`] = 'x'.repeat(i);
    for (let i = 0; i < 5; i += 1) files[`d${i}/inner`] = 'y';
    const store = await folderStoreWith(files);
    const pages = await allPages(store, 'data', '', 5);
    assert.deepEqual(pages.map((p) => p.folders.length + p.objects.length), [5, 5, 2]);
    assert.ok(pages.slice(0, -1).every((p) => p.nextContinuationToken !== undefined) && pages.at(-1)?.nextContinuationToken === undefined);
    const keys = pages.flatMap((p) => [...p.folders, ...p.objects.map((o) => o.key)]).sort();
    assert.deepEqual(keys, ['d0/', 'd1/', 'd2/', 'd3/', 'd4/', 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
  });

  it('says which bucket is missing and reads nothing outside the bucket', async function () {
    const store = await folderStoreWith({ f: 'x' });
    await assert.rejects(store.listLevel('nope', ''), (error: unknown) => error instanceof StorageError && error.storageCode === 'NoSuchBucket' && /"nope"/.test(error.message));
    fs.writeFileSync(path.join(store.root, 'outside'), 'secret');
    assert.deepEqual(await store.listLevel('data', '../'), { folders: [], objects: [] });
    assert.deepEqual(await store.listLevel('data', 'a/../../'), { folders: [], objects: [] });
  });

  it('stops when aborted', async function () {
    const store = await folderStoreWith({ f: 'x' });
    const options: LevelOptions = { signal: AbortSignal.abort() };
    await assert.rejects(store.listLevel('data', '', options), { name: 'CancelledError' });
    await assert.rejects(store.listBuckets(options), { name: 'CancelledError' });
  });
});

/** A store that can be made to fail like an unreachable server. */
class FlakyStore extends FolderStore {
  failing = false;
  listed: string[] = [];
  override async listBuckets(options?: { readonly signal?: AbortSignal }): Promise<string[]> {
    if (this.failing) throw new StorageError('ListBuckets of http://127.0.0.1:1 failed (ECONNREFUSED): nothing answers there', 'ECONNREFUSED');
    return super.listBuckets(options);
  }
  override async listLevel(bucket: string, prefix: string, options?: LevelOptions): Promise<StoreLevel> {
    this.listed.push(`${bucket}/${prefix}`);
    if (this.failing) throw new StorageError(`ListObjectsV2 of s3://${bucket}/${prefix} failed: HTTP 403 InvalidAccessKeyId`, 'InvalidAccessKeyId', 403);
    return super.listLevel(bucket, prefix, options);
  }
}

function sourceOf(current: DatasetStoreSource['current']): DatasetStoreSource & { set(next: DatasetStoreSource['current']): void } {
  const emitter = new Emitter<unknown>();
  const source = {
    current,
    onDidChange: emitter.event,
    set(next: DatasetStoreSource['current']) {
      source.current = next;
      emitter.fire(next);
    },
  };
  return source;
}

function names(nodes: readonly DatasetNode[]): string[] {
  return nodes.map((node) => {
    if (node instanceof BucketNode) return `bucket:${node.bucket}`;
    if (node instanceof FolderNode) return `folder:${node.name}`;
    if (node instanceof ObjectNode) return `object:${node.name}`;
    if (node instanceof LoadMoreNode) return 'more';
    return `error:${(node as ErrorNode).message}`;
  });
}

describe('datasets model', function () {
  it('shows the buckets, then folders before objects a page at a time, with Load more', async function () {
    const files: Record<string, string> = { 'digits/data/a.csv': '1', 'digits/b': '22', 'digits/e': '3', 'digits/sub/x': '4' };
    const store = new FlakyStore(makeFolder('store'));
    const source = makeFolder('source', files);
    for (const key of Object.keys(files)) await store.upload(path.join(source, key), 'sets', key);
    await store.ensureBucket('other');
    const model = new DatasetsModel(sourceOf({ store }), quiet, 2);
    const roots = await model.children();
    assert.deepEqual(names(roots), ['bucket:other', 'bucket:sets']);
    assert.equal(model.state, 'ready');
    const [digits] = (await model.children(roots[1])) as ContainerNode[];
    assert.ok(digits instanceof FolderNode && digits.url === 'obs://sets/digits/');
    const first = await model.children(digits);
    assert.deepEqual(names(first), ['folder:data', 'object:b', 'more'], 'a page of two in key order ("b" < "data/"), folders first');
    await model.loadMore(digits);
    const all = await model.children(digits);
    assert.deepEqual(names(all), ['folder:data', 'folder:sub', 'object:b', 'object:e']);
    assert.equal(all[0], first[0], 'the same node object for the same folder (the view keeps its state)');
    assert.equal((all[2] as ObjectNode).object.size, 2);
    assert.equal(model.containerNode('sets', 'digits/data/'), all[0], 'containerNode finds the listed node (for reveal)');
    assert.equal(model.containerNode('sets', 'digits/data/').parent, digits);
  });

  it('says when the store is empty or needs credentials, without listing anything', async function () {
    const store = new FlakyStore(makeFolder('store'));
    const empty = new DatasetsModel(sourceOf({ store }), quiet);
    assert.deepEqual(await empty.children(), []);
    assert.equal(empty.state, 'empty');
    const locked = new DatasetsModel(sourceOf({ store, problem: 'the S3 store at http://x has no credentials' }), quiet);
    assert.deepEqual(await locked.children(), []);
    assert.equal(locked.state, 'needsCredentials');
    assert.deepEqual(store.listed, []);
  });

  it('shows only the configured bucket, and treats one not created yet as empty', async function () {
    const store = await folderStoreWith({ 'set/f': 'x' }, 'mine');
    await store.ensureBucket('theirs');
    const mine = new DatasetsModel(sourceOf({ store, bucket: 'mine' }), quiet);
    assert.deepEqual(names(await mine.children()), ['bucket:mine']);
    const missing = new DatasetsModel(sourceOf({ store, bucket: 'not-yet' }), quiet);
    assert.deepEqual(await missing.children(), []);
    assert.equal(missing.state, 'empty');
  });

  it('shows a failed listing as an error row, and Retry lists again', async function () {
    const store = new FlakyStore(makeFolder('store'));
    await store.ensureBucket('data');
    store.failing = true;
    const model = new DatasetsModel(sourceOf({ store }), quiet);
    const roots = await model.children();
    assert.ok(roots[0] instanceof ErrorNode && /ECONNREFUSED/.test(roots[0].message));
    assert.equal(model.state, 'error');
    store.failing = false;
    await model.refresh(roots[0]);
    assert.deepEqual(names(await model.children()), ['bucket:data']);

    const bucket = (await model.children())[0] as BucketNode;
    store.failing = true;
    const failed = await model.children(bucket);
    assert.ok(failed[0] instanceof ErrorNode && failed[0].parent === bucket && /InvalidAccessKeyId/.test(failed[0].message));
    assert.equal(model.levelError(bucket), failed[0].message);
    store.failing = false;
    const changed: Array<DatasetNode | undefined> = [];
    model.onDidChange((node) => changed.push(node));
    await model.refresh(failed[0]);
    assert.deepEqual(changed, [bucket], 'Retry repaints the failed level only');
    assert.deepEqual(await model.children(bucket), []);
    assert.equal(model.levelError(bucket), undefined);
  });

  it('after an upload re-lists only the level that shows it', async function () {
    const store = new FlakyStore(makeFolder('store'));
    const source = makeFolder('source', { 'data/a': '1', 'other/b': '2', new: '3' });
    await store.upload(path.join(source, 'data/a'), 'sets', 'digits/data/a');
    await store.upload(path.join(source, 'other/b'), 'sets', 'other/b');
    const model = new DatasetsModel(sourceOf({ store }), quiet);
    const [bucket] = (await model.children()) as BucketNode[];
    const [digits, other] = (await model.children(bucket)) as FolderNode[];
    await model.children(other);
    const changed: Array<DatasetNode | undefined> = [];
    model.onDidChange((node) => changed.push(node));

    // digits/ is listed in the bucket but was never expanded: nothing to re-list.
    await store.upload(path.join(source, 'new'), 'sets', 'digits/data/new');
    await model.refreshLocation('sets', 'digits/data/');
    assert.deepEqual(changed, []);
    // A new folder in a listed level: that level.
    await store.upload(path.join(source, 'new'), 'sets', 'other/fresh/new');
    await model.refreshLocation('sets', 'other/fresh/');
    assert.deepEqual(changed, [other]);
    assert.deepEqual(names(await model.children(other)), ['folder:fresh', 'object:b']);
    // A new bucket: the bucket list.
    await store.upload(path.join(source, 'new'), 'brand-new', 'x');
    await model.refreshLocation('brand-new', '');
    assert.deepEqual(changed, [other, undefined]);
    assert.deepEqual(names(await model.children()), ['bucket:brand-new', 'bucket:sets']);
    assert.ok(digits instanceof FolderNode);
  });

  it('starts over when the store changes, stopping listings in flight', async function () {
    const first = await folderStoreWith({ 'a/f': 'x' }, 'first');
    const second = await folderStoreWith({ 'b/f': 'x' }, 'second');
    const source = sourceOf({ store: first });
    const model = new DatasetsModel(source, quiet);
    assert.deepEqual(names(await model.children()), ['bucket:first']);
    const changed: Array<DatasetNode | undefined> = [];
    model.onDidChange((node) => changed.push(node));
    source.set({ store: second });
    assert.deepEqual(changed, [undefined]);
    assert.deepEqual(names(await model.children()), ['bucket:second']);
    source.set({ store: second, problem: 'no credentials' });
    assert.equal(model.state, 'needsCredentials');
    assert.deepEqual(await model.children(), []);
    model.dispose();
  });
});

describe('the Datasets view over several stores', function () {
  /** A backend with a store of its own, as a ModelArts account has its OBS. */
  function storingBackend(id: string, store: ObjectStore | Error) {
    const backend = new MemoryBackend({ id, displayName: `Cloud ${id}` });
    Object.assign(backend, {
      dataStorage: {
        storageLabel: 'OBS',
        objectStore: () => {
          if (store instanceof Error) throw store;
          return store;
        },
      },
    });
    return backend;
  }

  it('lists the settings\' store at the top alone, and a root per store once a backend brings its own; each node knows its store', async function () {
    const local = new DatasetsModel(sourceOf({ store: await folderStoreWith({ 'digits/a.csv': 'a' }, 'datasets') }), quiet);
    const registry = new BackendRegistry();
    const places = new DataPlaces({ backend: 'local', label: 'Local (Docker)', kind: 'folder store', model: local }, registry, quiet);
    const changes: number[] = [];
    places.onDidChange(() => changes.push(1));
    const top = await places.roots();
    assert.deepEqual(top.map((n) => (n as BucketNode).bucket), ['datasets'], 'one store: its buckets at the top, as before');
    assert.ok(!places.several);

    const cloudStore = await folderStoreWith({ 'mnist/train.csv': 'x' }, 'datasets');
    const added = registry.add(storingBackend('cloud-a', cloudStore));
    assert.equal(changes.length, 1, 'a store came: the top level changed');
    const roots = await places.roots();
    assert.deepEqual(roots.map((n) => (n as PlaceNode).place.label), ['Local (Docker)', 'Cloud cloud-a']);
    const [localRoot, cloudRoot] = roots as PlaceNode[];
    const cloudBuckets = await cloudRoot!.place.model.children();
    const localBuckets = await localRoot!.place.model.children();
    const cloudFolder = (await cloudRoot!.place.model.children(cloudBuckets[0]))[0] as FolderNode;
    assert.equal(cloudFolder.url, 'obs://datasets/mnist/');
    assert.equal(places.placeOf(cloudFolder).backend, 'cloud-a', 'the same URL scheme, but the node is the cloud store\'s');
    assert.equal(places.placeOf(localBuckets[0]).backend, 'local');
    assert.notEqual(places.itemId(cloudBuckets[0]!), places.itemId(localBuckets[0]!), 'same bucket name in two stores: two rows, two ids');
    assert.equal(places.parentOf(cloudBuckets[0]!), cloudRoot, 'a bucket\'s parent row is its store\'s root');
    assert.equal(places.place('cloud-a').backend, 'cloud-a');
    assert.throws(() => places.place('modelarts:nowhere', 'backend'), /backend "modelarts:nowhere" has no store in the Datasets view \(stores: local, cloud-a\)/);

    added.dispose();
    assert.equal(changes.length, 2);
    assert.ok(!places.several, 'the backend went: its store went with it');
    places.dispose();
    local.dispose();
    registry.dispose();
  });

  it('shows why a backend\'s store cannot be reached as a row under its root (no access keys)', async function () {
    const local = new DatasetsModel(sourceOf({ store: await folderStoreWith({ 'a.csv': 'a' }) }), quiet);
    const registry = new BackendRegistry();
    registry.add(storingBackend('cloud-b', new Error('OBS needs access keys (AK/SK)')));
    const places = new DataPlaces({ backend: 'local', label: 'Local', kind: 'folder store', model: local }, registry, quiet);
    const cloud = places.place('cloud-b');
    const rows = await cloud.model.children();
    assert.equal(rows.length, 1);
    assert.ok(rows[0] instanceof ErrorNode);
    assert.match((rows[0] as ErrorNode).message, /OBS needs access keys/);
    assert.equal(places.placeOf(rows[0]).backend, 'cloud-b');
    places.dispose();
    local.dispose();
    registry.dispose();
  });
});
