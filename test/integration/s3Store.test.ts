/**
 * The S3 store against a real S3 server: Ceph radosgw in a container (test/support/s3Server.ts).
 * Listing pages, multipart uploads with resumption, cancellation and refused keys, all for real.
 */
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CancelledError, InvalidInputError } from '../../src/core/errors';
import { InputCache } from '../../src/storage/inputCache';
import type { StoreLocation, StoredObject } from '../../src/storage/objectStore';
import { S3Store, type S3StoreConfig } from '../../src/storage/s3Store';
import { StorageError } from '../../src/storage/storageError';
import { deletePrefix, downloadPrefix, listPrefix, uploadFolder } from '../../src/storage/transfer';
import { makeFolder, removeFolders } from '../support/jobs';
import { ensureS3Server, type S3ServerConfig } from '../support/s3Server';

const MIB = 1024 * 1024;
const PART = 5 * MIB;

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function randomFile(dir: string, name: string, bytes: number): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, randomBytes(bytes));
  return file;
}

describe('S3Store on the s3 test server (real Ceph radosgw)', function () {
  let server: S3ServerConfig;
  let config: S3StoreConfig;
  let store: S3Store;
  let stateDir: string;
  let sdk: S3Client;
  const bucket = `modelarts-it-${randomBytes(4).toString('hex')}`;
  const at = (prefix: string): StoreLocation => ({ store, bucket, prefix, url: `s3://${bucket}/${prefix}` });
  const journals = () => (fs.existsSync(path.join(stateDir, 'multipart-uploads')) ? fs.readdirSync(path.join(stateDir, 'multipart-uploads')) : []);

  before(async function () {
    this.timeout(300_000);
    server = await ensureS3Server();
    config = {
      endpoint: server.endpoint,
      region: server.region,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      multipartThresholdBytes: PART,
      partSizeBytes: PART,
      partConcurrency: 2,
    };
    stateDir = makeFolder('s3-state');
    store = new S3Store(config, { stateDir });
    sdk = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: config.credentials });
    await store.ensureBucket(bucket);
    await store.ensureBucket(bucket); // a second time is no error
  });

  after(async function () {
    this.timeout(120_000);
    if (store) {
      await deletePrefix(at('')).catch(() => undefined);
      await sdk.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      store.dispose();
      sdk.destroy();
    }
    removeFolders();
  });

  it('names the wrong settings, never echoing a secret', function () {
    const secret = 'do-not-print-this-secret';
    assert.throws(
      () =>
        new S3Store(
          { endpoint: 'obs.example.com', region: '', credentials: { accessKeyId: '', secretAccessKey: secret }, partSizeBytes: 1024, colour: 'red' } as unknown as S3StoreConfig,
          { stateDir },
        ),
      (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.deepEqual([...error.fields].sort(), ['colour', 'credentials.accessKeyId', 'endpoint', 'partSizeBytes', 'region']);
        assert.ok(!error.message.includes(secret));
        assert.match(error.message, /endpoint: must be an http:\/\/ or https:\/\/ URL/);
        return true;
      },
    );
  });

  it('explains a wrong secret key with the HTTP status and S3 code, without the secret', async function () {
    const secret = 'wrong-secret-value-123';
    const wrong = new S3Store({ ...config, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: secret } }, { stateDir });
    try {
      await assert.rejects(listPrefix({ ...at(''), store: wrong }), (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.equal(error.httpStatus, 403);
        assert.match(error.message, new RegExp(`ListObjectsV2 of s3://${bucket}/ at ${server.endpoint} failed: HTTP 403 SignatureDoesNotMatch`));
        assert.ok(!error.message.includes(secret));
        return true;
      });
    } finally {
      wrong.dispose();
    }
    await assert.rejects(listPrefix({ ...at(''), bucket: 'no-such-bucket-here' }), /HTTP 404 NoSuchBucket \(the bucket "no-such-bucket-here" does not exist\)/);
  });

  it('lists more than 1000 objects page by page, in key order', async function () {
    this.timeout(120_000);
    const dir = makeFolder('many');
    for (let i = 0; i < 1005; i += 1) fs.writeFileSync(path.join(dir, `obj-${String(i).padStart(4, '0')}.txt`), String(i));
    const uploaded = await uploadFolder(dir, at('many/'), { concurrency: 16 });
    assert.equal(uploaded.objects, 1005);
    const pages: StoredObject[][] = [];
    for await (const page of store.list(bucket, 'many/')) pages.push(page);
    assert.deepEqual(pages.map((p) => p.length), [1000, 5]);
    const small: number[] = [];
    for await (const page of store.list(bucket, 'many/obj-09', { pageSize: 30 })) small.push(page.length);
    assert.deepEqual(small, [30, 30, 30, 10]);
    const keys = pages.flat().map((o) => o.key);
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(keys[0], 'many/obj-0000.txt');
    assert.ok(pages.flat().every((o) => o.etag && o.lastModified && o.size > 0));
  });

  it('uploads a multipart-sized file and downloads it byte for byte', async function () {
    this.timeout(120_000);
    const file = randomFile(makeFolder('big'), 'big.bin', 4 * PART + 12345);
    const parts: number[] = [];
    let last = 0;
    await store.upload(file, bucket, 'round/big.bin', { onPart: (p) => parts.push(p.partNumber), onProgress: (p) => (last = p.bytes) });
    assert.deepEqual(parts.sort(), [1, 2, 3, 4, 5]);
    assert.equal(last, 4 * PART + 12345);
    const head = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'round/big.bin' }));
    assert.match(head.ETag ?? '', /-5"$/, 'stored as a 5-part multipart object');
    assert.deepEqual(journals(), [], 'no journal after success');
    const target = path.join(makeFolder('down'), 'copy.bin');
    await store.download(bucket, 'round/big.bin', target);
    assert.equal(sha256(target), sha256(file));
    // A small file goes in one PutObject with its length (no aws-chunked body, which radosgw refuses).
    const small = randomFile(makeFolder('small'), 's.bin', 1000);
    await store.upload(small, bucket, 'round/s.bin');
    await store.download(bucket, 'round/s.bin', path.join(path.dirname(target), 's.bin'));
    assert.equal(sha256(path.join(path.dirname(target), 's.bin')), sha256(small));
    const empty = randomFile(path.dirname(small), 'empty', 0);
    await store.upload(empty, bucket, 'round/empty');
    await store.download(bucket, 'round/empty', path.join(path.dirname(target), 'empty'));
    assert.equal(fs.statSync(path.join(path.dirname(target), 'empty')).size, 0);
    // Two uploads of one key at once take turns (they would share a journal); both complete.
    await Promise.all([store.upload(file, bucket, 'round/twice.bin'), store.upload(file, bucket, 'round/twice.bin')]);
    assert.deepEqual(journals(), []);
  });

  it('resumes an interrupted multipart upload, sending only the missing parts', async function () {
    this.timeout(120_000);
    const file = randomFile(makeFolder('resume'), 'r.bin', 8 * PART);
    const key = 'resume/r.bin';
    const controller = new AbortController();
    const first: number[] = [];
    await assert.rejects(
      store.upload(file, bucket, key, {
        signal: controller.signal,
        onPart: (p) => {
          first.push(p.partNumber);
          if (first.length === 3) controller.abort();
        },
      }),
      CancelledError,
    );
    assert.equal(journals().length, 1, 'the journal stays for a later call');
    const journal = JSON.parse(fs.readFileSync(path.join(stateDir, 'multipart-uploads', journals()[0]!), 'utf8')) as { uploadId: string };
    // A part aborted in flight may still land on the server a moment later: wait until it settles.
    let onServer = new Set<number>();
    for (let previous = -1; onServer.size !== previous; await new Promise((resolve) => setTimeout(resolve, 700))) {
      previous = onServer.size;
      const held = await sdk.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: journal.uploadId }));
      onServer = new Set((held.Parts ?? []).map((p) => p.PartNumber ?? 0));
    }
    assert.ok(first.every((n) => onServer.has(n)), 'every acknowledged part is on the server');
    assert.ok(onServer.size < 8, 'the upload was interrupted before the end');

    const second: number[] = [];
    let resumed: { parts: number; bytes: number } | undefined;
    await store.upload(file, bucket, key, { onPart: (p) => second.push(p.partNumber), onResume: (r) => (resumed = r) });
    assert.deepEqual(resumed, { parts: onServer.size, bytes: onServer.size * PART });
    assert.deepEqual(
      second.sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8].filter((n) => !onServer.has(n)),
      'only the missing parts are sent',
    );
    assert.deepEqual(journals(), []);
    const target = path.join(makeFolder('down'), 'r.bin');
    await store.download(bucket, key, target);
    assert.equal(sha256(target), sha256(file));
  });

  it('starts afresh when the server no longer knows the journal\'s upload', async function () {
    this.timeout(120_000);
    const file = randomFile(makeFolder('stale'), 's.bin', 3 * PART);
    const key = 'stale/s.bin';
    const controller = new AbortController();
    await assert.rejects(store.upload(file, bucket, key, { signal: controller.signal, onPart: () => controller.abort() }), CancelledError);
    const journal = JSON.parse(fs.readFileSync(path.join(stateDir, 'multipart-uploads', journals()[0]!), 'utf8')) as { uploadId: string };
    await sdk.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: journal.uploadId }));
    const parts: number[] = [];
    let resumed = false;
    await store.upload(file, bucket, key, { onPart: (p) => parts.push(p.partNumber), onResume: () => (resumed = true) });
    assert.equal(resumed, false);
    assert.deepEqual(parts.sort(), [1, 2, 3]);
    assert.deepEqual(journals(), []);
  });

  it('cancels a download without leaving a partial file', async function () {
    this.timeout(60_000);
    const file = randomFile(makeFolder('c'), 'c.bin', 6 * PART);
    await store.upload(file, bucket, 'cancel/c.bin');
    const dir = makeFolder('cancel-down');
    const controller = new AbortController();
    await assert.rejects(
      store.download(bucket, 'cancel/c.bin', path.join(dir, 'c.bin'), { signal: controller.signal, onProgress: (p) => p.bytes > MIB && controller.abort() }),
      CancelledError,
    );
    assert.deepEqual(fs.readdirSync(dir), []);
    const before = new AbortController();
    before.abort();
    await assert.rejects(store.download(bucket, 'cancel/c.bin', path.join(dir, 'c.bin'), { signal: before.signal }), CancelledError);
  });

  it('refuses to download a key that would escape the folder, before writing anything', async function () {
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'esc/ok.txt', Body: 'fine' }));
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'esc/a/../../x', Body: 'evil' }));
    const keys = (await listPrefix(at('esc/'))).map((o) => o.key);
    assert.ok(keys.includes('esc/a/../../x'), `the server keeps the key as written (${keys.join(', ')})`);
    const target = path.join(makeFolder('esc'), 'in');
    await assert.rejects(downloadPrefix(at('esc/'), target), (error: unknown) => error instanceof InvalidInputError && error.message.includes('"esc/a/../../x"'));
    assert.equal(fs.existsSync(target), false);
    assert.equal(fs.existsSync(path.join(path.dirname(target), 'x')), false);
  });

  it('uploads a folder, downloads it with folder markers, stages it in the input cache and deletes the prefix', async function () {
    this.timeout(120_000);
    const source = makeFolder('tree', { 'a.txt': 'alpha', 'sub/b.txt': 'beta' });
    randomFile(source, 'sub/big.bin', PART + 7);
    assert.deepEqual(await uploadFolder(source, at('tree/')), { objects: 3, bytes: PART + 7 + 9 });
    await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: 'tree/empty/', Body: Buffer.alloc(0), ContentLength: 0 }));
    const target = makeFolder('tree-down');
    assert.deepEqual(await downloadPrefix(at('tree/'), target, { concurrency: 2 }), { objects: 3, bytes: PART + 7 + 9 });
    assert.ok(fs.statSync(path.join(target, 'empty')).isDirectory());
    assert.equal(sha256(path.join(target, 'sub/big.bin')), sha256(path.join(source, 'sub/big.bin')));

    const cache = new InputCache(makeFolder('cache'));
    const first = await cache.stage(at('tree/'));
    const second = await cache.stage(at('tree/'));
    assert.deepEqual([first.hit, second.hit, first.objects], [false, true, 4]);
    assert.equal(fs.readFileSync(path.join(second.dir, 'sub/b.txt'), 'utf8'), 'beta');
    first.release();
    second.release();

    const other = (await listPrefix(at('round/'))).length;
    assert.deepEqual(await deletePrefix(at('tree/')), { objects: 4, bytes: PART + 7 + 9 });
    assert.deepEqual(await listPrefix(at('tree/')), []);
    assert.equal((await listPrefix(at('round/'))).length, other, 'other prefixes untouched');
    await store.deleteObjects(bucket, ['tree/never-existed']);
  });
});
