/**
 * The incremental code upload against a real S3 server (Ceph radosgw, test/support/s3Server.ts):
 * only changed files go, disappeared ones are deleted, nothing else under the prefix is touched, and
 * an aborted upload is redone. A counting proxy around the store says what was really sent.
 */
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError, isCancellation } from '../../src/core/errors';
import { UPLOAD_MANIFEST, uploadCodeFolder } from '../../src/backends/modelarts/codeUpload';
import type { ObjectStore, StoredObject, TransferProgress } from '../../src/storage/objectStore';
import { S3Store } from '../../src/storage/s3Store';
import { deletePrefix, listPrefix } from '../../src/storage/transfer';
import { makeFolder, removeFolders } from '../support/jobs';
import { ensureS3Server } from '../support/s3Server';

const MIB = 1024 * 1024;

/** The store, recording every object written and deleted. */
function counting(inner: ObjectStore) {
  const calls = { uploads: [] as string[], deletes: [] as string[] };
  const store: ObjectStore = {
    description: inner.description,
    list: (bucket, prefix, options) => inner.list(bucket, prefix, options),
    listLevel: (bucket, prefix, options) => inner.listLevel(bucket, prefix, options),
    listBuckets: (options) => inner.listBuckets(options),
    download: (bucket, key, file, options) => inner.download(bucket, key, file, options),
    upload: (file, bucket, key, options) => {
      calls.uploads.push(key);
      return inner.upload(file, bucket, key, options);
    },
    deleteObjects: (bucket, keys, options) => {
      calls.deletes.push(...keys);
      return inner.deleteObjects(bucket, keys, options);
    },
    ensureBucket: (bucket) => inner.ensureBucket(bucket),
  };
  const take = () => {
    const taken = { uploads: [...calls.uploads].sort(), deletes: [...calls.deletes].sort() };
    calls.uploads.length = 0;
    calls.deletes.length = 0;
    return taken;
  };
  return { store, take };
}

