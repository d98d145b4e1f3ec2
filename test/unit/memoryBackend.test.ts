/**
 * What the in-memory backend has beyond the TrainingBackend contract (test/contract): its test
 * hooks, its scripted programs, multi-node jobs and resource samples.
 */
import * as assert from 'node:assert/strict';
import { EngineUnavailableError, InvalidInputError } from '../../src/core/errors';
import { parseJobCreateRequest, type JobChange, type JobCreateRequest, type TrainingJob } from '../../src/core/job';
import type { ResourceSampleAdded } from '../../src/core/resourceSample';
import type { BackendState, TrainingBackend } from '../../src/backends/trainingBackend';
import { MemoryBackend } from '../support/memoryBackend';
import { planMemoryJob } from '../support/memoryBackendCatalog';
import { EPOCH_LINE, PRESET_ENGINE } from '../support/jobs';

function request(name: string, parameters: Record<string, string>, extra: Partial<JobCreateRequest> = {}): JobCreateRequest {
  return {
    kind: 'job',
    metadata: { name },
    algorithm: { code_dir: '/code/digits', boot_file: 'train.py', engine: { ...PRESET_ENGINE }, parameters: Object.entries(parameters).map(([n, value]) => ({ name: n, value })) },
    ...extra,
  };
}

describe('MemoryBackend', function () {
  let backend: MemoryBackend;

  beforeEach(async function () {
    backend = new MemoryBackend({ stepMs: 5 });
    await backend.connect();
  });

  afterEach(function () {
    backend.dispose();
  });

  it('connects at once, takes the states a test sets, and refuses writes while it is not available', async function () {
    const fresh = new MemoryBackend();
    assert.equal(fresh.state.kind, 'connecting');
    assert.equal((await fresh.connect()).kind, 'available');
    fresh.dispose();
    const asBackend: TrainingBackend = backend;
    assert.equal(asBackend.localFiles, undefined);
    assert.equal(asBackend.devContainers, undefined);
    assert.equal(asBackend.imageBuilder, undefined);
    const states: BackendState[] = [];
    backend.onDidChangeState((state) => states.push(state));
    backend.setUnavailable('the test unplugged it');
    assert.deepEqual(backend.state, { kind: 'unavailable', reason: 'the test unplugged it', endpoint: 'memory://memory' });
    assert.equal((await backend.connect()).kind, 'unavailable', 'a retry does not bring it back');
    await assert.rejects(backend.createJob(request('offline', {})), (error: unknown) => error instanceof EngineUnavailableError && /the test unplugged it/.test(error.message));
    assert.deepEqual(await backend.listJobs(), []);
    backend.setNeedsCredentials('signed out');
    backend.setAvailable();
    assert.deepEqual(states.map((s) => s.kind), ['unavailable', 'needsCredentials', 'available']);
    assert.equal((await backend.createJob(request('online', {}))).metadata.name, 'online');
  });

  it('runs one task per node, each with its own log, sampling CPU and memory while it runs', async function () {
    const samples: ResourceSampleAdded[] = [];
    backend.onDidAddResourceSample((added) => samples.push(added));
    const job = await backend.createJob(request('two-nodes', { epochs: '3' }, { spec: { resource: { node_count: 2 } } }));
    assert.deepEqual(job.status.tasks, ['worker-0', 'worker-1']);
    await backend.idle();
    const done = await backend.getJob(job.metadata.id);
    assert.equal(done?.status.phase, 'Completed');
    assert.deepEqual(done?.status.task_statuses.map((s) => [s.task, s.exit_code, s.message]), [['worker-0', 0, 'Succeeded'], ['worker-1', 0, 'Succeeded']]);
    for (const task of ['worker-0', 'worker-1']) {
      const lines = (await backend.readLog(job.metadata.id, task)).trimEnd().split('\n');
      assert.equal(lines[0], 'argv: --train_url=/home/ma-user/modelarts/outputs/train_url_0 --epochs=3');
      assert.deepEqual(lines.slice(1).map((line) => EPOCH_LINE.exec(line)?.[1]), ['1', '2', '3']);
    }
    const listed = await backend.listResourceSamples(job.metadata.id);
    assert.deepEqual([...new Set(listed.map((s) => s.task))].sort(), ['worker-0', 'worker-1']);
    assert.deepEqual(samples.map((s) => s.sample), listed, 'each sample was announced');
    assert.ok(listed.every((s) => s.memoryLimitBytes === 8 * 1024 ** 3 && s.cpuPercent > 0), 'the default flavor: 2 vCPUs, 8 GiB');
  });

  it('fails on exit_code, and restarts per fault-tolerance/job-retry-num until a run succeeds (fail_runs)', async function () {
    const failed = await backend.createJob(request('exits-4', { exit_code: '4' }));
    const retried = await backend.createJob(request('flaky', { exit_code: '1', fail_runs: '1' }, { metadata: { name: 'flaky', annotations: { 'fault-tolerance/job-retry-num': '2' } } }));
    await backend.idle();
    const end = await backend.getJob(failed.metadata.id);
    assert.equal(end?.status.phase, 'Failed');
    assert.equal((await backend.listEvents(failed.metadata.id)).at(-1)?.message, 'Training job failed: worker-0 exited with code 4.');
    const flaky = await backend.getJob(retried.metadata.id);
    assert.equal(flaky?.status.phase, 'Completed');
    assert.deepEqual(flaky?.status.running_records.map((r) => [r.start_type, r.end_recover ?? r.end_reason]), [['init_or_rescheduled', 'restarted'], ['restarted', 'Completed']]);
    const messages = (await backend.listEvents(retried.metadata.id)).map((e) => e.message);
    assert.ok(messages.includes('Training job failed (worker-0 exited with code 1); restarting it automatically (restart 1 of 2, fault-tolerance/job-retry-num).'), messages.join('\n'));
    assert.equal((await backend.readLog(retried.metadata.id, 'worker-0')).split('\n').filter((l) => l.startsWith('argv:')).length, 2, 'the log keeps both runs');
  });

  it('refuses a boot file outside its code folder, naming it', async function () {
    await assert.rejects(
      backend.createJob({ ...request('outside', {}), algorithm: { code_dir: '/code/digits', boot_file: '/elsewhere/train.py', engine: { ...PRESET_ENGINE } } }),
      (error: unknown) => error instanceof InvalidInputError && error.fields.includes('algorithm.boot_file'),
    );
  });

  it('seeds ready-made frozen jobs without a word, and fires changes as given', async function () {
    const changes: JobChange[] = [];
    backend.onDidChangeJob((change) => changes.push(change));
    const make = (name: string, createTime: number): TrainingJob => {
      const job = planMemoryJob(parseJobCreateRequest(request(name, {})), { id: `id-${name}`, now: createTime, getAlgorithm: () => undefined });
      return { ...job, status: { ...job.status, phase: 'Completed', secondary_phase: 'Completed' } };
    };
    backend.seedJobs([make('old', 1000), make('new', 3000), make('middle', 2000)]);
    assert.equal(changes.length, 0, 'seeding fires nothing');
    const listed = await backend.listJobs();
    assert.deepEqual(listed.map((j) => j.metadata.name), ['new', 'middle', 'old']);
    assert.ok(Object.isFrozen(listed[0]?.status), 'jobs are deep-frozen');
    assert.deepEqual(await backend.listEvents('id-old'), []);
    const old = listed[2];
    assert.ok(old);
    // As given, even where the phase rules would refuse it (Completed → Running).
    backend.fireJobChange('updated', { ...old, status: { ...old.status, phase: 'Running', secondary_phase: 'Running' } });
    assert.equal((await backend.getJob('id-old'))?.status.phase, 'Running');
    backend.fireJobChange('deleted', old);
    assert.equal(await backend.getJob('id-old'), undefined);
    assert.deepEqual(changes.map((c) => `${c.kind} ${c.job.metadata.name} ${c.job.status.phase}`), ['updated old Running', 'deleted old Completed']);
  });
});
