/**
 * A ModelArts account in a real extension host: signed in through the command with the contract
 * server's endpoints (keys checked before they are saved, kept in SecretStorage, the rest in
 * `modelarts.cloud.accounts`), a job run on it from the workspace's code folder through the same
 * commands as a local job, and signed out again. The contract server plays ModelArts, the S3 test
 * server OBS; the job is a real run on Docker.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelArtsApi, TrainingJob } from '../../src/api';
import { activateApi, rejectsNaming } from '../support/editor';
import { CLOUD_ENGINE, startCloudFixture, type CloudFixture } from '../support/modelartsFixture';

const run = <T = unknown>(command: string, ...args: unknown[]) => vscode.commands.executeCommand<T>(command, ...args);

async function waitForPhase(api: ModelArtsApi, ref: { backend: string; id: string }, phases: readonly string[], ms = 120_000): Promise<TrainingJob> {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = await api.jobs.get(ref);
    if (job && phases.includes(job.status.phase)) return job;
    if (Date.now() > deadline) throw new Error(`job ${ref.backend}/${ref.id} is ${job?.status.phase ?? 'gone'}, not ${phases.join(' or ')}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('A ModelArts account in VS Code', function () {
  this.timeout(180_000);
  let api: ModelArtsApi;
  let fx: CloudFixture;
  let backend = '';
  const codeDir = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';

  before(async function () {
    api = await activateApi();
    fx = await startCloudFixture();
  });

  after(async function () {
    await vscode.workspace.getConfiguration().update('modelarts.cloud.accounts', undefined, vscode.ConfigurationTarget.Global);
    await fx?.stop();
  });

  it('refuses wrong keys naming the reason, and saves nothing', async function () {
    const refused = await rejectsNaming(run('modelarts.cloud.signIn', { ...fx.config, credentials: { ...fx.credentials, secretKey: 'not-the-secret-key-0000' } }), 'signature was refused');
    assert.ok(!refused.message.includes('not-the-secret-key-0000'), 'the key is not in the message');
    assert.deepEqual(vscode.workspace.getConfiguration().get('modelarts.cloud.accounts'), []);
    assert.deepEqual(api.backends.list().map((b) => b.id), ['local']);
    // Keys that work, but a code location they cannot reach.
    await rejectsNaming(run('modelarts.cloud.signIn', { ...fx.config, codeLocation: 'obs://no-such-bucket-here/x/', credentials: fx.credentials }), 'modelarts.cloud.codeLocation', 'no-such-bucket-here');
    await rejectsNaming(run('modelarts.cloud.signIn', { ...fx.config, region: 'North China', credentials: fx.credentials }), 'modelarts.cloud.region');
    await rejectsNaming(run('modelarts.cloud.signIn', { ...fx.config, credentials: { kind: 'accessKey', accessKey: 'no spaces allowed', secretKey: 'x' } }), 'accessKey');
    assert.deepEqual(vscode.workspace.getConfiguration().get('modelarts.cloud.accounts'), [], 'nothing saved half-way');
  });

  it('signs in: the keys are checked, the account becomes a backend beside the local one', async function () {
    const result = await run<{ backend: string; projectId: string }>('modelarts.cloud.signIn', { ...fx.config, credentials: fx.credentials });
    assert.equal(result.projectId, fx.server.projectId);
    backend = result.backend;
    assert.equal(backend, `modelarts:${fx.server.region}:${fx.server.projectId}`);
    const accounts = vscode.workspace.getConfiguration().get<Array<Record<string, unknown>>>('modelarts.cloud.accounts') ?? [];
    assert.equal(accounts.length, 1);
    assert.equal(accounts[0]?.projectId, fx.server.projectId);
    assert.ok(!JSON.stringify(accounts).includes(fx.credentials.secretKey), 'no key in the settings');
    const deadline = Date.now() + 20_000;
    while (api.backends.get(backend)?.state.kind !== 'available' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(api.backends.get(backend)?.state.kind, 'available');
    assert.deepEqual(api.backends.list().map((b) => b.id), ['local', backend]);
  });

  it('runs the workspace code on ModelArts through the job commands, logs and events as for a local job', async function () {
    const spec = { kind: 'job', metadata: { name: 'editor-cloud-digits' }, algorithm: { code_dir: codeDir(), boot_file: 'train.py', engine: { ...CLOUD_ENGINE }, parameters: [{ name: 'epochs', value: '2' }] } };
    const id = await run<string>('modelarts.jobs.create', spec, { backend });
    const ref = { backend, id };
    const job = await waitForPhase(api, ref, ['Completed', 'Failed']);
    assert.equal(job.status.phase, 'Completed', await api.jobs.log(ref));
    assert.match(job.algorithm.code_dir, /^obs:\/\//, 'the code went to OBS');
    assert.match(await api.jobs.log(ref), /epoch 2 loss/);
    const logs = await run<{ backend: string; channel: string }>('modelarts.jobs.showLogs', { backend, jobId: id });
    assert.equal(logs.backend, backend);
    const events = await run<{ events: Array<{ message: string }> }>('modelarts.jobs.showEvents', { backend, jobId: id });
    assert.ok(events.events.some((e) => /completed/i.test(e.message)));
    const listed = await api.jobs.list({ backend });
    assert.ok(listed.some((j) => j.metadata.id === id));
    assert.deepEqual(fx.server.journal.undocumentedFieldReport(), []);
  });

  it('runs a local job on ModelArts: the engine translated, the code and the input folder uploaded first', async function () {
    const data = vscode.Uri.joinPath(vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file('/'), 'data').fsPath;
    const spec = {
      kind: 'job',
      metadata: { name: 'editor-local-then-cloud' },
      algorithm: { code_dir: codeDir(), boot_file: 'train.py', engine: { engine_name: 'PyTorch', engine_version: '1.13-cpu' }, parameters: [{ name: 'epochs', value: '1' }], inputs: [{ name: 'data_url', remote: { obs: { obs_url: data } } }] },
    };
    const localId = await run<string>('modelarts.jobs.create', spec);
    const local = await waitForPhase(api, { backend: 'local', id: localId }, ['Completed', 'Failed']);
    assert.equal(local.status.phase, 'Completed', await api.jobs.log({ backend: 'local', id: localId }));
    await rejectsNaming(run('modelarts.jobs.runOn', { backend: 'local', jobId: localId }, { backend: 'nowhere' }), 'nowhere', 'not configured');
    const moved = await run<{ backend: string; jobId: string }>('modelarts.jobs.runOn', { backend: 'local', jobId: localId }, { backend });
    assert.equal(moved.backend, backend);
    const cloud = await waitForPhase(api, { backend, id: moved.jobId }, ['Completed', 'Failed']);
    assert.equal(cloud.status.phase, 'Completed', await api.jobs.log({ backend, id: moved.jobId }));
    assert.equal(cloud.metadata.name, 'editor-local-then-cloud');
    assert.equal(cloud.algorithm.engine.engine_version, CLOUD_ENGINE.engine_version, 'the engine of the same framework on ModelArts');
    const input = cloud.algorithm.inputs.find((i) => i.name === 'data_url')?.remote.obs?.obs_url ?? '';
    assert.equal(input, `${fx.config.codeLocation}editor-local-then-cloud/inputs/data_url/`, 'the input folder went to OBS under the code location');
    assert.deepEqual(cloud.algorithm.parameters, local.algorithm.parameters);
    const created = fx.server.journal.requestsTo('CreateTrainingJob').at(-1)?.body as { spec: { resource: { flavor_id: string } } };
    assert.match(created.spec.resource.flavor_id, /^modelarts\.vm\./, 'a flavor of ModelArts, not the local one');
  });

  it('promotes the digits launch configuration to ModelArts: the same code, arguments and data, on a ModelArts engine and flavor', async function () {
    const jobId = await run<string>('modelarts.debug.promote', { configuration: 'ModelArts: train digits' }, { backend });
    const job = await waitForPhase(api, { backend, id: jobId }, ['Completed', 'Failed']);
    const log = await api.jobs.log({ backend, id: jobId });
    assert.equal(job.status.phase, 'Completed', log);
    assert.match(log, /epoch 3 loss/, 'the configuration\'s epochs=3');
    assert.deepEqual(job.algorithm.parameters.map((p) => `${p.name}=${p.value}`).sort(), ['epochs=3', 'lr=0.01']);
    assert.equal(job.algorithm.engine.engine_version, CLOUD_ENGINE.engine_version);
    assert.match(job.algorithm.inputs.find((i) => i.name === 'data_url')?.remote.obs?.obs_url ?? '', /\/inputs\/data_url\/$/, 'the data folder went to OBS');
  });

  it('creates a job from a spec file that names its backend; an unknown one is refused by name, nothing created', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spec-file-'));
    const file = path.join(dir, 'cloud.job.json');
    const spec = { kind: 'job', metadata: { name: 'editor-spec-file' }, algorithm: { code_dir: codeDir(), boot_file: 'train.py', engine: { ...CLOUD_ENGINE }, parameters: [{ name: 'epochs', value: '1' }] } };
    fs.writeFileSync(file, JSON.stringify({ backend: 'nowhere', ...spec }));
    const before = fx.server.journal.requestsTo('CreateTrainingJob').length;
    await rejectsNaming(run('modelarts.jobs.createFromDraft', { uri: vscode.Uri.file(file).toString() }), 'nowhere', 'not configured');
    assert.equal(fx.server.journal.requestsTo('CreateTrainingJob').length, before, 'nothing was sent');
    // Another file: the editor keeps the first one's text as it opened it.
    const named = path.join(dir, 'named.job.json');
    fs.writeFileSync(named, JSON.stringify({ backend, ...spec }));
    const id = await run<string>('modelarts.jobs.createFromDraft', { uri: vscode.Uri.file(named).toString() });
    const job = await waitForPhase(api, { backend, id }, ['Completed', 'Failed']);
    assert.equal(job.status.phase, 'Completed');
    const sent = fx.server.journal.requestsTo('CreateTrainingJob').at(-1)?.body as Record<string, unknown>;
    assert.ok(!('backend' in sent), 'the file\'s backend field is not part of the job sent');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('debugs a ModelArts job locally: its code and data downloaded, the same flags, the local engine of its framework', async function () {
    const cloudJob = (await api.jobs.list({ backend })).find((j) => j.metadata.name === 'editor-local-then-cloud');
    assert.ok(cloudJob, 'the cloud job of an earlier test, with its data on OBS');
    await rejectsNaming(run('modelarts.jobs.debugLocally', { backend: 'local', jobId: (await api.jobs.list())[0]?.metadata.id ?? 'x' }), 'F5');
    let output = '';
    const tracker = vscode.debug.registerDebugAdapterTrackerFactory('modelarts', {
      createDebugAdapterTracker: (session) =>
        session.name === 'Debug editor-local-then-cloud locally'
          ? { onDidSendMessage: (message: { event?: string; body?: { output?: string } }) => void (message.event === 'output' && (output += message.body?.output ?? '')) }
          : undefined,
    });
    const ended = new Promise<void>((resolve) => {
      const subscription = vscode.debug.onDidTerminateDebugSession((session) => {
        if (session.name === 'Debug editor-local-then-cloud locally') {
          subscription.dispose();
          resolve();
        }
      });
    });
    const result = await run<{ sessionId: string; codeDir: string }>('modelarts.jobs.debugLocally', { backend, jobId: cloudJob.metadata.id }, { noDebug: true });
    assert.ok(result?.sessionId, 'a session started');
    assert.ok(fs.existsSync(path.join(result.codeDir, 'train.py')), `the code was downloaded to ${result.codeDir}`);
    assert.equal(path.basename(result.codeDir), 'digits', 'under its own folder name, as in the job');
    await ended;
    tracker.dispose();
    assert.match(output, /epoch 1 loss/, 'the job\'s epochs=1, run here');
    assert.doesNotMatch(output, /epoch 2 loss/);
    assert.match(output, /samples from \/home\/ma-user\/modelarts\/inputs\/data_url_0/, 'the downloaded data at the job\'s input path');
    assert.match(output, /ended with exit code 0/);
  });

  it('pages a ModelArts account\'s jobs into the view by 50, with the view\'s filter sent to the service', async function () {
    fx.server.seedJobs(120);
    const offsets = () => fx.server.journal.requestsTo('ListTrainingJobs').map((e) => (e.body as { offset: number }).offset);
    fx.server.journal.clear();
    const { jobs } = await run<{ jobs: number }>('modelarts.jobs.refresh', { backend });
    assert.equal(jobs, 50, 'the first page only');
    assert.deepEqual(offsets(), [0]);
    await run('modelarts.jobs.loadMore', { backend });
    await run('modelarts.jobs.loadMore', { backend });
    const deadline = Date.now() + 10_000;
    while (offsets().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(offsets(), [0, 1, 2], 'the next pages come from the service, one per Load more');
    fx.server.journal.clear();
    await run('modelarts.jobs.filter', { name: 'seeded-job-01' });
    const until = Date.now() + 10_000;
    while (!fx.server.journal.requestsTo('ListTrainingJobs').length && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    const searched = fx.server.journal.requestsTo('ListTrainingJobs')[0]?.body as { filters?: Array<{ key: string; operator: string; value: string[] }> };
    assert.deepEqual(searched.filters, [{ key: 'name', operator: 'like', value: ['seeded-job-01'] }], 'the name filter is the service\'s');
    await run('modelarts.jobs.clearFilter');
  });

  it('browses the account\'s OBS in the Datasets view under its own root: upload, list, download and delete there, not in the local store', async function () {
    const listed = await run<{ buckets: string[] }>('modelarts.datasets.refresh', { backend });
    assert.ok(listed.buckets.includes(fx.bucket), `the account's buckets: ${listed.buckets.join(', ')}`);
    const source = path.join(codeDir(), 'train.py');
    const url = `obs://${fx.bucket}/datasets-view/`;
    const sent = await run<{ objects: number }>('modelarts.datasets.upload', { source, url, backend });
    assert.equal(sent.objects, 1);
    const level = await run<{ objects: Array<{ url: string; size: number }> }>('modelarts.datasets.refresh', { url, backend });
    assert.deepEqual(level.objects.map((o) => [o.url, o.size]), [[`${url}train.py`, fs.statSync(source).size]], 'listed from OBS');
    const local = await run<{ buckets: string[] }>('modelarts.datasets.refresh', {});
    assert.ok(!local.buckets.includes(fx.bucket), 'the local store did not get it');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-download-'));
    await run('modelarts.datasets.download', { url: `${url}train.py`, dir, backend });
    assert.equal(fs.readFileSync(path.join(dir, 'train.py'), 'utf8'), fs.readFileSync(source, 'utf8'), 'byte for byte');
    assert.deepEqual(await run('modelarts.datasets.delete', { url, backend }), { deleted: 1 });
    await rejectsNaming(run('modelarts.datasets.refresh', { url, backend: 'modelarts:nowhere' }), 'backend "modelarts:nowhere" has no store');
    const seed = await run<{ backend?: string }>('modelarts.datasets.useAsInput', { url, backend });
    assert.equal(seed.backend, backend, 'a job on the account\'s data runs on the account');
  });

  it('signs out: the backend, its account and its keys are gone', async function () {
    assert.deepEqual(await run('modelarts.cloud.signOut', { backend }), { backend });
    assert.deepEqual(vscode.workspace.getConfiguration().get('modelarts.cloud.accounts'), []);
    const deadline = Date.now() + 10_000;
    while (api.backends.get(backend) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(api.backends.get(backend), undefined);
  });
});
