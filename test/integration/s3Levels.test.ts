/**
 * What the Datasets view asks of an S3 store, against the real S3 server (Ceph radosgw): the
 * bucket list and one-level listings with the delimiter "/", page by page.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeleteBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CancelledError } from '../../src/core/errors';
import type { StoreLevel, StoreLocation } from '../../src/storage/objectStore';
import { S3Store } from '../../src/storage/s3Store';
import { StorageError } from '../../src/storage/storageError';
import { findData } from '../../src/storage/dataTransfers';
import { deletePrefix, uploadFolder } from '../../src/storage/transfer';
import { makeFolder, removeFolders } from '../support/jobs';
import { ensureS3Server, type S3ServerConfig } from '../support/s3Server';

describe('S3Store levels on the s3 test server (real Ceph radosgw)', function () {
  let server: S3ServerConfig;
  let store: S3Store;
  let sdk: S3Client;
  const id = randomBytes(4).toString('hex');
  const bucket = `modelarts-lv-${id}`;
  const emptyBucket = `modelarts-lv-empty-${id}`;
  const at = (prefix: string): StoreLocation => ({ store, bucket, prefix, url: `s3://${bucket}/${prefix}` });

  before(async function () {
    this.timeout(300_000);
    server = await ensureS3Server();
    const credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
    store = new S3Store({ endpoint: server.endpoint, region: server.region, credentials }, { stateDir: makeFolder('s3-levels-state') });
    sdk = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials });
    await store.ensureBucket(bucket);
    await store.ensureBucket(emptyBucket);
  });

  after(async function () {
    this.timeout(120_000);
    if (store) {
      await deletePrefix(at('')).catch(() => undefined);
      for (const name of [bucket, emptyBucket]) await sdk.send(new DeleteBucketCommand({ Bucket: name })).catch(() => undefined);
      store.dispose();
      sdk.destroy();
    }
    removeFolders();
  });

  it('lists the buckets, sorted', async function () {
    const buckets = await store.listBuckets();
    assert.ok(buckets.includes(bucket) && buckets.includes(emptyBucket), buckets.join(', '));
    assert.deepEqual(buckets, [...buckets].sort());
  });

  it('lists one level: folders as full prefixes, objects with sizes, the folder marker left out', async function () {
    const dir = makeFolder('level', { 'a.txt': '1', 'a/b': '22', 'a/c/d': '333', a0: '4444', 'b/x': '5' });
    await uploadFolder(dir, at(''));
    // A console's folder marker: a zero-byte object named like the folder.
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/', Body: new Uint8Array(0), ContentLength: 0 }));
    const root = await store.listLevel(bucket, '');
    assert.deepEqual(root.folders, ['a/', 'b/']);
    assert.deepEqual(root.objects.map((o) => [o.key, o.size]), [['a.txt', 1], ['a0', 4]]);
    assert.ok(root.objects.every((o) => o.etag && o.lastModified));
    assert.equal(root.nextContinuationToken, undefined);
    const a = await store.listLevel(bucket, 'a/');
    assert.deepEqual([a.folders, a.objects.map((o) => o.key)], [['a/c/'], ['a/b']], 'the marker "a/" is the level itself, not an entry');
    const partial = await store.listLevel(bucket, 'a');
    assert.deepEqual([partial.folders, partial.objects.map((o) => o.key)], [['a/'], ['a.txt', 'a0']]);
    assert.deepEqual(await store.listLevel(bucket, 'nothing/'), { folders: [], objects: [] });
  });

  it('finds an object by its URL without a trailing "/", beside a folder and an object sharing its name\'s start', async function () {
    await uploadFolder(makeFolder('find-object', { 'find/train.py': 'print(1)\n', 'find/train.py.bak': 'old' }), at(''));
    await uploadFolder(makeFolder('find-folder', { inner: 'x' }), at('find/train.py/'));
    const object = await findData(store, { scheme: 's3', bucket, key: 'find/train.py' });
    assert.deepEqual([object.isFolder, object.objects.map((o) => [o.key, o.size])], [false, [['find/train.py', 9]]], 'the object itself, not the folder of that name');
    const folder = await findData(store, { scheme: 's3', bucket, key: 'find/train.p' });
    assert.deepEqual([folder.isFolder, folder.objects.length], [true, 0], 'no object of that key: the (empty) folder');
  });

  it('pages past one page with continuation tokens, each entry once', async function () {
    this.timeout(120_000);
    const dir = makeFolder('paged');
    for (let i = 0; i < 110; i += 1) fs.writeFileSync(path.join(dir, `o-${String(i).padStart(3, '0')}`), String(i));
    for (let i = 0; i < 15; i += 1) {
      fs.mkdirSync(path.join(dir, `d-${String(i).padStart(2, '0')}`));
      fs.writeFileSync(path.join(dir, `d-${String(i).padStart(2, '0')}`, 'inner'), 'x');
    }
    await uploadFolder(dir, at('paged/'), { concurrency: 16 });
    const pages: StoreLevel[] = [];
    let token: string | undefined;
    do {
      const page = await store.listLevel(bucket, 'paged/', { pageSize: 100, ...(token ? { continuationToken: token } : {}) });
      pages.push(page);
      token = page.nextContinuationToken;
    } while (token && pages.length < 10);
    assert.deepEqual(pages.map((p) => p.folders.length + p.objects.length), [100, 25]);
    assert.equal(pages[0]?.folders.length, 15, 'the folders ("d-…") sort first and come in the first page');
    const keys = pages.flatMap((p) => [...p.folders, ...p.objects.map((o) => o.key)]);
    assert.equal(new Set(keys).size, 125);
    assert.deepEqual(keys.filter((k) => k.endsWith('/')), Array.from({ length: 15 }, (_, i) => `paged/d-${String(i).padStart(2, '0')}/`));
  });

  it('lists an empty bucket as nothing, and says which bucket is missing', async function () {
    assert.deepEqual(await store.listLevel(emptyBucket, ''), { folders: [], objects: [] });
    await assert.rejects(store.listLevel(`modelarts-lv-missing-${id}`, ''), (error: unknown) => error instanceof StorageError && error.storageCode === 'NoSuchBucket');
  });

  it('explains wrong credentials without the secret, and stops when aborted', async function () {
    const secret = 'wrong-secret-for-levels';
    const wrong = new S3Store(
      { endpoint: server.endpoint, region: server.region, credentials: { accessKeyId: 'no-such-access-key', secretAccessKey: secret } },
      { stateDir: makeFolder('s3-levels-wrong') },
    );
    try {
      await assert.rejects(wrong.listBuckets(), (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.match(error.message, new RegExp(`ListBuckets of ${server.endpoint} failed: HTTP 403 InvalidAccessKeyId`));
        assert.ok(!error.message.includes(secret));
        return true;
      });
      await assert.rejects(wrong.listLevel(bucket, ''), /HTTP 403 InvalidAccessKeyId/);
    } finally {
      wrong.dispose();
    }
    await assert.rejects(store.listLevel(bucket, '', { signal: AbortSignal.abort() }), CancelledError);
    await assert.rejects(store.listBuckets({ signal: AbortSignal.abort() }), CancelledError);
  });
});
