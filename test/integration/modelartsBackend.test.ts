/**
 * The ModelArts backend end to end: the contract server answering as ModelArts (signatures,
 * shapes, errors and faults from the API reference), the S3 test server as OBS, every job a real
 * run on Docker. Assertions are on what the backend sent (the journal) and on what a user sees.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { stopJobAndWait } from '../../src/backends/shared/jobOperations';
import type { TrainingBackend } from '../../src/backends/trainingBackend';
import { InvalidInputError } from '../../src/core/errors';
import type { TrainingJob } from '../../src/core/job';
import type { JobEvent } from '../../src/core/jobEvent';
import { isTerminalPhase } from '../../src/core/lifecycle';
import { ModelArtsBackend } from '../../src/backends/modelarts/modelartsBackend';
import { DIGITS_DIR, EPOCH_LINE, makeFolder, removeFolders } from '../support/jobs';
import { DEFAULT_DOMAIN, DEFAULT_USER, PRESET_IMAGE } from '../support/modelarts/options';
import { CLOUD_ENGINE, cloudJob, startCloudFixture, type CloudFixture } from '../support/modelartsFixture';

/** Temporary credentials whose security token expired an hour ago. */
const EXPIRED_TEMPORARY = { ak: 'CONTRACTEXPIREDAK0001', sk: 'ContractExpiredSecret0000000000000000001', securityToken: 'expired-security-token-1', expiresAt: Date.now() - 3_600_000 };

async function follow(backend: TrainingBackend, id: string, task = 'worker-0'): Promise<string[]> {
  const lines: string[] = [];
  for await (const batch of backend.followLog(id, task)) lines.push(...batch);
  return lines;
}

function until<T>(check: () => Promise<T | undefined>, what: string, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  return (async () => {
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
}

/** The job's end as the backend announces it (its events were announced before). */
function ended(backend: TrainingBackend, id: string): Promise<TrainingJob> {
  return new Promise<TrainingJob>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`job ${id} did not end within 120 s`)), 120_000);
    const watch = backend.polling?.watch();
    const subscription = backend.onDidChangeJob((change) => {
      if (change.job.metadata.id === id && isTerminalPhase(change.job.status.phase)) done(change.job);
    });
    const done = (job: TrainingJob) => {
      clearTimeout(timer);
      subscription.dispose();
      watch?.dispose();
      resolve(job);
    };
  });
}

