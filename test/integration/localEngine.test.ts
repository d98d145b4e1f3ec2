/**
 * The local engine against a real Docker engine: real containers of the preset image, real logs,
 * real files. Nothing here is faked.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { InvalidInputError } from '../../src/core/errors';
import { LABELS } from '../../src/backends/local/docker';
import { LocalBackend } from '../../src/backends/local/localBackend';
import { DIGITS_DIR, EPOCH_LINE, PRESET_ENGINE, containersOf, removeContainersOf, jobRequest as request, makeFolder, recordingLogger, removeFolders, waitForJob, waitForTerminal } from '../support/jobs';

const docker = new Docker();


describe('LocalBackend (real Docker)', function () {
  let dataDir: string;
  let engine: LocalBackend;
  let logger: ReturnType<typeof recordingLogger>;

  before(async function () {
    dataDir = makeFolder('engine-data');
    logger = recordingLogger();
    engine = new LocalBackend({ dataDir, dockerHost: '', logger });
    const state = await engine.connect();
    assert.equal(state.kind, 'available', `the local engine must reach Docker: ${JSON.stringify(state)}`);
  });

  after(async function () {
    engine?.dispose();
    await removeContainersOf(engine);
    removeFolders();
  });

  it('runs the digits example to Completed, with its epoch lines in the log and a checkpoint in the output', async function () {
    const created = await engine.createJob(
      request('digits-integration', DIGITS_DIR, 'train.py', [
        { name: 'epochs', value: 5 },
        { name: 'lr', value: '0.01' },
      ]),
    );
    assert.ok(['Pending', 'Running'].includes(created.status.phase), `a new job is Pending or Running, not ${created.status.phase}`);
    assert.match(created.metadata.id, /^[0-9a-f-]{36}$/);
    assert.equal(created.algorithm.boot_file, path.join(DIGITS_DIR, 'train.py'));
    assert.equal(created.algorithm.code_dir, DIGITS_DIR + path.sep);
    assert.equal(created.spec.resource.node_count, 1);
    assert.deepEqual(created.status.tasks, ['worker-0']);

    const container = await docker.getContainer(`modelarts-job-${created.metadata.id}-worker-0`).inspect();
    assert.equal(container.Config.Labels[LABELS.store], engine.storeId);
    assert.equal(container.Config.User, '1000:100');
    assert.deepEqual(container.Config.Cmd, [
      'python',
      '/home/ma-user/modelarts/user-job-dir/digits/train.py',
      '--train_url=/home/ma-user/modelarts/outputs/train_url_0',
      '--epochs=5',
      '--lr=0.01',
    ]);

    const done = await waitForTerminal(engine, created.metadata.id, 120_000);
    const log = await engine.readLog(created.metadata.id, 'worker-0');
    assert.equal(done.status.phase, 'Completed', `the job failed; its log:\n${log}`);
    assert.equal(done.status.secondary_phase, 'Completed');
    assert.deepEqual(done.status.task_statuses, [{ task: 'worker-0', exit_code: 0, message: 'Succeeded' }]);
    assert.ok(done.status.start_time >= done.metadata.create_time, 'started after it was created');
    assert.ok(done.status.duration > 1000, `ran for a while (duration ${done.status.duration} ms)`);
    assert.equal(done.status.running_records.length, 1);
    assert.equal(done.status.running_records[0]?.end_reason, 'Completed');

    const epochs = log
      .split('\n')
      .map((line) => EPOCH_LINE.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
    assert.deepEqual(epochs, [1, 2, 3, 4, 5], `one line per epoch, in order; log:\n${log}`);
    const lastAcc = Number(EPOCH_LINE.exec(log.split('\n').filter((l) => EPOCH_LINE.test(l)).at(-1) ?? '')?.[3]);
    assert.ok(lastAcc > 0.8, `the model learns (training accuracy ${lastAcc} after 5 epochs)`);

    const output = engine.outputLocation(created.metadata.id, 'train_url');
    assert.ok(output, 'the output has a host folder');
    const checkpoint = fs.statSync(path.join(output, 'checkpoint.pt'));
    assert.ok(checkpoint.size > 10_000, `a real checkpoint (${checkpoint.size} bytes)`);
    const metrics = JSON.parse(fs.readFileSync(path.join(output, 'metrics.json'), 'utf8')) as { epochs: number };
    assert.equal(metrics.epochs, 5);

    const events = await engine.listEvents(created.metadata.id);
    const messages = events.map((e) => e.message);
    for (const expected of ['Training job is running.', '[worker-0] Training started.', '[worker-0] Training finished. Exit code 0.', 'Training job completed.']) {
      assert.ok(messages.includes(expected), `event "${expected}" in ${JSON.stringify(messages)}`);
    }
    assert.ok(messages.some((m) => /^\[worker-0\] Code copied to \/home\/ma-user\/modelarts\/user-job-dir\/digits \(\d+ files/.test(m)));
    for (const event of events) {
      assert.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
      assert.ok(['Job', 'Task', 'Docker'].includes(event.source));
    }

    // Following a finished job replays the whole log once and ends.
    const followed: string[] = [];
    for await (const batch of engine.followLog(created.metadata.id, 'worker-0')) followed.push(...batch);
    assert.equal(followed.join('\n') + '\n', log);
  });

  it('passes outputs and hyperparameters as flags, sets the MA_ variables and runs as ma-user', async function () {
    const code = makeFolder('probe', {
      'src/probe.py': [
        'import json, os, sys',
        'out = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--train_url=")][0]',
        'open(os.path.join(out, "written.txt"), "w").write("hello from the container")',
        'keys = ["MA_HOME", "MA_JOB_DIR", "MA_MOUNT_PATH", "MA_LOG_DIR", "WORKSPACE", "MA_NUM_HOSTS", "VC_TASK_INDEX",',
        '        "VC_WORKER_NUM", "VC_WORKER_HOSTS", "MA_TASK_NAME", "MA_CURRENT_INSTANCE_NAME", "PYTHONUNBUFFERED", "MY_SETTING"]',
        'print(json.dumps({"argv": sys.argv, "uid": os.getuid(), "cwd": os.getcwd(), "env": {k: os.environ.get(k) for k in keys},',
        '                  "code": sorted(os.listdir(os.environ["WORKSPACE"]))}))',
      ].join('\n'),
      'src/helper.txt': 'data',
      '.git/HEAD': 'ref: refs/heads/main',
    });
    const spec = request('probe-flags', code, path.join(code, 'src', 'probe.py'), [
      { name: 'epochs', value: 3 },
      { name: 'verbose' },
      { name: 'note', value: 'two words' },
    ]);
    spec.algorithm.environments = { MY_SETTING: 'on' };
    const job = await engine.createJob(spec);
    const done = await waitForTerminal(engine, job.metadata.id, 60_000);
    const log = await engine.readLog(job.metadata.id, 'worker-0');
    assert.equal(done.status.phase, 'Completed', log);
    const probe = JSON.parse(log.trim().split('\n').at(-1) ?? '{}') as {
      argv: string[];
      uid: number;
      cwd: string;
      env: Record<string, string>;
      code: string[];
    };
    const folder = path.basename(code);
    assert.deepEqual(probe.argv, [
      `/home/ma-user/modelarts/user-job-dir/${folder}/src/probe.py`,
      '--train_url=/home/ma-user/modelarts/outputs/train_url_0',
      '--epochs=3',
      '--verbose',
      '--note=two words',
    ]);
    assert.equal(probe.uid, 1000);
    assert.equal(probe.cwd, `/home/ma-user/modelarts/user-job-dir/${folder}`);
    const host = `modelarts-job-${job.metadata.id}-worker-0`;
    assert.deepEqual(probe.env, {
      MA_HOME: '/home/ma-user',
      MA_JOB_DIR: '/home/ma-user/modelarts/user-job-dir',
      MA_MOUNT_PATH: '/home/ma-user/modelarts',
      MA_LOG_DIR: '/home/ma-user/modelarts/log',
      WORKSPACE: `/home/ma-user/modelarts/user-job-dir/${folder}`,
      MA_NUM_HOSTS: '1',
      VC_TASK_INDEX: '0',
      VC_WORKER_NUM: '1',
      VC_WORKER_HOSTS: host,
      MA_TASK_NAME: 'worker',
      MA_CURRENT_INSTANCE_NAME: host,
      PYTHONUNBUFFERED: '1',
      MY_SETTING: 'on',
    });
    assert.deepEqual(probe.code, ['src'], 'the code folder is copied without its .git folder');
    const output = engine.outputLocation(job.metadata.id, 'train_url') ?? '';
    assert.equal(fs.readFileSync(path.join(output, 'written.txt'), 'utf8'), 'hello from the container');
  });

  it('takes a failing script to Failed with its exit code, keeping what it printed', async function () {
    const code = makeFolder('failing', {
      'fail.py': 'import sys\nprint("loading data")\nprint("something broke", file=sys.stderr)\nsys.exit(3)\n',
    });
    const job = await engine.createJob(request('failing-job', code, 'fail.py'));
    const done = await waitForTerminal(engine, job.metadata.id, 60_000);
    assert.equal(done.status.phase, 'Failed');
    assert.equal(done.status.secondary_phase, 'Failed');
    assert.deepEqual(done.status.task_statuses, [{ task: 'worker-0', exit_code: 3, message: 'Exited with code 3' }]);
    // stdout and stderr reach Docker through separate pipes, so lines printed within microseconds of
    // each other on the two streams may swap; each line is there exactly once.
    const log = await engine.readLog(job.metadata.id, 'worker-0');
    assert.deepEqual(log.trimEnd().split('\n').sort(), ['loading data', 'something broke']);
    const events = await engine.listEvents(job.metadata.id);
    const failure = events.find((e) => e.source === 'Job' && e.level === 'Error');
    assert.equal(failure?.message, 'Training job failed: worker-0 exited with code 3.');
    assert.ok(events.some((e) => e.message === '[worker-0] Training finished. Exit code 3.'));
  });

  it('follows a running job live, every line exactly once', async function () {
    const code = makeFolder('live', {
      'tick.py': 'import time\nfor i in range(1, 31):\n    print(f"tick {i}", flush=True)\n    time.sleep(0.1)\n',
    });
    const job = await engine.createJob(request('live-log', code, 'tick.py'));
    const seen: string[] = [];
    let batchesWhileRunning = 0;
    for await (const batch of engine.followLog(job.metadata.id, 'worker-0')) {
      seen.push(...batch);
      if ((await engine.getJob(job.metadata.id))?.status.phase === 'Running') batchesWhileRunning += 1;
    }
    assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => `tick ${i + 1}`));
    assert.ok(batchesWhileRunning >= 2, `lines arrived while the job ran (${batchesWhileRunning} batches)`);
    assert.equal((await engine.getJob(job.metadata.id))?.status.phase, 'Completed');
  });

  it('refuses bad input, naming each field, and leaves no job or container behind', async function () {
    const jobsBefore = (await engine.listJobs()).length;
    // Ended jobs' containers are removed in the background: let that finish before counting.
    await engine.idle();
    const containersBefore = (await containersOf(engine)).length;
    const dirsBefore = fs.readdirSync(path.join(dataDir, 'jobs')).length;

    const cases: Array<[string, unknown, string[]]> = [
      ['a missing boot file', request('no-boot', DIGITS_DIR, 'missing.py'), ['algorithm.boot_file']],
      [
        'an unknown engine',
        { ...request('bad-engine', DIGITS_DIR, 'train.py'), algorithm: { code_dir: DIGITS_DIR, boot_file: 'train.py', engine: { engine_name: 'TensorFlow', engine_version: '9.9' } } },
        ['algorithm.engine'],
      ],
      ['an invalid name', request('has spaces!', DIGITS_DIR, 'train.py'), ['metadata.name']],
      ['a misspelt field', { ...request('typo', DIGITS_DIR, 'train.py'), algorithm: { code_dir: DIGITS_DIR, boot_fle: 'train.py', engine: PRESET_ENGINE } }, ['algorithm.boot_fle', 'algorithm.boot_file']],
      ['a code folder that does not exist', request('no-code', '/nonexistent/code', 'train.py'), ['algorithm.code_dir']],
      ['a boot file outside the code folder', request('escape', DIGITS_DIR, '../../package.json'), ['algorithm.boot_file']],
      ['an unknown flavor', { ...request('bad-flavor', DIGITS_DIR, 'train.py'), spec: { resource: { flavor_id: 'modelarts.huge' } } }, ['spec.resource.flavor_id']],
      ['a wrongly typed parameter', request('bad-param', DIGITS_DIR, 'train.py', [{ name: 'epochs', value: { n: 1 } as unknown as string }]), ['algorithm.parameters[0].value']],
    ];
    for (const [what, spec, fields] of cases) {
      await assert.rejects(engine.createJob(spec), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError, `${what}: an InvalidInputError, got ${String(error)}`);
        for (const field of fields) {
          assert.ok(error.fields.includes(field), `${what}: names ${field} (named ${error.fields.join(', ')})`);
          assert.ok(error.message.includes(field), `${what}: the message names ${field}: ${error.message}`);
        }
        return true;
      });
    }
    assert.equal((await engine.listJobs()).length, jobsBefore, 'no job record was created');
    assert.equal((await containersOf(engine)).length, containersBefore, 'no container was created');
    assert.equal(fs.readdirSync(path.join(dataDir, 'jobs')).length, dirsBefore, 'no job folder was created');
  });

  it('cancelling a creation removes what it made', async function () {
    const jobsBefore = (await engine.listJobs()).length;
    // Ended jobs' containers are removed in the background: let that finish before counting.
    await engine.idle();
    const containersBefore = (await containersOf(engine)).length;
    const controller = new AbortController();
    const steps: string[] = [];
    const creation = engine.createJob(request('cancelled', DIGITS_DIR, 'train.py'), {
      signal: controller.signal,
      onProgress: (step) => {
        steps.push(step);
        if (step.startsWith('Copying the code')) controller.abort();
      },
    });
    await assert.rejects(creation, /cancelled/);
    assert.ok(steps.some((s) => s.startsWith('Creating the container')), `it got as far as a container: ${steps.join(' / ')}`);
    assert.equal((await engine.listJobs()).length, jobsBefore);
    assert.equal((await containersOf(engine)).length, containersBefore);
  });

  it('picks up a running job after the engine is recreated, without losing or repeating log lines', async function () {
    const code = makeFolder('reattach', {
      'slow.py': 'import time\nfor i in range(1, 41):\n    print(f"line {i}", flush=True)\n    time.sleep(0.1)\n',
    });
    const job = await engine.createJob(request('reattach', code, 'slow.py'));
    await waitForJob(engine, job.metadata.id, (j) => j.status.phase === 'Running', 30_000, 'Running');
    // Let some lines reach the log, then lose the engine mid-job.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await engine.idle();
    engine.dispose();
    const before = fs.readFileSync(path.join(dataDir, 'jobs', job.metadata.id, 'logs', 'worker-0.log'), 'utf8');
    assert.ok(before.split('\n').length > 3, 'some lines were captured before the engine went away');

    engine = new LocalBackend({ dataDir, dockerHost: '', logger });
    assert.equal((await engine.connect()).kind, 'available');
    const done = await waitForTerminal(engine, job.metadata.id, 60_000);
    assert.equal(done.status.phase, 'Completed');
    const log = await engine.readLog(job.metadata.id, 'worker-0');
    assert.deepEqual(log.trimEnd().split('\n'), Array.from({ length: 40 }, (_, i) => `line ${i + 1}`));
  });

  it('marks a job Abnormal when its container disappears', async function () {
    const code = makeFolder('vanish', { 'sleep.py': 'import time\nprint("waiting", flush=True)\ntime.sleep(60)\n' });
    const job = await engine.createJob(request('vanishing', code, 'sleep.py'));
    await waitForJob(engine, job.metadata.id, (j) => j.status.phase === 'Running', 30_000, 'Running');
    await docker.getContainer(`modelarts-job-${job.metadata.id}-worker-0`).remove({ force: true });
    const done = await waitForTerminal(engine, job.metadata.id, 30_000);
    assert.equal(done.status.phase, 'Abnormal');
    assert.equal(done.status.secondary_phase, 'Lost');
    const events = await engine.listEvents(job.metadata.id);
    assert.ok(events.some((e) => e.level === 'Error' && e.message.startsWith('Training job is abnormal')));
  });
});
