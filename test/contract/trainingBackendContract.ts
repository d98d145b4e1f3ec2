/**
 * The behaviour every TrainingBackend owes, whatever runs its jobs (Docker, memory, ModelArts),
 * from the interface's contract and ModelArts' rules: validation naming fields, the phase life
 * cycle, events, stop and delete only where the console allows them, copy and save as algorithm,
 * logs followed once per line, algorithms, catalogs and the job list's order.
 *
 * A backend's test file calls describeTrainingBackend() with a fixture. The few jobs the suite
 * needs are shared between its tests (made once, on first use; the first three start together in
 * `before`), so a slow backend runs only a handful of real jobs.
 */
import * as assert from 'node:assert/strict';
import type { AlgorithmChange, TrainingBackend } from '../../src/backends/trainingBackend';
import { copyJob, saveJobAsAlgorithm, stopJobAndWait } from '../../src/backends/shared/jobOperations';
import type { AlgorithmCreateRequest } from '../../src/core/algorithm';
import { InvalidInputError, InvalidStateError, NotFoundError, isCancellation } from '../../src/core/errors';
import { toCreateRequest, trainingJobSchema, type JobChange, type JobCreateRequest, type TrainingJob } from '../../src/core/job';
import { EVENT_LEVELS, jobEventSchema } from '../../src/core/jobEvent';
import { actionRefusal, isTerminalPhase } from '../../src/core/lifecycle';
import { matchPresetEngine } from '../../src/core/presetEngines';
import { EPOCH_LINE } from '../support/jobs';
import { JobRecorder } from './jobRecorder';

export interface ContractFixture {
  readonly backend: TrainingBackend;
  /** A short job that ends Completed, printing `epochs` epoch lines (EPOCH_LINE) to worker-0's log. */
  completingJob(name: string): JobCreateRequest;
  readonly epochs: number;
  /** A job that ends Failed (its task exits with a non-zero code). */
  failingJob(name: string): JobCreateRequest;
  /** A job that runs far longer than any test, until it is stopped. */
  longJob(name: string): JobCreateRequest;
  /** A valid algorithm request (code and engine the backend has). */
  algorithm(name: string): AlgorithmCreateRequest;
  /** The longest a short job may take from creation to its end. */
  readonly jobTimeoutMs: number;
  cleanup(): Promise<void>;
}

const EVENT_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

async function readAll(backend: TrainingBackend, id: string, signal?: AbortSignal): Promise<string[]> {
  const lines: string[] = [];
  for await (const batch of backend.followLog(id, 'worker-0', signal ? { signal } : {})) lines.push(...batch);
  return lines;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Rejected with InvalidInputError naming (at least) each of `fields`. */
function namesFields(what: string, fields: readonly string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof InvalidInputError, `${what}: an InvalidInputError, got ${String(error)}`);
    for (const field of fields) assert.ok(error.fields.includes(field), `${what}: names ${field || '(the request)'} (named ${error.fields.join(', ')}: ${error.message})`);
    return true;
  };
}

