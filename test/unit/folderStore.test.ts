import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, InvalidInputError } from '../../src/core/errors';
import { FolderStore } from '../../src/storage/folderStore';
import { InputCache } from '../../src/storage/inputCache';
import type { ObjectStore, StoreLevel, StoreLocation, StoredObject, TransferOptions, TransferProgress } from '../../src/storage/objectStore';
import { StorageError } from '../../src/storage/storageError';
import { createStoreResolver } from '../../src/storage/storeResolver';
import { deletePrefix, downloadPrefix, fingerprintPrefix, uploadFolder } from '../../src/storage/transfer';
import { makeFolder, removeFolders } from '../support/jobs';

after(removeFolders);

const ESCAPING_KEYS = ['../x', 'a/../../x', '/etc/passwd', 'a\\..\\x', 'a\0b', 'a/./b', 'a//b', 'a/'];

async function listAll(store: ObjectStore, bucket: string, prefix: string, pageSize?: number): Promise<StoredObject[][]> {
  const pages: StoredObject[][] = [];
  for await (const page of store.list(bucket, prefix, pageSize ? { pageSize } : {})) pages.push(page);
  return pages;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.isDirectory()) walk(path.join(d, entry.name), `${rel}${entry.name}/`);
      else out.push(rel + entry.name);
    }
  };
  if (fs.existsSync(dir)) walk(dir, '');
  return out;
}

/** A folder store with `files` in bucket "data", and its location `prefix`. */
async function storeWith(files: Record<string, string>, prefix = 'set/'): Promise<{ store: FolderStore; location: StoreLocation }> {
  const store = new FolderStore(makeFolder('store'));
  await store.ensureBucket('data');
  const source = makeFolder('source', files);
  for (const name of Object.keys(files)) await store.upload(path.join(source, name), 'data', prefix + name);
  return { store, location: { store, bucket: 'data', prefix, url: `obs://data/${prefix}` } };
}

/** A store that lists what it is told and serves every object as its key: for keys no folder can hold. */
class ListedStore implements ObjectStore {
  readonly description = 'listed store';
  readonly downloaded: string[] = [];
  constructor(private readonly objects: StoredObject[]) {}
  async *list(): AsyncIterable<StoredObject[]> {
    yield this.objects;
  }
  async download(_bucket: string, key: string, file: string): Promise<void> {
    this.downloaded.push(key);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(file, key);
  }
  async listLevel(): Promise<StoreLevel> {
    return { folders: [], objects: this.objects };
  }
  async listBuckets(): Promise<string[]> {
    return [];
  }
  async upload(): Promise<void> {}
  async deleteObjects(): Promise<void> {}
  async ensureBucket(): Promise<void> {}
}

/** Counts the downloads of a real store. */
class CountingStore implements ObjectStore {
  downloads = 0;
  constructor(private readonly inner: ObjectStore) {}
  get description() {
    return this.inner.description;
  }
  list(bucket: string, prefix: string) {
    return this.inner.list(bucket, prefix);
  }
  listLevel(bucket: string, prefix: string) {
    return this.inner.listLevel(bucket, prefix);
  }
  listBuckets() {
    return this.inner.listBuckets();
  }
  download(bucket: string, key: string, file: string, options?: TransferOptions) {
    this.downloads += 1;
    return this.inner.download(bucket, key, file, options);
  }
  upload(file: string, bucket: string, key: string, options?: TransferOptions) {
    return this.inner.upload(file, bucket, key, options);
  }
  deleteObjects(bucket: string, keys: readonly string[]) {
    return this.inner.deleteObjects(bucket, keys);
  }
  ensureBucket(bucket: string) {
    return this.inner.ensureBucket(bucket);
  }
}

