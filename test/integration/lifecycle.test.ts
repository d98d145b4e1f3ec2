/**
 * The whole ModelArts job life cycle on the local engine, against a real Docker engine and the
 * embedded folder store: queuing, stop, delete, copy, algorithms, inputs and outputs, automatic
 * restarts, distributed training, incremental training and custom images.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { InvalidInputError, InvalidStateError } from '../../src/core/errors';
import type { JobCreateRequest } from '../../src/core/job';
import { LocalBackend } from '../../src/backends/local/localBackend';
import { copyJob, saveJobAsAlgorithm, stopJobAndWait } from '../../src/backends/shared/jobOperations';
import {
  DIGITS_DIR,
  EPOCH_LINE,
  PRESET_ENGINE,
  REPO_ROOT,
  containersOf,
  removeContainersOf,
  jobRequest,
  makeFolder,
  recordingLogger,
  removeFolders,
  waitForJob,
  waitForTerminal,
} from '../support/jobs';

const docker = new Docker();
const SMALL = 'modelarts.local.cpu.1u2g';

/** A request for a tiny job running `script` on the small flavor. */
function scriptJob(name: string, script: string, extra: Partial<JobCreateRequest['algorithm']> = {}, annotations?: Record<string, string>): JobCreateRequest {
  const code = makeFolder(name, { 'main.py': script });
  const request = jobRequest(name, code, 'main.py');
  return {
    ...request,
    metadata: { name, ...(annotations ? { annotations } : {}) },
    algorithm: { ...request.algorithm, ...extra },
    spec: { resource: { flavor_id: SMALL } },
  };
}

const messagesOf = async (engine: LocalBackend, id: string) => (await engine.listEvents(id)).map((e) => e.message);