describe('ModelArts backend against the contract server', function () {
  this.timeout(240_000);
  let fx: CloudFixture;
  let backend: ModelArtsBackend;
  let s3: S3Client;

  async function keysUnder(prefix: string): Promise<Array<{ key: string; modified: number }>> {
    const answer = await s3.send(new ListObjectsV2Command({ Bucket: fx.bucket, Prefix: prefix }));
    return (answer.Contents ?? []).map((o) => ({ key: o.Key ?? '', modified: o.LastModified?.getTime() ?? 0 }));
  }

  before(async function () {
    fx = await startCloudFixture({ customImages: { 'contract-org/trainer:1.0': PRESET_IMAGE }, logPreviewBytes: 512, extraAccessKeys: [EXPIRED_TEMPORARY] });
    s3 = new S3Client({ endpoint: fx.s3.endpoint, region: fx.s3.region, forcePathStyle: true, credentials: { accessKeyId: fx.s3.accessKeyId, secretAccessKey: fx.s3.secretAccessKey } });
    backend = fx.backend();
    const state = await backend.connect();
    assert.equal(state.kind, 'available', JSON.stringify(state));
  });

  after(async function () {
    // Nothing the backends logged over the whole suite carries a key, a token or a signature.
    const logged = fx?.logger.lines.join('\n') ?? '';
    for (const secret of [fx?.credentials.secretKey, EXPIRED_TEMPORARY.sk, EXPIRED_TEMPORARY.securityToken, DEFAULT_USER.password]) {
      assert.ok(secret && !logged.includes(secret), 'no secret in the log');
    }
    assert.doesNotMatch(logged, /Signature=[0-9a-f]{16}|X-Auth-Token/i);
    s3?.destroy();
    await fx?.stop();
    removeFolders();
  });

  afterEach(function () {
    assert.deepEqual(fx.server.journal.undocumentedFieldReport(), [], 'no undocumented field was sent');
  });

  it('finds the project through IAM and signs every request', function () {
    assert.equal(backend.projectId, fx.server.projectId);
    const lookups = fx.server.journal.requestsTo('KeystoneListProjects');
    assert.equal(lookups.length, 1);
    assert.deepEqual(lookups[0]?.query, { name: fx.server.region });
    const unsigned = fx.server.journal.filter({}).filter((e) => e.auth !== 'aksk');
    assert.deepEqual(unsigned.map((e) => e.path), []);
  });

  it('runs digits from a local folder: code uploaded to OBS, epochs in the followed log once each, the checkpoint in the output location, events in order', async function () {
    const events: JobEvent[] = [];
    const subscription = backend.onDidAddEvent((e) => events.push(e.event));
    const progress: string[] = [];
    const job = await backend.createJob(cloudJob('cloud-digits', DIGITS_DIR, 'train.py', [{ name: 'epochs', value: 4 }]), { onProgress: (m) => progress.push(m) });
    const end = ended(backend, job.metadata.id);
    const lines = await follow(backend, job.metadata.id);
    const done = await end;
    subscription.dispose();
    assert.equal(done.status.phase, 'Completed', lines.join('\n'));
    const code = `obs://${fx.bucket}/vscode/cloud-digits/code/digits/`;
    assert.equal(done.algorithm.code_dir, code);
    assert.equal(done.algorithm.boot_file, `${code}train.py`);
    const created = fx.server.journal.requestsTo('CreateTrainingJob').at(-1);
    assert.equal((created?.body as { algorithm: { code_dir: string } }).algorithm.code_dir, code);
    assert.ok(progress.some((m) => m.includes(code)), `progress names the upload: ${progress.join(' | ')}`);
    const epochs = lines.flatMap((line) => EPOCH_LINE.exec(line)?.[1] ?? []).map(Number);
    assert.deepEqual(epochs, [1, 2, 3, 4], 'each epoch line once, in order');
    assert.equal(lines.map((l) => `${l}\n`).join(''), await backend.readLog(job.metadata.id, 'worker-0'), 'the followed log is the whole log');
    assert.ok(fx.server.journal.requestsTo('ShowObsUrlOfTrainingJobLogs').length > 0, 'the log outgrew the 512-byte preview and was read through its OBS link');
    const outputs = await keysUnder('vscode/cloud-digits/outputs/train_url/');
    assert.ok(outputs.some((o) => o.key.endsWith('checkpoint.pt')), `checkpoint.pt in the output location: ${outputs.map((o) => o.key).join(', ')}`);
    const listed = await backend.listEvents(job.metadata.id);
    assert.deepEqual(events, listed, 'events announced as listed, in order');
    assert.match(listed[0]?.message ?? '', /created/i);
    assert.match(listed.at(-1)?.message ?? '', /completed/i);
  });

  it('sends nothing for a second upload of an unchanged code folder', async function () {
    const dir = makeFolder('cloud-unchanged', { 'train.py': 'print("epoch 1 loss 0.5 acc 0.5", flush=True)\n', 'lib/util.py': 'X = 1\n', '.modelartsignore': 'secret.txt\n', 'secret.txt': 'not for the cloud' });
    const first = await backend.createJob(cloudJob('cloud-rerun', dir, 'train.py'));
    await ended(backend, first.metadata.id);
    const before = await keysUnder('vscode/cloud-rerun/code/');
    assert.ok(!before.some((o) => o.key.endsWith('secret.txt')), 'the ignored file was not uploaded');
    fx.logger.lines.length = 0;
    const second = await backend.createJob(cloudJob('cloud-rerun', dir, 'train.py'));
    await ended(backend, second.metadata.id);
    const after = await keysUnder('vscode/cloud-rerun/code/');
    assert.deepEqual(after, before, 'no object was written again');
    assert.ok(fx.logger.lines.some((l) => /0 sent, \d+ unchanged/.test(l)), fx.logger.lines.join('\n'));
  });

  it('runs a 2-node job: a task per node, each with its own index', async function () {
    const dir = makeFolder('cloud-two-nodes', { 'nodes.py': 'import os\nprint("task", os.environ["VC_TASK_INDEX"], "of", os.environ["MA_NUM_HOSTS"], flush=True)\n' });
    const job = await backend.createJob({ ...cloudJob('cloud-two-nodes', dir, 'nodes.py'), spec: { resource: { flavor_id: 'modelarts.vm.cpu.4u', node_count: 2 } } });
    assert.deepEqual(job.status.tasks, ['worker-0', 'worker-1']);
    const end = ended(backend, job.metadata.id);
    const [zero, one] = await Promise.all([follow(backend, job.metadata.id, 'worker-0'), follow(backend, job.metadata.id, 'worker-1')]);
    assert.equal((await end).status.phase, 'Completed');
    assert.ok(zero.includes('task 0 of 2'), zero.join('\n'));
    assert.ok(one.includes('task 1 of 2'), one.join('\n'));
  });

  it('runs a job from a custom image URL with its command', async function () {
    const job = await backend.createJob({
      kind: 'job',
      metadata: { name: 'cloud-custom-image' },
      algorithm: { engine: { image_url: 'contract-org/trainer:1.0' }, command: 'python -c "print(\'custom image ran\')"' },
      spec: { resource: { flavor_id: 'modelarts.vm.cpu.2u' } },
    });
    const end = ended(backend, job.metadata.id);
    const lines = await follow(backend, job.metadata.id);
    assert.equal((await end).status.phase, 'Completed', lines.join('\n'));
    assert.ok(lines.includes('custom image ran'), lines.join('\n'));
  });

  it('refuses what the cloud cannot run before anything is sent, naming the field', async function () {
    fx.server.journal.clear();
    const local = makeFolder('cloud-local-input');
    const base = cloudJob('cloud-refused', DIGITS_DIR, 'train.py');
    const cases: Array<[string, unknown, string]> = [
      ['a local input folder', { ...base, algorithm: { ...base.algorithm, inputs: [{ name: 'data_url', remote: { obs: { obs_url: local } } }] } }, 'algorithm.inputs[0].remote.obs.obs_url'],
      ['a flavor not offered', { ...base, spec: { resource: { flavor_id: 'modelarts.vm.gpu.p100' } } }, 'spec.resource.flavor_id'],
      ['more nodes than the flavor allows', { ...base, spec: { resource: { flavor_id: 'modelarts.vm.cpu.4u', node_count: 3 } } }, 'spec.resource.node_count'],
      ['an OBS URL without a bucket', { ...base, algorithm: { ...base.algorithm, inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'obs:///data/' } } }] } }, 'algorithm.inputs[0].remote.obs.obs_url'],
      ['an OBS URL with ..', { ...base, algorithm: { ...base.algorithm, outputs: [{ name: 'train_url', remote: { obs: { obs_url: `obs://${fx.bucket}/a/../b/` } } }] } }, 'algorithm.outputs[0].remote.obs.obs_url'],
      ['an illegal bucket name', { ...base, algorithm: { ...base.algorithm, inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'obs://Bad_Bucket/data/' } } }] } }, 'algorithm.inputs[0].remote.obs.obs_url'],
    ];
    for (const [what, spec, field] of cases) {
      await assert.rejects(backend.createJob(spec), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError, `${what}: ${String(error)}`);
        assert.ok(error.fields.includes(field), `${what}: names ${field}: ${error.message}`);
        return true;
      });
    }
    assert.deepEqual(fx.server.journal.requestsTo('CreateTrainingJob'), [], 'no job was sent');
    assert.deepEqual(await keysUnder('vscode/cloud-refused/'), [], 'no code was uploaded');
  });

  it('loses no event or log line and creates no duplicate job under a 429 storm, 500s and a lost creation answer', async function () {
    fx.server.journal.clear();
    const name = 'cloud-storm';
    fx.server.faults.resetConnection({ operation: 'CreateTrainingJob', when: 'after' });
    fx.server.faults.throttle({ operation: 'ShowTrainingJobDetails', times: 6, retryAfterSeconds: 0 });
    fx.server.faults.throttle({ operation: 'ShowTrainingJobLogsPreview', times: 4 });
    fx.server.faults.serverError({ operation: 'ListTrainingJobEvents', times: 3 });
    const events: JobEvent[] = [];
    const subscription = backend.onDidAddEvent((e) => events.push(e.event));
    const job = await backend.createJob(cloudJob(name, DIGITS_DIR, 'train.py', [{ name: 'epochs', value: 3 }]));
    const end = ended(backend, job.metadata.id);
    const lines = await follow(backend, job.metadata.id);
    await end;
    subscription.dispose();
    fx.server.faults.clear();
    const creations = fx.server.journal.requestsTo('CreateTrainingJob');
    assert.equal(creations.length, 1, 'the creation whose answer was lost was not sent again');
    const same = (await backend.listJobs()).filter((j) => j.metadata.name === name);
    assert.equal(same.length, 1, 'one job of that name');
    assert.equal(same[0]?.metadata.id, job.metadata.id, 'the lost creation was found by name');
    assert.deepEqual(lines.flatMap((l) => EPOCH_LINE.exec(l)?.[1] ?? []).map(Number), [1, 2, 3]);
    assert.equal(lines.map((l) => `${l}\n`).join(''), await backend.readLog(job.metadata.id, 'worker-0'));
    assert.deepEqual(events, await backend.listEvents(job.metadata.id), 'every event once, in order');
    assert.ok(fx.server.faults.count('throttle') >= 6 && fx.server.faults.count('server-error') >= 3, `faults were injected: ${JSON.stringify(fx.server.faults.injected)}`);
    assert.equal(backend.state.kind, 'available');
  });

  it('re-signs once with the server clock when the request time is refused', async function () {
    fx.server.journal.clear();
    fx.server.faults.skewClock(20 * 60_000);
    try {
      const flavors = await backend.listFlavors();
      assert.ok(flavors.length > 0);
      await backend.listJobs();
      const refused = fx.server.journal.filter({}).filter((e) => e.authFailure === 'stale-date');
      assert.equal(refused.length, 1, 'one request refused for its date, then every one signed with the server clock');
    } finally {
      fx.server.faults.skewClock(0);
    }
  });

  it('moves to needsCredentials with a clear reason for wrong keys, a bad signature and expired temporary credentials', async function () {
    const cases: Array<[string, ConstructorParameters<typeof ModelArtsBackend>[0]['credentials'], RegExp]> = [
      ['an unknown AK', { kind: 'accessKey', accessKey: 'NOSUCHACCESSKEY00001', secretKey: 'whatever-secret-key-value' }, /access key ID is not known/],
      ['a wrong SK', { kind: 'accessKey', accessKey: fx.credentials.accessKey, secretKey: 'a-wrong-secret-key-value-000' }, /signature was refused/],
      ['expired temporary credentials', { kind: 'accessKey', accessKey: EXPIRED_TEMPORARY.ak, secretKey: EXPIRED_TEMPORARY.sk, securityToken: EXPIRED_TEMPORARY.securityToken as string }, /temporary credentials were refused|expired/],
      ['no credentials', undefined, /Sign in/],
    ];
    for (const [what, credentials, reason] of cases) {
      const other = fx.backend({ credentials, config: { ...fx.config, projectId: fx.server.projectId } });
      const state = await other.connect();
      assert.equal(state.kind, 'needsCredentials', `${what}: ${JSON.stringify(state)}`);
      assert.match('reason' in state ? state.reason : '', reason, what);
      if (credentials?.kind === 'accessKey') assert.ok(!JSON.stringify(state).includes(credentials.secretKey), `${what}: the SK is not in the state`);
    }
    const logged = fx.logger.lines.join('\n');
    assert.ok(!logged.includes('a-wrong-secret-key-value-000') && !logged.includes(fx.credentials.secretKey), 'no secret in the log');
  });

  it('renews an expired IAM token by itself, and refuses a wrong password naming IAM', async function () {
    const user = fx.backend({ credentials: { kind: 'password', domainName: DEFAULT_DOMAIN.name, userName: DEFAULT_USER.name, password: DEFAULT_USER.password } });
    assert.equal((await user.connect()).kind, 'available');
    const issued = fx.server.journal.requestsTo('KeystoneCreateUserTokenByPassword').length;
    fx.server.expireTokens();
    await user.listJobs();
    assert.equal(fx.server.journal.requestsTo('KeystoneCreateUserTokenByPassword').length, issued + 1, 'one new token');
    const wrong = fx.backend({ credentials: { kind: 'password', domainName: DEFAULT_DOMAIN.name, userName: DEFAULT_USER.name, password: 'not-the-password' } });
    const state = await wrong.connect();
    assert.equal(state.kind, 'needsCredentials');
    assert.match('reason' in state ? state.reason : '', /IAM refused/);
    assert.ok(!JSON.stringify(state).includes('not-the-password'));
  });

  it('polls a running job only while it is watched, its CPU and memory live while a panel watches it; then stops it: Terminating, then Terminated', async function () {
    const job = await backend.createJob(cloudJob('cloud-stop', DIGITS_DIR, 'train.py', [{ name: 'epochs', value: 5000 }]));
    await until(async () => ((await backend.getJob(job.metadata.id))?.status.phase === 'Running' ? true : undefined), 'Running');
    const shows = () => fx.server.journal.requestsTo('ShowTrainingJobDetails').length;
    const reads = () => fx.server.journal.requestsTo('ShowTrainingJobMetrics').length;
    await new Promise((resolve) => setTimeout(resolve, 500)); // a poll in flight lands
    const [showsBefore, readsBefore] = [shows(), reads()];
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(shows(), showsBefore, 'nothing watches: the running job is not polled');
    assert.equal(reads(), readsBefore, 'nor its metrics read');

    const samples: number[] = [];
    const listening = backend.onDidAddResourceSample(({ jobId, sample }) => jobId === job.metadata.id && samples.push(sample.time));
    const watch = backend.polling.watch(job.metadata.id); // as a panel does, before it lists
    const listed = await backend.listResourceSamples(job.metadata.id);
    const lastListed = Math.max(...listed.map((s) => s.time), -Infinity);
    await until(async () => (samples.filter((time) => time > lastListed).length >= 2 ? true : undefined), 'two live samples after the listing');
    listening.dispose();
    assert.ok(shows() > showsBefore, 'watched: polled');
    assert.ok(samples.every((time, i) => i === 0 || time > (samples[i - 1] ?? 0)), `each live sample once, in time order: ${samples.join(', ')}`);
    watch.dispose();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const showsAfter = shows();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(shows(), showsAfter, 'the watch disposed: polling stopped again');

    const stopped = await stopJobAndWait(backend, job.metadata.id);
    assert.equal(stopped.status.phase, 'Terminated');
    const stops = fx.server.journal.requestsTo('StopTrainingJob');
    assert.deepEqual(stops.at(-1)?.body, { action_type: 'terminate' });
  });

  it('names the setting and what it allows for a bad region or endpoint', function () {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ region: 'North China' }, 'modelarts.cloud.region'],
      [{ region: 'cn-north-4', endpoints: { modelarts: 'http://modelarts.example.com' } }, 'modelarts.cloud.endpoints.modelarts'],
      [{ region: 'cn-north-4', endpoints: { iam: 'not a url' } }, 'modelarts.cloud.endpoints.iam'],
      [{ region: 'cn-north-4', codeLocation: 'obs://Bad_Bucket/x/' }, 'modelarts.cloud.codeLocation'],
    ];
    for (const [config, setting] of bad) {
      assert.throws(() => new ModelArtsBackend({ config: config as never, credentials: fx.credentials, logger: fx.logger, stateDir: makeFolder('bad-config') }), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError, String(error));
        assert.ok(error.fields.includes(setting), `${setting}: ${error.message}`);
        return true;
      });
    }
    assert.ok(fs.existsSync(path.join(DIGITS_DIR, 'train.py')));
    void CLOUD_ENGINE;
  });
});