describe('folder store', function () {
  it('lists in S3 key order, page by page, filtered by prefix', async function () {
    const { store } = await storeWith({ 'a.txt': '1', 'a/b': '22', 'a/c/d': '333', 'a0': '4', 'b/x': '5', 'part-1': '6', 'part-2/y': '7' }, '');
    const pages = await listAll(store, 'data', '', 3);
    assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
    assert.deepEqual(pages.flat().map((o) => o.key), ['a.txt', 'a/b', 'a/c/d', 'a0', 'b/x', 'part-1', 'part-2/y']);
    assert.deepEqual(pages.flat().map((o) => o.size), [1, 2, 3, 1, 1, 1, 1]);
    assert.ok(pages.flat().every((o) => o.etag && o.lastModified));
    assert.deepEqual((await listAll(store, 'data', 'a/')).flat().map((o) => o.key), ['a/b', 'a/c/d']);
    assert.deepEqual((await listAll(store, 'data', 'part-')).flat().map((o) => o.key), ['part-1', 'part-2/y']);
    assert.deepEqual((await listAll(store, 'data', 'nothing/')).flat(), []);
  });

  it('round-trips a file, writing through a temporary file, and deletes keys', async function () {
    const { store } = await storeWith({ 'deep/er/f.bin': 'hello' });
    const target = path.join(makeFolder('target'), 'sub', 'f.bin');
    await store.download('data', 'set/deep/er/f.bin', target);
    assert.equal(fs.readFileSync(target, 'utf8'), 'hello');
    assert.deepEqual(fs.readdirSync(path.dirname(target)), ['f.bin'], 'no temporary file is left');
    assert.deepEqual(fs.readdirSync(path.join(store.root, '.partial')), []);
    await store.deleteObjects('data', ['set/deep/er/f.bin', 'set/missing']);
    assert.deepEqual((await listAll(store, 'data', '')).flat(), []);
    assert.deepEqual(fs.readdirSync(path.join(store.root, 'data')), [], 'folders emptied by the deletion go too');
  });

  it('refuses keys that would escape the bucket, naming the key', async function () {
    const jail = makeFolder('jail');
    const store = new FolderStore(path.join(jail, 'store'));
    await store.ensureBucket('data');
    const file = path.join(makeFolder('src', { f: 'x' }), 'f');
    for (const key of ESCAPING_KEYS) {
      const named = (error: unknown) => error instanceof InvalidInputError && error.message.includes(`"${key}"`);
      await assert.rejects(store.upload(file, 'data', key), named, `upload ${JSON.stringify(key)}`);
      await assert.rejects(store.download('data', key, path.join(makeFolder('t'), 'f')), named, `download ${JSON.stringify(key)}`);
      await assert.rejects(store.deleteObjects('data', [key]), named, `delete ${JSON.stringify(key)}`);
    }
    assert.deepEqual(filesUnder(jail), [], 'nothing written anywhere');
    await assert.rejects(store.ensureBucket('../up'), InvalidInputError);
  });

  it('says which bucket is missing', async function () {
    const store = new FolderStore(makeFolder('store'));
    await assert.rejects(listAll(store, 'nope', ''), (error: unknown) => error instanceof StorageError && /Bucket "nope" does not exist/.test(error.message));
  });
});