describe('Local engine life cycle (real Docker)', function () {
  let dataDir: string;
  let engine: LocalBackend;
  const logger = recordingLogger();

  before(async function () {
    dataDir = makeFolder('lifecycle-data');
    // Room for two small jobs at once, so the third queues.
    engine = new LocalBackend({ dataDir, dockerHost: '', logger, capacity: { cpus: 2, memoryGib: 8 }, stopGraceSeconds: 2 });
    assert.equal((await engine.connect()).kind, 'available', 'the local engine must reach Docker');
  });

  after(async function () {
    engine?.dispose();
    await removeContainersOf(engine);
    removeFolders();
  });

  it('queues a job while the capacity is used up, then runs it when a job ends', async function () {
    const sleeper = 'import time, sys\nprint("started", flush=True)\ntime.sleep(float(sys.argv[-1].split("=")[1]))\n';
    const a = await engine.createJob(scriptJob('hold-a', sleeper, { parameters: [{ name: 'secs', value: '4' }] }));
    const b = await engine.createJob(scriptJob('hold-b', sleeper, { parameters: [{ name: 'secs', value: '4' }] }));
    const c = await engine.createJob(scriptJob('queued-c', sleeper, { parameters: [{ name: 'secs', value: '0.1' }] }));
    const queued = await engine.getJob(c.metadata.id);
    assert.equal(queued?.status.phase, 'Pending');
    assert.equal(queued?.status.secondary_phase, 'Queuing');
    assert.equal(fs.existsSync(path.join(dataDir, 'jobs', c.metadata.id, 'logs', 'worker-0.log')), false, 'a queuing job has not started');
    // A queuing job stops at once: it never ran.
    const d = await engine.createJob(scriptJob('queued-d', sleeper, { parameters: [{ name: 'secs', value: '0.1' }] }));
    assert.equal((await engine.getJob(d.metadata.id))?.status.secondary_phase, 'Queuing');
    const stopped = await stopJobAndWait(engine, d.metadata.id);
    assert.equal(stopped.status.phase, 'Terminated');
    assert.equal(stopped.status.start_time, 0);
    assert.deepEqual(stopped.status.running_records, []);
    const done = await waitForTerminal(engine, c.metadata.id, 60_000);
    assert.equal(done.status.phase, 'Completed');
    const first = await engine.getJob(a.metadata.id);
    assert.equal(first?.status.phase, 'Completed', 'c ran only after a job had ended');
    await waitForTerminal(engine, b.metadata.id, 30_000);
    const messages = await messagesOf(engine, c.metadata.id);
    assert.ok(messages.some((m) => /^Queuing: the job needs 1 vCPUs and 2 GiB; 2 running jobs use 2 of 2 vCPUs/.test(m)), messages.join('\n'));
    assert.ok(messages.includes('Resources are free: starting the job.'));
  });

  it('starts a queuing job as soon as the capacity setting grows', async function () {
    engine.setCapacity({ cpus: 1, memoryGib: 8 });
    try {
      const sleeper = 'import time\nprint("up", flush=True)\ntime.sleep(60)\n';
      const x = await engine.createJob(scriptJob('capacity-x', sleeper));
      const y = await engine.createJob(scriptJob('capacity-y', sleeper));
      assert.equal((await engine.getJob(y.metadata.id))?.status.secondary_phase, 'Queuing');
      engine.setCapacity({ cpus: 2, memoryGib: 8 });
      await waitForJob(engine, y.metadata.id, (j) => j.status.phase === 'Running', 30_000, 'Running');
      assert.equal((await engine.getJob(x.metadata.id))?.status.phase, 'Running', 'x still runs: y did not wait for it');
      await Promise.all([stopJobAndWait(engine, x.metadata.id), stopJobAndWait(engine, y.metadata.id)]);
    } finally {
      engine.setCapacity({ cpus: 2, memoryGib: 8 });
    }
  });

  it('stops a running job: SIGTERM reaches the code, the job ends Terminated; stop and delete are refused where the console refuses them', async function () {
    const trap =
      'import signal, sys, time\n' +
      'def stop(*_):\n    print("got SIGTERM, saving", flush=True)\n    sys.exit(0)\n' +
      'signal.signal(signal.SIGTERM, stop)\nprint("training", flush=True)\ntime.sleep(120)\n';
    const job = await engine.createJob(scriptJob('stoppable', trap));
    await waitForJob(engine, job.metadata.id, (j) => j.status.phase === 'Running', 30_000, 'Running');
    await assert.rejects(engine.deleteJob(job.metadata.id), (error: unknown) => error instanceof InvalidStateError && /only while Failed, Completed, Terminated or Abnormal/.test(error.message));
    await waitForLogLine(engine, job.metadata.id, 'training');
    const phases: string[] = [];
    const listener = engine.onDidChangeJob((change) => change.job.metadata.id === job.metadata.id && phases.push(change.job.status.phase));
    const stopped = await stopJobAndWait(engine, job.metadata.id);
    listener.dispose();
    assert.equal(stopped.status.phase, 'Terminated');
    assert.ok(phases.includes('Terminating'), `went through Terminating: ${phases.join(' → ')}`);
    assert.match(await engine.readLog(job.metadata.id, 'worker-0'), /got SIGTERM, saving/);
    await assert.rejects(stopJobAndWait(engine, job.metadata.id), (error: unknown) => error instanceof InvalidStateError && /Terminated; it can be stopped only while Creating, Pending or Running/.test(error.message));
    const messages = await messagesOf(engine, job.metadata.id);
    assert.ok(messages.some((m) => m.startsWith('Stopping the training job: SIGTERM')));
    assert.ok(messages.includes('Training job terminated.'));
  });

  it('kills a job that ignores SIGTERM after the grace period', async function () {
    const stubborn = 'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("ignoring", flush=True)\ntime.sleep(120)\n';
    const job = await engine.createJob(scriptJob('stubborn', stubborn));
    await waitForLogLine(engine, job.metadata.id, 'ignoring');
    const started = Date.now();
    const stopped = await stopJobAndWait(engine, job.metadata.id);
    assert.equal(stopped.status.phase, 'Terminated');
    const took = Date.now() - started;
    assert.ok(took >= 1500 && took < 20_000, `killed after the 2 s grace period (${took} ms)`);
    assert.equal(stopped.status.task_statuses[0]?.exit_code, 137);
  });

  it('deletes a finished job with its containers, logs and staging', async function () {
    const job = await engine.createJob(scriptJob('deletable', 'print("bye")\n'));
    await waitForTerminal(engine, job.metadata.id, 60_000);
    const jobDir = path.join(dataDir, 'jobs', job.metadata.id);
    assert.ok(fs.existsSync(jobDir));
    const deleted = new Promise<string>((resolve) => engine.onDidChangeJob((change) => change.kind === 'deleted' && resolve(change.job.metadata.id)));
    await engine.deleteJob(job.metadata.id);
    assert.equal(await deleted, job.metadata.id);
    assert.equal(await engine.getJob(job.metadata.id), undefined);
    assert.equal(fs.existsSync(jobDir), false, 'its folder (record, events, logs, outputs) is gone');
    const left = (await containersOf(engine)).filter((c) => c.Labels['org.modelarts-training.job-id'] === job.metadata.id);
    assert.deepEqual(left, [], 'its container is gone');
  });

  it('restarts a failed job per fault-tolerance/job-retry-num, recording each run', async function () {
    // Fails on its first run (it leaves a marker in its output folder), succeeds on the second.
    const flaky =
      'import os, sys\nout = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--train_url=")][0]\n' +
      'marker = os.path.join(out, "attempted")\n' +
      'if not os.path.exists(marker):\n    open(marker, "w").close()\n    print("first run fails", flush=True)\n    sys.exit(2)\n' +
      'print("second run succeeds", flush=True)\n';
    const job = await engine.createJob(scriptJob('flaky', flaky, {}, { 'fault-tolerance/job-retry-num': '2' }));
    const done = await waitForTerminal(engine, job.metadata.id, 90_000);
    assert.equal(done.status.phase, 'Completed');
    assert.equal(done.status.running_records.length, 2);
    assert.equal(done.status.running_records[0]?.start_type, 'init_or_rescheduled');
    assert.equal(done.status.running_records[0]?.end_recover, 'restarted');
    assert.match(done.status.running_records[0]?.end_reason ?? '', /exited with code 2/);
    assert.equal(done.status.running_records[1]?.start_type, 'restarted');
    assert.equal(await engine.readLog(job.metadata.id, 'worker-0'), 'first run fails\nsecond run succeeds\n');
    const messages = await messagesOf(engine, job.metadata.id);
    assert.ok(messages.some((m) => /restarting it automatically \(restart 1 of 2, fault-tolerance\/job-retry-num\)/.test(m)), messages.join('\n'));

    const hopeless = await engine.createJob(scriptJob('hopeless', 'import sys\nprint("no")\nsys.exit(1)\n', {}, { 'fault-tolerance/job-retry-num': '1' }));
    const failed = await waitForTerminal(engine, hopeless.metadata.id, 90_000);
    assert.equal(failed.status.phase, 'Failed');
    assert.equal(failed.status.running_records.length, 2, 'one run and one restart');
    assert.equal(await engine.readLog(hopeless.metadata.id, 'worker-0'), 'no\nno\n');
  });

  it('stages inputs from the store and a local folder, and uploads outputs when the job ends', async function () {
    // The embedded store: every bucket is a folder under <dataDir>/object-store.
    const bucket = path.join(dataDir, 'object-store', 'datasets');
    fs.mkdirSync(path.join(bucket, 'digits', 'nested'), { recursive: true });
    fs.copyFileSync(path.join(DIGITS_DIR, 'data', 'digits.csv.gz'), path.join(bucket, 'digits', 'digits.csv.gz'));
    fs.writeFileSync(path.join(bucket, 'digits', 'nested', 'note.txt'), 'hello');
    const extra = makeFolder('extra-input', { 'labels.txt': 'a\nb\n' });
    fs.chmodSync(extra, 0o755); // the code runs as ma-user (UID 1000)
    const probe =
      'import json, os, sys\nflags = dict(a[2:].split("=", 1) for a in sys.argv[1:] if "=" in a)\n' +
      'print(json.dumps({"flags": flags, "data": sorted(os.listdir(flags["data_url"])), "extra": open(os.path.join(flags["extra"], "labels.txt")).read()}))\n' +
      'open(os.path.join(flags["model"], "weights.bin"), "wb").write(b"w" * 1000)\n';
    const spec = scriptJob('staged', probe, {
      inputs: [
        { name: 'data_url', remote: { obs: { obs_url: 'obs://datasets/digits/' } } },
        { name: 'extra', remote: { obs: { obs_url: `file://${extra}` } } },
      ],
      outputs: [{ name: 'model', remote: { obs: { obs_url: 'obs://results/staged/model/' } } }],
    });
    const job = await engine.createJob(spec);
    const done = await waitForTerminal(engine, job.metadata.id, 60_000);
    assert.equal(done.status.phase, 'Completed', await engine.readLog(job.metadata.id, 'worker-0'));
    const printed = JSON.parse((await engine.readLog(job.metadata.id, 'worker-0')).trim().split('\n')[0] ?? '{}') as { flags: Record<string, string>; data: string[]; extra: string };
    assert.equal(printed.flags['data_url'], '/home/ma-user/modelarts/inputs/data_url_0');
    assert.equal(printed.flags['extra'], '/home/ma-user/modelarts/inputs/extra_0');
    assert.equal(printed.flags['model'], '/home/ma-user/modelarts/outputs/model_0');
    assert.deepEqual(printed.data, ['digits.csv.gz', 'nested']);
    assert.equal(printed.extra, 'a\nb\n');
    const uploaded = path.join(dataDir, 'object-store', 'results', 'staged', 'model', 'weights.bin');
    assert.equal(fs.statSync(uploaded).size, 1000, 'the output reached its store location');
    const messages = await messagesOf(engine, job.metadata.id);
    assert.ok(messages.some((m) => /^Input data_url: downloaded 2 files/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^Upload training output\(parameter name: model\) finished: 1 files/.test(m)), messages.join('\n'));

    // A second job on the same data starts from the input cache.
    const again = await engine.createJob({ ...spec, metadata: { name: 'staged-again' } });
    await waitForTerminal(engine, again.metadata.id, 60_000);
    const againMessages = await messagesOf(engine, again.metadata.id);
    assert.ok(againMessages.some((m) => /^Input data_url: obs:\/\/datasets\/digits\/ is in the input cache \(2 files/.test(m)), againMessages.join('\n'));

    // Deleting the job leaves its uploaded outputs unless asked.
    await engine.deleteJob(job.metadata.id);
    assert.ok(fs.existsSync(uploaded), 'outputs in the store stay');
    await engine.deleteJob(again.metadata.id, { deleteOutputs: true });
    assert.equal(fs.existsSync(uploaded), false, 'deleteOutputs removes them too');
  });

  it('copies a job, saves it as an algorithm, and creates a job from the algorithm', async function () {
    const job = await engine.createJob({
      ...scriptJob('original', 'import sys\nprint(" ".join(sys.argv[1:]))\n', { parameters: [{ name: 'lr', value: '0.1' }, { name: 'verbose' }] }),
    });
    await waitForTerminal(engine, job.metadata.id, 60_000);
    const copy = await copyJob(engine, job.metadata.id);
    const second = await copyJob(engine, job.metadata.id);
    assert.equal(copy.metadata.name, 'original-copy');
    assert.equal(second.metadata.name, 'original-copy-2');
    assert.notEqual(copy.metadata.id, job.metadata.id);
    assert.deepEqual(copy.algorithm.parameters, job.algorithm.parameters);
    await waitForTerminal(engine, copy.metadata.id, 60_000);
    await waitForTerminal(engine, second.metadata.id, 60_000);
    assert.equal(await engine.readLog(copy.metadata.id, 'worker-0'), '--train_url=/home/ma-user/modelarts/outputs/train_url_0 --lr=0.1 --verbose\n');

    const algorithm = await saveJobAsAlgorithm(engine, job.metadata.id, { description: 'prints its flags' });
    assert.equal(algorithm.metadata.name, 'original');
    assert.equal(algorithm.job_config.boot_file, job.algorithm.boot_file);
    assert.deepEqual(algorithm.job_config.engine, { engine_name: 'PyTorch', engine_version: '1.13-cpu' });
    assert.deepEqual((await engine.listAlgorithms()).map((a) => a.metadata.id), [algorithm.metadata.id]);
    await assert.rejects(saveJobAsAlgorithm(engine, job.metadata.id, { name: 'original' }), (error: unknown) => error instanceof InvalidInputError && error.fields.includes('metadata.name'));

    const fromAlgorithm = await engine.createJob({
      kind: 'job',
      metadata: { name: 'from-algorithm' },
      algorithm: { id: algorithm.metadata.id, parameters: [{ name: 'lr', value: '0.5' }, { name: 'seed', value: 7 }] },
      spec: { resource: { flavor_id: SMALL } },
    });
    await waitForTerminal(engine, fromAlgorithm.metadata.id, 60_000);
    assert.equal(fromAlgorithm.algorithm.id, algorithm.metadata.id);
    assert.equal(await engine.readLog(fromAlgorithm.metadata.id, 'worker-0'), '--train_url=/home/ma-user/modelarts/outputs/train_url_0 --lr=0.5 --verbose --seed=7\n');

    const updated = await engine.updateAlgorithm(algorithm.metadata.id, {
      metadata: { name: 'renamed' },
      job_config: { ...algorithm.job_config, parameters: [{ name: 'lr', value: '0.2' }], parameters_customization: false },
    });
    assert.equal(updated.metadata.name, 'renamed');
    assert.ok(updated.metadata.update_time);
    await assert.rejects(
      engine.createJob({ kind: 'job', metadata: { name: 'not-allowed' }, algorithm: { id: algorithm.metadata.id, parameters: [{ name: 'extra', value: '1' }] } }),
      (error: unknown) => error instanceof InvalidInputError && error.fields.includes('algorithm.parameters[0].name'),
    );
    await assert.rejects(
      engine.createAlgorithm({ metadata: { name: 'bad' }, job_config: { code_dir: '/nonexistent', boot_file: 'x.py', engine: PRESET_ENGINE, bogus: 1 } }),
      (error: unknown) => error instanceof InvalidInputError && error.fields.includes('job_config.bogus'),
    );
    await engine.deleteAlgorithm(algorithm.metadata.id);
    assert.deepEqual(await engine.listAlgorithms(), []);
    await assert.rejects(
      engine.createJob({ kind: 'job', metadata: { name: 'orphan' }, algorithm: { id: algorithm.metadata.id } }),
      (error: unknown) => error instanceof InvalidInputError && error.fields.includes('algorithm.id'),
    );
  });

  it('refuses malformed specs naming the field, and creates nothing', async function () {
    const jobsBefore = (await engine.listJobs()).length;
    // Ended jobs' containers are removed in the background: let that finish before counting.
    await engine.idle();
    const containersBefore = (await containersOf(engine)).length;
    const base = jobRequest('bad', DIGITS_DIR, 'train.py');
    const cases: Array<[string, unknown, string]> = [
      ['node_count of the wrong type', { ...base, spec: { resource: { node_count: '2' } } }, 'spec.resource.node_count'],
      ['an unknown flavor', { ...base, spec: { resource: { flavor_id: 'modelarts.local.cpu.64u1g' } } }, 'spec.resource.flavor_id'],
      ['node_count above the flavor maximum', { ...base, spec: { resource: { flavor_id: SMALL, node_count: 5 } } }, 'spec.resource.node_count'],
      ['node_count above the local capacity', { ...base, spec: { resource: { flavor_id: SMALL, node_count: 3 } } }, 'spec.resource.node_count'],
      ['a bad store URL', { ...base, algorithm: { ...base.algorithm, inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'http://example.com/data' } } }] } }, 'algorithm.inputs[0].remote.obs.obs_url'],
      ['a store URL escaping its bucket', { ...base, algorithm: { ...base.algorithm, outputs: [{ name: 'out', remote: { obs: { obs_url: 'obs://bucket/../etc/' } } }] } }, 'algorithm.outputs[0].remote.obs.obs_url'],
      ['a missing local input folder', { ...base, algorithm: { ...base.algorithm, inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'file:///nonexistent/data' } } }] } }, 'algorithm.inputs[0].remote.obs.obs_url'],
      ['a retry count out of range', { ...base, metadata: { name: 'bad', annotations: { 'fault-tolerance/job-retry-num': '9' } } }, 'metadata.annotations.fault-tolerance/job-retry-num'],
      ['predownload without a location', { ...base, algorithm: { ...base.algorithm, outputs: [{ name: 'out', predownload: true }] } }, 'algorithm.outputs[0].predownload'],
      ['a missing custom image', { ...base, algorithm: { engine: { image_url: 'no-such-image:1' }, command: 'python -V' } }, 'algorithm.engine.image_url'],
    ];
    for (const [what, spec, field] of cases) {
      await assert.rejects(engine.createJob(spec), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError, `${what}: an InvalidInputError, got ${String(error)}`);
        assert.ok(error.fields.includes(field), `${what}: names ${field} (named ${error.fields.join(', ')}: ${error.message})`);
        return true;
      });
    }
    assert.equal((await engine.listJobs()).length, jobsBefore, 'no job record was created');
    assert.equal((await containersOf(engine)).length, containersBefore, 'no container was created');
  });

  it('runs a 2-node PyTorch DDP job (gloo) across two containers on a job network', async function () {
    const job = await engine.createJob({
      kind: 'job',
      metadata: { name: 'ddp' },
      algorithm: { code_dir: path.join(REPO_ROOT, 'examples', 'ddp'), boot_file: 'train.py', engine: { ...PRESET_ENGINE }, parameters: [{ name: 'epochs', value: 2 }] },
      spec: { resource: { flavor_id: SMALL, node_count: 2 } },
    });
    assert.deepEqual(job.status.tasks, ['worker-0', 'worker-1']);
    const container = await docker.getContainer(`modelarts-job-${job.metadata.id}-worker-1`).inspect();
    const done = await waitForTerminal(engine, job.metadata.id, 180_000);
    const logs = await Promise.all(['worker-0', 'worker-1'].map((task) => engine.readLog(job.metadata.id, task)));
    assert.equal(done.status.phase, 'Completed', logs.join('\n---\n'));
    assert.match(logs[0] ?? '', /world_size=2 rank=0 backend=gloo/);
    assert.ok((logs[0] ?? '').split('\n').some((line) => EPOCH_LINE.test(line)), 'rank 0 printed epoch lines');
    assert.match(logs[0] ?? '', /rank 0 done/);
    assert.match(logs[1] ?? '', /rank 1 done/);
    const env = Object.fromEntries(container.Config.Env.map((e) => e.split(/=(.*)/s).slice(0, 2)));
    assert.equal(env['VC_TASK_INDEX'], '1');
    assert.equal(env['MA_NUM_HOSTS'], '2');
    assert.equal(env['VC_WORKER_HOSTS'], `modelarts-job-${job.metadata.id}-worker-0,modelarts-job-${job.metadata.id}-worker-1`);
    // Once it ended (and its logs were read), its containers and network are gone from docker ps -a.
    await engine.idle();
    for (const task of ['worker-0', 'worker-1']) {
      await assert.rejects(docker.getContainer(`modelarts-job-${job.metadata.id}-${task}`).inspect(), /404|no such container/i, `${task}'s container is removed after the end`);
    }
    await assert.rejects(docker.getNetwork(`modelarts-job-${job.metadata.id}`).inspect(), /404|no such network/i, 'its network is removed after the end');
    await engine.deleteJob(job.metadata.id);
  });

  it('fails a distributed job when one node fails, stopping the other', async function () {
    const script = 'import os, sys, time\nif os.environ["VC_TASK_INDEX"] == "1":\n    sys.exit(5)\ntime.sleep(120)\n';
    const job = await engine.createJob({ ...scriptJob('ddp-fail', script), spec: { resource: { flavor_id: SMALL, node_count: 2 } } });
    const started = Date.now();
    const done = await waitForTerminal(engine, job.metadata.id, 60_000);
    assert.equal(done.status.phase, 'Failed');
    assert.ok(Date.now() - started < 40_000, 'the healthy node was stopped, not waited for');
    assert.deepEqual(done.status.task_statuses.find((s) => s.task === 'worker-1')?.exit_code, 5);
    assert.equal(done.status.task_statuses.find((s) => s.task === 'worker-0')?.message, 'Stopped because another task failed');
  });

  it('resumes from the checkpoint of an earlier job (incremental training)', async function () {
    const output = { name: 'train_url', remote: { obs: { obs_url: 'obs://results/digits-resume/' } } };
    const first = await engine.createJob({
      kind: 'job',
      metadata: { name: 'digits-first' },
      algorithm: { code_dir: DIGITS_DIR, boot_file: 'train.py', engine: { ...PRESET_ENGINE }, parameters: [{ name: 'epochs', value: 3 }], outputs: [output] },
    });
    assert.equal((await waitForTerminal(engine, first.metadata.id, 120_000)).status.phase, 'Completed');
    const resumed = await engine.createJob({
      kind: 'job',
      metadata: { name: 'digits-resumed' },
      algorithm: { code_dir: DIGITS_DIR, boot_file: 'train.py', engine: { ...PRESET_ENGINE }, parameters: [{ name: 'epochs', value: 5 }], outputs: [{ ...output, predownload: true }] },
    });
    assert.equal((await waitForTerminal(engine, resumed.metadata.id, 120_000)).status.phase, 'Completed');
    const log = await engine.readLog(resumed.metadata.id, 'worker-0');
    assert.match(log, /resumed from checkpoint\.pt at epoch 3/);
    const epochs = log.split('\n').flatMap((line) => EPOCH_LINE.exec(line)?.[1] ?? []);
    assert.deepEqual(epochs, ['4', '5']);
    const messages = await messagesOf(engine, resumed.metadata.id);
    assert.ok(messages.some((m) => /^Output train_url: pre-downloaded \d+ files .* for incremental training\.$/.test(m)), messages.join('\n'));
  });

  it('runs a custom image built from a Dockerfile, with its command and the same flags', async function () {
    const context = makeFolder('custom-image', {
      Dockerfile: 'FROM modelarts-training/pytorch:1.13-cpu\nENV GREETING=hello-from-image\n',
      'run.py': 'import os, sys\nprint(os.environ["GREETING"], os.getcwd(), *sys.argv[1:])\n',
    });
    const lines: string[] = [];
    const built = await engine.buildCustomImage({ contextDir: context, tag: 'modelarts-test/custom:1', onLog: (line) => lines.push(line) });
    try {
      assert.ok(lines.length > 0, 'the build log streamed');
      const job = await engine.createJob({
        kind: 'job',
        metadata: { name: 'custom' },
        algorithm: {
          code_dir: context,
          engine: { image_url: built.tag },
          command: 'cd ${MA_JOB_DIR}/' + path.basename(context) + ' && python run.py',
          parameters: [{ name: 'lr', value: '0.3' }],
        },
        spec: { resource: { flavor_id: SMALL } },
      });
      const done = await waitForTerminal(engine, job.metadata.id, 60_000);
      assert.equal(done.status.phase, 'Completed');
      assert.equal(
        await engine.readLog(job.metadata.id, 'worker-0'),
        `hello-from-image /home/ma-user/modelarts/user-job-dir/${path.basename(context)} --train_url=/home/ma-user/modelarts/outputs/train_url_0 --lr=0.3\n`,
      );
    } finally {
      await removeContainersOf(engine);
      await docker.getImage(built.tag).remove({ force: true }).catch(() => undefined);
    }
  });
});

async function waitForLogLine(engine: LocalBackend, id: string, line: string): Promise<void> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 60_000);
  try {
    for await (const batch of engine.followLog(id, 'worker-0', { signal: controller.signal })) {
      if (batch.includes(line)) return;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`the log of ${id} never showed "${line}"`);
}

