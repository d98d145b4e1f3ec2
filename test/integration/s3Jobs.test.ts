/**
 * Jobs whose inputs and outputs live in a real S3-compatible store (Ceph radosgw started by the
 * test set-up): obs:// and s3:// URLs both reach it, inputs are staged before the start, outputs
 * delivered at the end, and a second job on the same data starts from the input cache.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalBackend } from '../../src/backends/local/localBackend';
import { FolderStore } from '../../src/storage/folderStore';
import { S3Store } from '../../src/storage/s3Store';
import { createStoreResolver } from '../../src/storage/storeResolver';
import { downloadPrefix, listPrefix, uploadFolder } from '../../src/storage/transfer';
import { DIGITS_DIR, EPOCH_LINE, PRESET_ENGINE, removeContainersOf, makeFolder, recordingLogger, removeFolders, waitForTerminal } from '../support/jobs';
import { ensureS3Server } from '../support/s3Server';


describe('Jobs with data in a real S3 store (radosgw)', function () {
  let engine: LocalBackend;
  let s3: S3Store;
  const bucket = `jobs-${Date.now().toString(36)}`;

  before(async function () {
    const server = await ensureS3Server();
    const dataDir = makeFolder('s3-jobs');
    s3 = new S3Store(
      { endpoint: server.endpoint, region: server.region, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } },
      { stateDir: path.join(dataDir, 's3-state') },
    );
    await s3.ensureBucket(bucket);
    const resolver = createStoreResolver({ folderStore: new FolderStore(path.join(dataDir, 'unused')), s3Store: s3 });
    engine = new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger(), storeResolver: resolver });
    assert.equal((await engine.connect()).kind, 'available');
    const data = makeFolder('s3-dataset', {});
    fs.copyFileSync(path.join(DIGITS_DIR, 'data', 'digits.csv.gz'), path.join(data, 'digits.csv.gz'));
    await uploadFolder(data, resolver.resolve(`s3://${bucket}/datasets/digits/`, 'dataset'));
  });

  after(async function () {
    engine?.dispose();
    await removeContainersOf(engine);
    removeFolders();
  });

  it('trains on an input staged from S3 and delivers the checkpoint to S3; the next job hits the input cache', async function () {
    // The digits example reads <data_url>/digits.csv.gz when --data_url is given.
    const spec = (name: string) => ({
      kind: 'job' as const,
      metadata: { name },
      algorithm: {
        code_dir: DIGITS_DIR,
        boot_file: 'train.py',
        engine: { ...PRESET_ENGINE },
        parameters: [{ name: 'epochs', value: 2 }],
        inputs: [{ name: 'data_url', remote: { obs: { obs_url: `s3://${bucket}/datasets/digits/` } } }],
        outputs: [{ name: 'train_url', remote: { obs: { obs_url: `obs://${bucket}/runs/${name}/` } } }],
      },
    });
    const first = await engine.createJob(spec('s3-first'));
    const done = await waitForTerminal(engine, first.metadata.id, 120_000);
    const log = await engine.readLog(first.metadata.id, 'worker-0');
    assert.equal(done.status.phase, 'Completed', log);
    assert.match(log, /validation samples from \/home\/ma-user\/modelarts\/inputs\/data_url_0/);
    assert.equal(log.split('\n').filter((line) => EPOCH_LINE.test(line)).length, 2);

    const location = { store: s3, bucket, prefix: 'runs/s3-first/', url: `obs://${bucket}/runs/s3-first/` };
    const keys = (await listPrefix(location)).map((object) => object.key).sort();
    assert.deepEqual(keys, [`runs/s3-first/checkpoint.pt`, `runs/s3-first/metrics.json`]);
    const back = makeFolder('s3-back');
    await downloadPrefix(location, back);
    assert.equal(JSON.parse(fs.readFileSync(path.join(back, 'metrics.json'), 'utf8')).epochs, 2);
    const messages = (await engine.listEvents(first.metadata.id)).map((e) => e.message);
    assert.ok(messages.some((m) => /^Input data_url: downloaded 1 files/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^Upload training output\(parameter name: train_url\) finished: 2 files/.test(m)), messages.join('\n'));

    const second = await engine.createJob(spec('s3-second'));
    assert.equal((await waitForTerminal(engine, second.metadata.id, 120_000)).status.phase, 'Completed');
    const again = (await engine.listEvents(second.metadata.id)).map((e) => e.message);
    assert.ok(again.some((m) => m.startsWith(`Input data_url: s3://${bucket}/datasets/digits/ is in the input cache`)), again.join('\n'));
  });
});