describe('folder transfers', function () {
  it('uploads a folder and downloads it back, reporting aggregated progress', async function () {
    const files = { 'a.txt': 'alpha', 'sub/b.bin': 'x'.repeat(5000), 'sub/deeper/c': '' };
    const store = new FolderStore(makeFolder('store'));
    await store.ensureBucket('data');
    const location: StoreLocation = { store, bucket: 'data', prefix: 'out/', url: 'obs://data/out/' };
    const progress: TransferProgress[] = [];
    const up = await uploadFolder(makeFolder('source', files), location, { onProgress: (p) => progress.push(p), concurrency: 2 });
    assert.deepEqual(up, { objects: 3, bytes: 5005 });
    assert.deepEqual(progress.at(-1), { bytes: 5005, totalBytes: 5005, objects: 3, totalObjects: 3 });
    assert.ok(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1]!.bytes), 'progress never goes back');

    const target = makeFolder('target');
    const down = await downloadPrefix(location, target, { concurrency: 3 });
    assert.deepEqual(down, { objects: 3, bytes: 5005 });
    assert.deepEqual(filesUnder(target), ['a.txt', 'sub/b.bin', 'sub/deeper/c']);
    assert.equal(fs.readFileSync(path.join(target, 'sub/b.bin'), 'utf8'), files['sub/b.bin']);
  });

  it('refuses an escaping key before writing anything', async function () {
    for (const bad of ['set/a/../../x', 'set/../x', 'set//etc/x', 'set/a\\b']) {
      const store = new ListedStore([
        { key: 'set/first', size: 1 },
        { key: bad, size: 1 },
        { key: 'set/last', size: 1 },
      ]);
      const target = path.join(makeFolder('target'), 'in');
      await assert.rejects(
        downloadPrefix({ store, bucket: 'b', prefix: 'set/', url: 'obs://b/set/' }, target),
        (error: unknown) => error instanceof InvalidInputError && error.message.includes(`"${bad}"`),
        bad,
      );
      assert.deepEqual(store.downloaded, [], 'nothing downloaded');
      assert.equal(fs.existsSync(target), false, 'not even the folder');
    }
  });

  it('makes folders of folder markers and refuses a file/folder clash', async function () {
    const store = new ListedStore([
      { key: 'set/', size: 0 },
      { key: 'set/empty/', size: 0 },
      { key: 'set/f', size: 1 },
    ]);
    const target = makeFolder('target');
    const result = await downloadPrefix({ store, bucket: 'b', prefix: 'set/', url: 'obs://b/set/' }, target);
    assert.deepEqual(result, { objects: 1, bytes: 1 });
    assert.ok(fs.statSync(path.join(target, 'empty')).isDirectory());
    const clash = new ListedStore([
      { key: 'set/a', size: 1 },
      { key: 'set/a/b', size: 1 },
    ]);
    await assert.rejects(downloadPrefix({ store: clash, bucket: 'b', prefix: 'set/', url: 'obs://b/set/' }, makeFolder('t')), /"set\/a\/b".*both a file and a folder/);
    const markerClash = new ListedStore([
      { key: 'set/a', size: 1 },
      { key: 'set/a/', size: 0 },
    ]);
    await assert.rejects(downloadPrefix({ store: markerClash, bucket: 'b', prefix: 'set/', url: 'obs://b/set/' }, makeFolder('t')), /"set\/a\/".*both a file and a folder/);
  });

  it('stops on cancel and leaves no half-written file', async function () {
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i += 1) files[`f${String(i).padStart(2, '0')}`] = 'y'.repeat(200_000);
    const { location } = await storeWith(files);
    const controller = new AbortController();
    const target = makeFolder('target');
    let done = 0;
    await assert.rejects(
      downloadPrefix(location, target, {
        concurrency: 2,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.objects > done && (done = p.objects) >= 3) controller.abort();
        },
      }),
      CancelledError,
    );
    const left = fs.readdirSync(target);
    assert.ok(left.length >= 3 && left.length < 40, `stopped early (${left.length} files)`);
    assert.deepEqual(left.filter((f) => f.includes('.partial-')), []);
    assert.ok(left.every((f) => fs.statSync(path.join(target, f)).size === 200_000), 'every file there is complete');
  });

  it('deletes a prefix and fingerprints by key, size and ETag', async function () {
    const { store, location } = await storeWith({ a: '1', 'b/c': '22' });
    await store.upload(path.join(makeFolder('o', { other: 'z' }), 'other'), 'data', 'setx/other');
    const first = await fingerprintPrefix(location);
    assert.equal(first.objects, 2);
    assert.equal(first.bytes, 3);
    assert.equal((await fingerprintPrefix(location)).hash, first.hash, 'stable');
    await store.upload(path.join(makeFolder('o', { c: '333' }), 'c'), 'data', 'set/b/c');
    assert.notEqual((await fingerprintPrefix(location)).hash, first.hash, 'a changed object changes it');
    assert.deepEqual(await deletePrefix(location), { objects: 2, bytes: 4 });
    assert.deepEqual((await listAll(store, 'data', '')).flat().map((o) => o.key), ['setx/other'], 'only the prefix went');
  });
});

describe('store URLs to locations', function () {
  it('sends obs:// and s3:// to the S3 store when there is one, else to the folder store', function () {
    const folderStore = new FolderStore('/tmp/none');
    const s3Store = new ListedStore([]);
    const local = createStoreResolver({ folderStore });
    assert.deepEqual(
      { ...local.resolve('obs://my-bucket/data/set', 'f'), store: undefined },
      { store: undefined, bucket: 'my-bucket', prefix: 'data/set/', url: 'obs://my-bucket/data/set' },
    );
    assert.equal(local.resolve('s3://my-bucket', 'f').prefix, '');
    assert.equal(local.resolve('s3://my-bucket/a/', 'f').store, folderStore);
    const remote = createStoreResolver({ folderStore, s3Store });
    assert.equal(remote.resolve('obs://my-bucket/a/', 'f').store, s3Store);
    assert.equal(remote.resolve('s3://my-bucket/a/', 'f').store, s3Store);
  });

  it('refuses file:// and bad URLs, naming the field', function () {
    const resolver = createStoreResolver({ folderStore: new FolderStore('/tmp/none') });
    assert.throws(
      () => resolver.resolve('file:///data/set/', 'inputs[0].url'),
      (error: unknown) => error instanceof InvalidInputError && error.fields[0] === 'inputs[0].url' && /local folder path itself \(\/data\/set\/\)/.test(error.message),
    );
    for (const bad of ['obs://b/../x', 'obs://bucket//x', 'http://x/y']) {
      assert.throws(() => resolver.resolve(bad, 'out'), (error: unknown) => error instanceof InvalidInputError && error.fields[0] === 'out', bad);
    }
  });
});