describe('uploadCodeFolder on the s3 test server (real Ceph radosgw)', function () {
  let s3: S3Store;
  let sdk: S3Client;
  let counted: ReturnType<typeof counting>;
  const bucket = `modelarts-code-${randomBytes(4).toString('hex')}`;
  const at = (prefix: string) => ({ store: s3, bucket, prefix, url: `s3://${bucket}/${prefix}` });
  const listed = async (prefix: string) => new Map((await listPrefix(at(prefix))).map((o): [string, StoredObject] => [o.key, o]));

  before(async function () {
    this.timeout(300_000);
    const server = await ensureS3Server();
    const credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
    s3 = new S3Store({ endpoint: server.endpoint, region: server.region, credentials, multipartThresholdBytes: 5 * MIB, partSizeBytes: 5 * MIB, partConcurrency: 2 }, { stateDir: makeFolder('code-s3-state') });
    sdk = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials });
    await s3.ensureBucket(bucket);
    counted = counting(s3);
  });

  after(async function () {
    this.timeout(120_000);
    if (s3) {
      await deletePrefix(at('')).catch(() => undefined);
      await sdk.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.dispose();
      sdk.destroy();
    }
    removeFolders();
  });

  it('sends only what changed, deletes only what it uploaded, and never sends an ignored file', async function () {
    this.timeout(120_000);
    const prefix = 'jobs/code/';
    const dir = makeFolder('code', { '.modelartsignore': 'data/\n*.ckpt\n', 'train.py': 'print("v1")\n', 'pkg/model.py': 'class M: pass\n', 'data/big.csv': 'a,b\n', 'm.ckpt': 'w' });
    // Someone else's objects under the prefix, which no upload may delete.
    const other = makeFolder('other', { 'keep.bin': 'keep' });
    await s3.upload(path.join(other, 'keep.bin'), bucket, `${prefix}unrelated/keep.bin`);
    await s3.upload(path.join(other, 'keep.bin'), bucket, `${prefix}old.py`);
    const code = ['.modelartsignore', 'pkg/model.py', 'train.py'];

    const reports: TransferProgress[] = [];
    const first = await uploadCodeFolder(counted.store, dir, bucket, prefix, { onProgress: (p) => reports.push(p) });
    const sentBytes = code.reduce((sum, rel) => sum + fs.statSync(path.join(dir, rel)).size, 0);
    assert.deepEqual(first, { files: 3, bytes: sentBytes, uploaded: 3, uploadedBytes: sentBytes, deleted: 0, unchanged: 0 });
    assert.deepEqual(counted.take(), { uploads: [...code, UPLOAD_MANIFEST].map((rel) => prefix + rel).sort(), deletes: [] });
    assert.deepEqual(reports.at(-1), { bytes: sentBytes, totalBytes: sentBytes, objects: 3, totalObjects: 3 });
    const manifestFile = path.join(makeFolder('manifest'), 'm.json');
    await s3.download(bucket, prefix + UPLOAD_MANIFEST, manifestFile);
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { files: Record<string, { size: number; sha256: string }> };
    assert.deepEqual(Object.keys(manifest.files), code);
    assert.equal(manifest.files['train.py']?.sha256, createHash('sha256').update('print("v1")\n').digest('hex'));

    // Unchanged: nothing is written, the objects stay as they were.
    const before = await listed(prefix);
    reports.length = 0;
    const second = await uploadCodeFolder(counted.store, dir, bucket, prefix, { onProgress: (p) => reports.push(p) });
    assert.deepEqual(second, { files: 3, bytes: sentBytes, uploaded: 0, uploadedBytes: 0, deleted: 0, unchanged: 3 });
    assert.deepEqual(counted.take(), { uploads: [], deletes: [] });
    assert.deepEqual(reports, []);
    const unchanged = await listed(prefix);
    assert.deepEqual([...unchanged.values()].map((o) => [o.key, o.etag, o.lastModified]), [...before.values()].map((o) => [o.key, o.etag, o.lastModified]));

    // One changed, one new, one gone; a new ignored file stays home.
    fs.writeFileSync(path.join(dir, 'train.py'), 'print("v2")\n');
    fs.writeFileSync(path.join(dir, 'pkg', 'new.py'), 'NEW = 1\n');
    fs.rmSync(path.join(dir, 'pkg', 'model.py'));
    fs.writeFileSync(path.join(dir, 'data', 'more.csv'), 'c,d\n');
    const third = await uploadCodeFolder(counted.store, dir, bucket, prefix);
    const size = (rel: string) => fs.statSync(path.join(dir, rel)).size;
    const changedBytes = size('train.py') + size('pkg/new.py');
    assert.deepEqual(third, { files: 3, bytes: changedBytes + size('.modelartsignore'), uploaded: 2, uploadedBytes: changedBytes, deleted: 1, unchanged: 1 });
    assert.deepEqual(counted.take(), { uploads: [`${prefix}${UPLOAD_MANIFEST}`, `${prefix}pkg/new.py`, `${prefix}train.py`], deletes: [`${prefix}pkg/model.py`] });
    const now = await listed(prefix);
    assert.deepEqual([...now.keys()].sort(), [...['.modelartsignore', UPLOAD_MANIFEST, 'old.py', 'pkg/new.py', 'train.py', 'unrelated/keep.bin'].map((rel) => prefix + rel)].sort());

    // An object the manifest names that went missing is sent again, and only it.
    await s3.deleteObjects(bucket, [`${prefix}pkg/new.py`]);
    const fourth = await uploadCodeFolder(counted.store, dir, bucket, prefix);
    assert.equal(fourth.uploaded, 1);
    assert.deepEqual(counted.take().uploads.filter((key) => !key.endsWith(UPLOAD_MANIFEST)), [`${prefix}pkg/new.py`]);

    // A file newly ignored is removed from the store, since this upload put it there.
    fs.appendFileSync(path.join(dir, '.modelartsignore'), 'pkg/\n');
    const fifth = await uploadCodeFolder(counted.store, dir, bucket, prefix);
    assert.deepEqual([fifth.uploaded, fifth.deleted], [1, 1]); // .modelartsignore changed; pkg/new.py went
    assert.deepEqual(counted.take(), { uploads: [`${prefix}${UPLOAD_MANIFEST}`, `${prefix}.modelartsignore`], deletes: [`${prefix}pkg/new.py`] });
    const last = await listed(prefix);
    assert.ok(last.has(`${prefix}unrelated/keep.bin`) && last.has(`${prefix}old.py`), 'objects of others stay');
    assert.ok(![...last.keys()].some((key) => key.includes('/data/') || key.endsWith('.ckpt')), 'ignored files are never sent');
  });

  it('stops at an abort, requests in flight included, writes no manifest, and the next upload sends everything', async function () {
    this.timeout(120_000);
    const prefix = 'aborted/code/';
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i += 1) files[`src/m${String(i).padStart(2, '0')}.py`] = `# ${i}\n${'x'.repeat(64 * 1024)}\n`;
    const dir = makeFolder('code', files);
    fs.writeFileSync(path.join(dir, 'weights.bin'), randomBytes(12 * MIB)); // goes in parts, first

    const controller = new AbortController();
    let reports = 0;
    await assert.rejects(
      uploadCodeFolder(counted.store, dir, bucket, prefix, { concurrency: 2, signal: controller.signal, onProgress: () => (reports += 1) === 1 && controller.abort() }),
      (error: unknown) => isCancellation(error),
    );
    const afterAbort = await listed(prefix);
    assert.ok(!afterAbort.has(prefix + UPLOAD_MANIFEST), 'no manifest after an abort');
    assert.ok(!afterAbort.has(`${prefix}weights.bin`), 'the multipart upload in flight was stopped');
    assert.ok(afterAbort.size < 13, `the abort stopped the upload (${afterAbort.size} objects stored)`);
    counted.take();

    const redone = await uploadCodeFolder(counted.store, dir, bucket, prefix, { concurrency: 2 });
    assert.deepEqual([redone.files, redone.uploaded, redone.unchanged], [13, 13, 0]);
    const stored = await listed(prefix);
    assert.deepEqual([...stored.keys()].sort(), [...Object.keys(files), 'weights.bin', UPLOAD_MANIFEST].map((rel) => prefix + rel).sort());
    assert.equal(stored.get(`${prefix}weights.bin`)?.size, 12 * MIB);
  });

  it('trusts the hash cache in cacheDir for files whose size and mtime did not change', async function () {
    this.timeout(60_000);
    const prefix = 'cached/code/';
    const dir = makeFolder('code', { 'a.py': 'aaaa', 'b.py': 'bbbb' });
    const old = new Date(Date.now() - 60_000);
    for (const name of ['a.py', 'b.py']) fs.utimesSync(path.join(dir, name), old, old);
    const cacheDir = makeFolder('code-cache');
    await uploadCodeFolder(counted.store, dir, bucket, prefix, { cacheDir });
    assert.equal(fs.readdirSync(cacheDir).filter((name) => name.startsWith('code-hashes-')).length, 1);
    counted.take();
    // Same size and mtime, other content: with the cache it passes for unchanged; without it, it is read and sent.
    fs.writeFileSync(path.join(dir, 'a.py'), 'AAAA');
    fs.utimesSync(path.join(dir, 'a.py'), old, old);
    assert.equal((await uploadCodeFolder(counted.store, dir, bucket, prefix, { cacheDir })).uploaded, 0);
    assert.equal((await uploadCodeFolder(counted.store, dir, bucket, prefix)).uploaded, 1);
    assert.deepEqual(counted.take().uploads, [`${prefix}${UPLOAD_MANIFEST}`, `${prefix}a.py`]);
  });

  it('takes a manifest it cannot read for none: everything is sent again and nothing deleted', async function () {
    this.timeout(60_000);
    const prefix = 'damaged/code/';
    const dir = makeFolder('code', { 'a.py': 'a', 'b.py': 'b' });
    await uploadCodeFolder(counted.store, dir, bucket, prefix);
    const garbage = path.join(makeFolder('garbage'), 'm.json');
    fs.writeFileSync(garbage, '{"version": 1, "files": ');
    await s3.upload(garbage, bucket, prefix + UPLOAD_MANIFEST);
    fs.rmSync(path.join(dir, 'b.py'));
    counted.take();
    const again = await uploadCodeFolder(counted.store, dir, bucket, prefix);
    assert.deepEqual([again.uploaded, again.deleted], [1, 0]);
    assert.deepEqual(counted.take(), { uploads: [prefix + UPLOAD_MANIFEST, `${prefix}a.py`], deletes: [] });
    assert.ok((await listed(prefix)).has(`${prefix}b.py`), 'an object no manifest names is not deleted');
  });

  it('refuses a folder beyond the limits, or a prefix that is not a folder, before sending anything', async function () {
    const dir = makeFolder('code', { 'a.py': '', 'b.py': '', 'c/d.py': '' });
    await assert.rejects(uploadCodeFolder(counted.store, dir, bucket, 'limits/', { limits: { maxFiles: 2 } }), (error: unknown) => {
      assert.ok(error instanceof InvalidInputError);
      assert.match(error.message, /algorithm\.code_dir: .* has 3 files \(ModelArts allows 2\): biggest folders c\/ \(1 file, 0 B\)/);
      return true;
    });
    await assert.rejects(uploadCodeFolder(counted.store, dir, bucket, 'no-slash'), (error: unknown) => error instanceof InvalidInputError && error.fields[0] === 'prefix');
    assert.deepEqual(counted.take(), { uploads: [], deletes: [] });
  });
});
