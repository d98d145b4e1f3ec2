/**
 * A second backend in a real extension host: an in-memory one (test/support/memoryBackend.ts)
 * registered through the public API, as another extension would. Every job command takes
 * `{backend, jobId}` or a JobRef and acts on that backend only; a backend that is not configured
 * is refused by name; the local backend's jobs are untouched; removing the backend removes it.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ModelArtsApi, TrainingJob } from '../../src/api';
import { activateApi, rejectsNaming } from '../support/editor';
import { MemoryBackend } from '../support/memoryBackend';

const run = <T = unknown>(command: string, ...args: unknown[]) => vscode.commands.executeCommand<T>(command, ...args);

async function waitForPhase(api: ModelArtsApi, ref: { backend: string; id: string }, phases: readonly string[]): Promise<TrainingJob> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await api.jobs.get(ref);
    if (job && phases.includes(job.status.phase)) return job;
    if (Date.now() > deadline) throw new Error(`job ${ref.backend}/${ref.id} is ${job?.status.phase ?? 'gone'}, not ${phases.join(' or ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Two backends in VS Code', function () {
  let api: ModelArtsApi;
  let lab: MemoryBackend;
  let registration: vscode.Disposable | undefined;
  let localBefore: string[];
  const codeDir = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
  const spec = (name: string, parameters: Array<{ name: string; value: string }>) => ({
    kind: 'job',
    metadata: { name },
    algorithm: { code_dir: codeDir(), boot_file: 'train.py', engine: { engine_name: 'PyTorch', engine_version: '1.13-cpu' }, parameters },
  });

  before(async function () {
    api = await activateApi();
    localBefore = (await api.jobs.list()).map((job) => job.metadata.id);
    lab = new MemoryBackend({ id: 'lab', displayName: 'Lab', stepMs: 10 });
  });

  after(async function () {
    registration?.dispose();
    lab.dispose();
    await run('workbench.action.closeAllEditors');
  });

  it('registers a backend through the API: listed after the local one, announced', async function () {
    let announced = 0;
    const subscription = api.backends.onDidChange(() => announced++);
    registration = api.backends.register(lab);
    subscription.dispose();
    assert.ok(announced > 0, 'onDidChange fired');
    assert.deepEqual(api.backends.list().map((backend) => backend.id), ['local', 'lab']);
    assert.equal(api.backends.get('lab')?.displayName, 'Lab');
    assert.throws(() => api.backends.register(new MemoryBackend({ id: 'lab' })), /lab/, 'an id is registered once');
    const { jobs } = await run<{ state: string; jobs: number }>('modelarts.jobs.refresh', { backend: 'lab' });
    assert.equal(jobs, 0);
  });

  it('creates, follows, shows and copies a job on the named backend only', async function () {
    const id = await run<string>('modelarts.jobs.create', spec('lab-digits', [{ name: 'epochs', value: '3' }]), { backend: 'lab' });
    const ref = { backend: 'lab', id };
    const job = await waitForPhase(api, ref, ['Completed']);
    assert.equal(job.spec.resource.flavor_id, 'modelarts.memory.cpu.2u8g', 'the lab\'s own default flavor');
    assert.equal(await api.jobs.get(id), undefined, 'an id alone is a local job (version 1), and this one is not');
    assert.match(await api.jobs.log(ref), /epoch 3 loss/);

    const logs = await run<{ backend: string; jobId: string; channel: string }>('modelarts.jobs.showLogs', { backend: 'lab', jobId: id });
    assert.equal(logs.backend, 'lab');
    assert.equal(logs.jobId, id);
    assert.match(logs.channel, /^lab-digits · /);
    assert.deepEqual(await run('modelarts.jobs.showDetails', ref), { backend: 'lab', jobId: id, title: 'Job: lab-digits' });
    const events = await run<{ backend: string; events: Array<{ message: string }> }>('modelarts.jobs.showEvents', { backend: 'lab', jobId: id });
    assert.equal(events.backend, 'lab');
    assert.ok(events.events.some((event) => /completed/i.test(event.message)), events.events.map((event) => event.message).join(' | '));

    const copyId = await run<string>('modelarts.jobs.copy', { backend: 'lab', jobId: id }, { parameters: 'epochs=2' });
    const copy = await waitForPhase(api, { backend: 'lab', id: copyId }, ['Completed']);
    assert.equal(copy.metadata.name, 'lab-digits-copy');
    assert.deepEqual((await api.jobs.list({ backend: 'lab' })).map((j) => j.metadata.name).sort(), ['lab-digits', 'lab-digits-copy']);
    assert.deepEqual((await api.jobs.list()).map((j) => j.metadata.id), localBefore, 'the local backend has no new job');
    const all = await api.jobs.listAll();
    assert.deepEqual(all.filter((entry) => entry.backend === 'lab').map((entry) => entry.job.metadata.id).sort(), [id, copyId].sort());
  });

  it('stops a running job by reference and compares jobs across backends', async function () {
    const id = await run<string>('modelarts.jobs.create', spec('lab-long', [{ name: 'epochs', value: '2' }, { name: 'sleep_ms', value: '60000' }]), { backend: 'lab' });
    await waitForPhase(api, { backend: 'lab', id }, ['Running']);
    const stopped = await run<{ jobId: string; phase: string }>('modelarts.jobs.stop', { backend: 'lab', id });
    assert.equal(stopped.jobId, id);
    await waitForPhase(api, { backend: 'lab', id }, ['Terminated']);

    const labJobs = await api.jobs.list({ backend: 'lab' });
    const refs = labJobs.slice(0, 2).map((job) => ({ backend: 'lab', id: job.metadata.id }));
    const compared = await run<{ jobs: Array<{ backend: string; id: string }> }>('modelarts.jobs.compareMetrics', { jobs: refs });
    assert.deepEqual(compared.jobs, refs);
  });

  it('refuses a backend that is not configured, naming it, and deletes on the named backend', async function () {
    await rejectsNaming(run('modelarts.jobs.create', spec('nowhere', []), { backend: 'nowhere' }), 'nowhere', 'not configured');
    const [first] = await api.jobs.list({ backend: 'lab' });
    assert.ok(first);
    await rejectsNaming(run('modelarts.jobs.showLogs', { backend: 'nowhere', jobId: first.metadata.id }), 'nowhere');
    await rejectsNaming(run('modelarts.jobs.showLogs', { backend: 'local', jobId: first.metadata.id }), first.metadata.id);

    assert.deepEqual(await run('modelarts.jobs.delete', { backend: 'lab', jobId: first.metadata.id }), { deleted: first.metadata.id });
    assert.equal(await api.jobs.get({ backend: 'lab', id: first.metadata.id }), undefined);
  });

  it('removes the backend when its registration is disposed', async function () {
    registration?.dispose();
    registration = undefined;
    assert.deepEqual(api.backends.list().map((backend) => backend.id), ['local']);
    await rejectsNaming(Promise.resolve(api.jobs.list({ backend: 'lab' })), 'lab', 'not configured');
  });
});