describe('input cache', function () {
  it('downloads on a miss, serves the same folder on a hit, readable by the container user', async function () {
    const { location } = await storeWith({ 'x.csv': 'a,b\n1,2\n', 'img/1.png': 'png' });
    const counting = new CountingStore(location.store);
    const cache = new InputCache(makeFolder('cache'));
    const first = await cache.stage({ ...location, store: counting });
    assert.equal(first.hit, false);
    assert.deepEqual([first.objects, first.bytes, counting.downloads], [2, 11, 2]);
    assert.equal(path.basename(first.dir), first.hash);
    assert.deepEqual(filesUnder(first.dir), ['img/1.png', 'x.csv']);
    assert.equal(fs.statSync(first.dir).mode & 0o777, 0o755);
    assert.equal(fs.statSync(path.join(first.dir, 'img')).mode & 0o777, 0o755);
    assert.equal(fs.statSync(path.join(first.dir, 'x.csv')).mode & 0o777, 0o644);

    const second = await cache.stage({ ...location, store: counting });
    assert.equal(second.hit, true);
    assert.equal(second.dir, first.dir);
    assert.equal(counting.downloads, 2, 'nothing downloaded again');
    assert.deepEqual(fs.readdirSync(cache.root).filter((n) => n.includes('.partial-')), []);
    first.release();
    second.release();
  });

  it('shares one download between concurrent stages of the same input', async function () {
    const { location } = await storeWith({ a: '1', b: '2', c: '3' });
    const counting = new CountingStore(location.store);
    const cache = new InputCache(makeFolder('cache'));
    const staged = await Promise.all([1, 2, 3].map(() => cache.stage({ ...location, store: counting })));
    assert.equal(counting.downloads, 3, 'each object once');
    assert.equal(new Set(staged.map((s) => s.dir)).size, 1);
    staged.forEach((s) => s.release());
  });

  it('evicts the least recently used entries above its budget, never one in use', async function () {
    const root = makeFolder('cache');
    const cache = new InputCache(root, { maxBytes: 2500 });
    const a = await storeWith({ f: 'a'.repeat(1000) }, 'a/');
    const b = await storeWith({ f: 'b'.repeat(1000) }, 'b/');
    const c = await storeWith({ f: 'c'.repeat(1000) }, 'c/');
    const stagedA = await cache.stage(a.location);
    stagedA.release();
    const stagedB = await cache.stage(b.location);
    stagedB.release();
    assert.equal((await cache.stage(a.location)).hit, true, 'a is used again: b is now the oldest'); // pinned from here on
    const stagedC = await cache.stage(c.location);
    stagedC.release();
    assert.ok(fs.existsSync(stagedA.dir), 'a stays (recently used and in use)');
    assert.equal(fs.existsSync(stagedB.dir), false, 'b, least recently used, went');
    assert.ok(fs.existsSync(stagedC.dir));

    const tight = new InputCache(root, { maxBytes: 500 });
    const stagedB2 = await tight.stage(b.location);
    assert.equal(stagedB2.hit, false);
    assert.ok(fs.existsSync(stagedA.dir) && fs.existsSync(stagedB2.dir), 'entries in use stay even above the budget');
    assert.equal(fs.existsSync(stagedC.dir), false);
    stagedB2.release();
  });

  it('misses when the content changed, and cleans up after a cancelled stage', async function () {
    const { store, location } = await storeWith({ f: 'one' });
    const cache = new InputCache(makeFolder('cache'));
    const first = await cache.stage(location);
    await store.upload(path.join(makeFolder('n', { f: 'three' }), 'f'), 'data', 'set/f');
    const second = await cache.stage(location);
    assert.equal(second.hit, false);
    assert.notEqual(second.hash, first.hash);
    assert.equal(fs.readFileSync(path.join(second.dir, 'f'), 'utf8'), 'three');

    const many: Record<string, string> = {};
    for (let i = 0; i < 30; i += 1) many[`f${i}`] = 'z'.repeat(100_000);
    const big = await storeWith(many, 'big/');
    const controller = new AbortController();
    await assert.rejects(cache.stage(big.location, { signal: controller.signal, concurrency: 1, onProgress: (p) => p.objects >= 2 && controller.abort() }), CancelledError);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(fs.readdirSync(cache.root).filter((n) => n.includes('.partial-')), [], 'no partial entry left');
    assert.deepEqual(fs.readdirSync(path.join(cache.root, 'pins')).length, 2, 'only the two live stages are pinned');
  });
});