function refusedWith(message: string | undefined) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof InvalidStateError, `an InvalidStateError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  };
}

/** What a copy must keep of the original: everything but its name. */
function specOf(job: TrainingJob): unknown {
  const { algorithm, spec } = toCreateRequest(job);
  return { algorithm, spec };
}

export function describeTrainingBackend(name: string, make: () => Promise<ContractFixture>): void {
  describe(`TrainingBackend contract: ${name}`, function () {
    let fx: ContractFixture;
    let backend: TrainingBackend;
    let recorder: JobRecorder;
    let watching: { dispose(): void } | undefined;
    const ended = (id: string): Promise<JobChange> => recorder.until(id, (c) => isTerminalPhase(c.job.status.phase), fx.jobTimeoutMs, 'a terminal phase');

    // Shared jobs: the completing one is followed by two readers from its creation on.
    const completing = once(async () => {
      const job = await backend.createJob(fx.completingJob('contract-completes'));
      const readers = [readAll(backend, job.metadata.id), readAll(backend, job.metadata.id)];
      for (const reader of readers) reader.catch(() => undefined);
      return { job, readers };
    });
    const failing = once(() => backend.createJob(fx.failingJob('contract-fails')));
    const long = once(() => backend.createJob(fx.longJob('contract-runs-long')));
    const copies = once(async () => {
      const { job } = await completing();
      return [await copyJob(backend, job.metadata.id), await copyJob(backend, job.metadata.id)] as const;
    });
    const savedAlgorithm = once(async () => saveJobAsAlgorithm(backend, (await completing()).job.metadata.id));

    before(async function () {
      fx = await make();
      backend = fx.backend;
      // The recorder watches, as a visible view does: a polling backend polls only while watched.
      watching = backend.polling?.watch();
      recorder = new JobRecorder(backend);
      const state = await backend.connect();
      assert.equal(state.kind, 'available', `${name} must be available for its contract: ${JSON.stringify(state)}`);
      for (const start of [completing, failing, long]) start().catch(() => undefined);
    });

    after(async function () {
      watching?.dispose();
      recorder?.dispose();
      await fx?.cleanup();
    });

    it('offers preset engines and flavors, exactly one flavor carrying default_reason', async function () {
      const flavors = await backend.listFlavors();
      assert.ok(flavors.length > 0, 'some flavor is offered');
      assert.equal(flavors.filter((f) => f.default_reason !== undefined).length, 1, `one default among ${flavors.map((f) => f.flavor_id).join(', ')}`);
      assert.equal(new Set(flavors.map((f) => f.flavor_id)).size, flavors.length, 'flavor ids are unique');
      for (const flavor of flavors) assert.ok(Number.isInteger(flavor.max_num) && flavor.max_num >= 1, `${flavor.flavor_id}: max_num ${flavor.max_num}`);
      const engines = await backend.listPresetEngines();
      const wanted = fx.completingJob('x').algorithm.engine;
      assert.ok(wanted && matchPresetEngine(engines, wanted), `the fixture's engine is offered among ${engines.map((e) => e.engine_id).join(', ')}`);
      for (const engine of engines) assert.ok(engine.engine_id && engine.engine_name && engine.engine_version && engine.image_info.cpu_image_url, JSON.stringify(engine));
    });

    it('refuses an invalid job spec naming each bad field, and creates nothing', async function () {
      const base = fx.completingJob('contract-invalid');
      const { boot_file: _bootFile, ...withoutBootFile } = base.algorithm;
      const flavors = await backend.listFlavors();
      const narrow = flavors.reduce((a, b) => (b.max_num < a.max_num ? b : a));
      const cases: Array<[string, unknown, string[]]> = [
        ['not an object', null, ['']],
        ['a name with spaces', { ...base, metadata: { name: 'contract invalid' } }, ['metadata.name']],
        ['a misspelt field', { ...base, algorithm: { ...base.algorithm, bootfile: 'train.py' } }, ['algorithm.bootfile']],
        ['no boot file', { ...base, algorithm: withoutBootFile }, ['algorithm.boot_file']],
        ['a bad hyperparameter name', { ...base, algorithm: { ...base.algorithm, parameters: [{ name: '1lr', value: '0.1' }] } }, ['algorithm.parameters[0].name']],
        ['a retry count out of range', { ...base, metadata: { name: 'contract-invalid', annotations: { 'fault-tolerance/job-retry-num': '9' } } }, ['metadata.annotations.fault-tolerance/job-retry-num']],
        ['node_count of the wrong type', { ...base, spec: { resource: { node_count: '2' } } }, ['spec.resource.node_count']],
        ['two schema problems at once', { ...base, metadata: { name: '' }, spec: { resource: { node_count: 0 } } }, ['metadata.name', 'spec.resource.node_count']],
        ['an unknown flavor', { ...base, spec: { resource: { flavor_id: 'modelarts.contract.no-such-flavor' } } }, ['spec.resource.flavor_id']],
        ['more nodes than the flavor allows', { ...base, spec: { resource: { flavor_id: narrow.flavor_id, node_count: narrow.max_num + 1 } } }, ['spec.resource.node_count']],
        ['an unknown preset engine', { ...base, algorithm: { ...base.algorithm, engine: { engine_name: 'NoSuchEngine', engine_version: '0.0' } } }, ['algorithm.engine']],
        ['an unknown algorithm id', { kind: 'job', metadata: { name: 'contract-invalid' }, algorithm: { id: 'no-such-algorithm' } }, ['algorithm.id']],
        [
          'two planning problems at once',
          { ...base, algorithm: { ...base.algorithm, engine: { engine_name: 'NoSuchEngine', engine_version: '0.0' } }, spec: { resource: { flavor_id: 'modelarts.contract.no-such-flavor' } } },
          ['algorithm.engine', 'spec.resource.flavor_id'],
        ],
      ];
      for (const [what, spec, fields] of cases) await assert.rejects(backend.createJob(spec), namesFields(what, fields));
      const invalid = (jobName: string) => jobName.startsWith('contract-invalid') || jobName.startsWith('contract invalid') || jobName === '';
      assert.deepEqual((await backend.listJobs()).filter((job) => invalid(job.metadata.name)), [], 'no job was listed');
      assert.deepEqual(recorder.createdNames().filter(invalid), [], 'no creation was announced');
    });

    it('creates nothing when the creation is aborted before it starts', async function () {
      await assert.rejects(backend.createJob(fx.completingJob('contract-cancelled'), { signal: AbortSignal.abort() }), (error: unknown) => isCancellation(error));
      assert.ok(!(await backend.listJobs()).some((job) => job.metadata.name === 'contract-cancelled'), 'no job was listed');
      assert.ok(!recorder.createdNames().includes('contract-cancelled'), 'no creation was announced');
    });

    it('takes a job through Creating, Pending and Running to Completed, every change a legal transition', async function () {
      const { job } = await completing();
      assert.doesNotThrow(() => trainingJobSchema.parse(job), 'the created job is in the ModelArts shape');
      assert.equal(job.metadata.name, 'contract-completes');
      assert.ok(job.metadata.id, 'it has an id');
      assert.ok(['Creating', 'Pending', 'Running'].includes(job.status.phase), `a new job is Creating, Pending or Running, not ${job.status.phase}`);
      assert.deepEqual(job.status.tasks, ['worker-0']);
      await ended(job.metadata.id);
      const phases = recorder.assertHistory(job.metadata.id, 'Completed');
      for (const phase of ['Pending', 'Running'] as const) assert.ok(phases.includes(phase), `passes ${phase}: ${phases.join(' → ')}`);
      const done = await backend.getJob(job.metadata.id);
      assert.ok(done, 'getJob finds it');
      assert.doesNotThrow(() => trainingJobSchema.parse(done));
      assert.equal(done.status.phase, 'Completed');
      assert.deepEqual(done.status.task_statuses.map((s) => [s.task, s.exit_code]), [['worker-0', 0]]);
      assert.ok(done.status.start_time >= done.metadata.create_time, `started (${done.status.start_time}) after it was created (${done.metadata.create_time})`);
      assert.ok(done.status.duration > 0, `it ran for a while (duration ${done.status.duration} ms)`);
      assert.equal(done.status.running_records.length, 1, 'one run');
      assert.ok(done.status.running_records[0]?.end_at !== undefined, 'its run has ended');
    });

    it('records events in the ModelArts form, oldest first, each one announced as it was added', async function () {
      const { job } = await completing();
      const id = job.metadata.id;
      await ended(id);
      const events = await backend.listEvents(id);
      assert.ok(events.length >= 3, `some events: ${JSON.stringify(events)}`);
      for (const event of events) {
        assert.doesNotThrow(() => jobEventSchema.parse(event), JSON.stringify(event));
        assert.match(event.time, EVENT_TIME);
        assert.ok(EVENT_LEVELS.includes(event.level), event.level);
        assert.ok(event.source.length > 0, `a source: ${JSON.stringify(event)}`);
      }
      events.slice(1).forEach((event, index) => {
        const previous = events[index];
        assert.ok(previous && Date.parse(event.time) >= Date.parse(previous.time), `"${event.message}" (${event.time}) is not older than "${previous?.message}" (${previous?.time})`);
      });
      const messages = events.map((e) => e.message);
      assert.match(messages[0] ?? '', /created/i, 'the first event says the job was created');
      assert.ok(messages.some((m) => /finished/i.test(m) && /exit code 0/i.test(m)), `a task's "finished … Exit code 0" event in ${JSON.stringify(messages)}`);
      assert.match(messages.at(-1) ?? '', /completed/i, 'the last event says the job completed');
      assert.deepEqual(events.filter((e) => e.level === 'Error'), [], 'a completed job has no Error event');
      assert.deepEqual([...recorder.eventsOf(id)], events, 'every event listed was announced through onDidAddEvent, in the same order');
      await assert.rejects(backend.listEvents('no-such-job'), NotFoundError);
    });

    it('follows a log: two concurrent readers each get every line exactly once, in order, and both end', async function () {
      const { job, readers } = await completing();
      const id = job.metadata.id;
      const followed = await withTimeout(Promise.all(readers), fx.jobTimeoutMs, 'both followers ending');
      await ended(id);
      const log = await backend.readLog(id, 'worker-0');
      const expected = Array.from({ length: fx.epochs }, (_, i) => i + 1);
      followed.forEach((lines, index) => {
        assert.equal(lines.map((line) => `${line}\n`).join(''), log, `reader ${index + 1} got the whole log, each line once`);
        const epochs = lines.flatMap((line) => EPOCH_LINE.exec(line)?.[1] ?? []).map(Number);
        assert.deepEqual(epochs, expected, `reader ${index + 1}: epoch lines in order`);
      });
      assert.deepEqual(await withTimeout(readAll(backend, id), 10_000, 'following an ended job'), followed[0], 'following an ended job replays its log and ends');
      await assert.rejects(backend.readLog(id, 'worker-9'), NotFoundError);
    });

    it('ends a failing job Failed, with its exit code and an Error event', async function () {
      const job = await failing();
      await ended(job.metadata.id);
      recorder.assertHistory(job.metadata.id, 'Failed');
      const done = await backend.getJob(job.metadata.id);
      const exitCode = done?.status.task_statuses.find((s) => s.task === 'worker-0')?.exit_code;
      assert.ok(exitCode !== undefined && exitCode !== 0, `worker-0 exited with a non-zero code: ${JSON.stringify(done?.status.task_statuses)}`);
      const events = await backend.listEvents(job.metadata.id);
      assert.ok(events.some((e) => e.level === 'Error'), `an Error event in ${JSON.stringify(events.map((e) => `${e.level}: ${e.message}`))}`);
      assert.ok(events.some((e) => e.message.includes(`Exit code ${exitCode}`)), `an event with the exit code ${exitCode}`);
    });

    it('stops a running job only while it runs: Terminating, then Terminated; delete refused meanwhile, a second stop refused after', async function () {
      const job = await long();
      const id = job.metadata.id;
      await recorder.until(id, (c) => c.job.status.phase === 'Running', fx.jobTimeoutMs, 'Running');
      await assert.rejects(backend.deleteJob(id), refusedWith(actionRefusal('delete', 'Running', job.metadata.name)));
      // ModelArts reports the duration of a running job live.
      const before = (await backend.getJob(id))?.status.duration ?? -1;
      await new Promise((resolve) => setTimeout(resolve, 60));
      const after = (await backend.getJob(id))?.status.duration ?? -1;
      assert.ok(before > 0 && after > before, `a live duration while it runs (${before} ms, then ${after} ms)`);
      // A follower that aborts ends while the job goes on.
      const controller = new AbortController();
      const reading = readAll(backend, id, controller.signal);
      controller.abort();
      await withTimeout(reading, 10_000, 'an aborted follower ending');
      const stopped = await stopJobAndWait(backend, id);
      assert.equal(stopped.status.phase, 'Terminated');
      await ended(id);
      const phases = recorder.assertHistory(id, 'Terminated');
      assert.ok(phases.includes('Terminating'), `went through Terminating: ${phases.join(' → ')}`);
      await assert.rejects(backend.stopJob(id), refusedWith(actionRefusal('stop', 'Terminated', job.metadata.name)));
      await assert.rejects(stopJobAndWait(backend, id), InvalidStateError);
      await assert.rejects(backend.stopJob('no-such-job'), NotFoundError);
    });

    it('stops a job right after creating it: it ends Terminated', async function () {
      const job = await backend.createJob(fx.completingJob('contract-stopped-early'));
      await backend.stopJob(job.metadata.id);
      const end = await ended(job.metadata.id);
      assert.equal(end.job.status.phase, 'Terminated');
      recorder.assertHistory(job.metadata.id, 'Terminated');
    });

    it('deletes an ended job: it leaves listJobs, getJob answers undefined, and a deleted change fires', async function () {
      const job = await failing();
      const id = job.metadata.id;
      await ended(id);
      const deleted = recorder.until(id, (c) => c.kind === 'deleted', 30_000, 'a deleted change');
      await backend.deleteJob(id);
      assert.equal((await deleted).job.metadata.id, id);
      assert.equal(await backend.getJob(id), undefined);
      assert.ok(!(await backend.listJobs()).some((each) => each.metadata.id === id), 'it is not listed');
      await assert.rejects(backend.deleteJob(id), NotFoundError);
      await assert.rejects(backend.listEvents(id), NotFoundError);
    });

    it('copies a job: <name>-copy, then <name>-copy-2, with the same spec, and the copy runs', async function () {
      const { job } = await completing();
      const [copy, second] = await copies();
      assert.equal(copy.metadata.name, `${job.metadata.name}-copy`);
      assert.equal(second.metadata.name, `${job.metadata.name}-copy-2`);
      assert.notEqual(copy.metadata.id, job.metadata.id);
      assert.deepEqual(specOf(copy), specOf(job), 'the copy has the spec of the original');
      assert.deepEqual(specOf(second), specOf(job));
      const [first, next] = await Promise.all([ended(copy.metadata.id), ended(second.metadata.id)]);
      assert.equal(first.job.status.phase, 'Completed');
      assert.equal(next.job.status.phase, 'Completed');
    });

    it('saves a job as an algorithm with its code, boot file, engine and hyperparameters; a clashing name is refused', async function () {
      const { job } = await completing();
      const algorithm = await savedAlgorithm();
      assert.equal(algorithm.metadata.name, job.metadata.name);
      const config = algorithm.job_config;
      assert.equal(config.code_dir, job.algorithm.code_dir);
      assert.equal(config.boot_file, job.algorithm.boot_file);
      assert.equal(config.engine.engine_name, job.algorithm.engine.engine_name);
      assert.equal(config.engine.engine_version, job.algorithm.engine.engine_version);
      assert.deepEqual(config.parameters, job.algorithm.parameters);
      assert.deepEqual(await backend.getAlgorithm(algorithm.metadata.id), algorithm);
      await assert.rejects(saveJobAsAlgorithm(backend, job.metadata.id, { name: algorithm.metadata.name }), namesFields('a taken name', ['metadata.name']));
    });

    it('runs a job created from that algorithm (algorithm.id)', async function () {
      const algorithm = await savedAlgorithm();
      // Saved jobs' algorithms let jobs add hyperparameters of their own (parameters_customization).
      const extra = { name: 'contract_note', value: 'from-algorithm' };
      const job = await backend.createJob({ kind: 'job', metadata: { name: 'contract-from-algorithm' }, algorithm: { id: algorithm.metadata.id, parameters: [extra] } });
      assert.equal(job.algorithm.id, algorithm.metadata.id);
      assert.equal(job.algorithm.boot_file, algorithm.job_config.boot_file);
      assert.deepEqual(job.algorithm.parameters, [...algorithm.job_config.parameters, extra]);
      const end = await ended(job.metadata.id);
      assert.equal(end.job.status.phase, 'Completed', await backend.readLog(job.metadata.id, 'worker-0'));
    });

    it('keeps algorithms: create, list newest first, get, update, delete; names unique; unknown ids NotFound', async function () {
      const changes: AlgorithmChange[] = [];
      const subscription = backend.onDidChangeAlgorithm((change) => changes.push(change));
      try {
        const first = await backend.createAlgorithm(fx.algorithm('contract-algorithm-a'));
        const second = await backend.createAlgorithm(fx.algorithm('contract-algorithm-b'));
        assert.equal(first.metadata.name, 'contract-algorithm-a');
        const listed = (await backend.listAlgorithms()).map((a) => a.metadata.id);
        assert.ok(listed.includes(first.metadata.id) && listed.indexOf(second.metadata.id) < listed.indexOf(first.metadata.id), `newest first: ${listed.join(', ')}`);
        assert.deepEqual(await backend.getAlgorithm(first.metadata.id), first);
        await assert.rejects(backend.createAlgorithm(fx.algorithm('contract-algorithm-a')), namesFields('a taken name', ['metadata.name']));
        await assert.rejects(backend.createAlgorithm(fx.algorithm('not a name')), namesFields('a bad name', ['metadata.name']));
        const unknownEngine = fx.algorithm('contract-algorithm-x');
        await assert.rejects(
          backend.createAlgorithm({ ...unknownEngine, job_config: { ...unknownEngine.job_config, engine: { engine_name: 'NoSuchEngine', engine_version: '0.0' } } }),
          namesFields('an unknown engine', ['job_config.engine']),
        );
        const request = fx.algorithm('contract-algorithm-a');
        const updated = await backend.updateAlgorithm(first.metadata.id, { ...request, metadata: { ...request.metadata, description: 'updated by the contract' } });
        assert.equal(updated.metadata.id, first.metadata.id);
        assert.equal(updated.metadata.description, 'updated by the contract');
        assert.equal(updated.metadata.create_time, first.metadata.create_time);
        assert.ok(updated.metadata.update_time !== undefined, 'update_time is set');
        assert.equal((await backend.getAlgorithm(first.metadata.id))?.metadata.description, 'updated by the contract');
        await assert.rejects(backend.updateAlgorithm(first.metadata.id, fx.algorithm('contract-algorithm-b')), namesFields('renamed onto another', ['metadata.name']));
        await assert.rejects(backend.updateAlgorithm('no-such-algorithm', request), NotFoundError);
        await backend.deleteAlgorithm(first.metadata.id);
        assert.equal(await backend.getAlgorithm(first.metadata.id), undefined);
        assert.ok(!(await backend.listAlgorithms()).some((a) => a.metadata.id === first.metadata.id), 'a deleted algorithm is not listed');
        await assert.rejects(backend.deleteAlgorithm(first.metadata.id), NotFoundError);
        assert.equal(await backend.getAlgorithm('no-such-algorithm'), undefined);
        await backend.deleteAlgorithm(second.metadata.id);
        const ours = new Set([first.metadata.id, second.metadata.id]);
        assert.deepEqual(
          changes.filter((c) => ours.has(c.algorithm.metadata.id)).map((c) => `${c.kind} ${c.algorithm.metadata.name}`),
          ['created contract-algorithm-a', 'created contract-algorithm-b', 'updated contract-algorithm-a', 'deleted contract-algorithm-a', 'deleted contract-algorithm-b'],
        );
      } finally {
        subscription.dispose();
      }
    });

    it('lists jobs newest first, each in the ModelArts shape', async function () {
      const { job } = await completing();
      const [copy, second] = await copies();
      const jobs = await backend.listJobs();
      jobs.slice(1).forEach((each, index) => {
        const previous = jobs[index];
        assert.ok(previous && previous.metadata.create_time >= each.metadata.create_time, `${previous?.metadata.name} is listed before the newer ${each.metadata.name}`);
      });
      for (const each of jobs) assert.doesNotThrow(() => trainingJobSchema.parse(each), each.metadata.name);
      const at = (id: string) => jobs.findIndex((each) => each.metadata.id === id);
      assert.ok(at(job.metadata.id) >= 0 && at(second.metadata.id) < at(copy.metadata.id) && at(copy.metadata.id) < at(job.metadata.id), 'the copies come before the original, the second copy first');
    });
  });
}
