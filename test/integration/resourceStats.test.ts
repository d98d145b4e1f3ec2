/**
 * CPU and memory samples of a job's task containers, from Docker's stats stream, against a real
 * Docker engine: what arrives live, what is kept with the job (and read by a following window),
 * sampling again after a reload, and no stats stream left open once the tasks are gone.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResourceSample, ResourceSampleAdded } from '../../src/core/resourceSample';
import { LocalBackend } from '../../src/backends/local/localBackend';
import { thinSamples } from '../../src/backends/local/resourceStats';
import { jobRequest, makeFolder, recordingLogger, removeContainersOf, removeFolders, waitForJob, waitForTerminal } from '../support/jobs';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const SMALL = 'modelarts.local.cpu.1u2g';

/** Holds about 200 MB (touched, so it is really in use) and keeps one core busy for `--secs` seconds. */
const BURNER =
  'import sys, time\n' +
  'secs = float(sys.argv[-1].split("=")[1])\n' +
  'block = b"x" * (200 * 1024 * 1024)\n' +
  'print("holding", len(block) >> 20, "MiB", flush=True)\n' +
  'end = time.time() + secs\n' +
  'n = 0\n' +
  'while time.time() < end:\n    n += 1\n' +
  'print("done", n, flush=True)\n';

function burnerJob(name: string, secs: number) {
  const code = makeFolder(name, { 'burn.py': BURNER });
  return { ...jobRequest(name, code, 'burn.py', [{ name: 'secs', value: String(secs) }]), spec: { resource: { flavor_id: SMALL } } };
}

function collect(engine: LocalBackend): ResourceSampleAdded[] {
  const added: ResourceSampleAdded[] = [];
  engine.onDidAddResourceSample((e) => added.push(e));
  return added;
}

const samplesOf = (added: readonly ResourceSampleAdded[], jobId: string): ResourceSample[] => added.filter((a) => a.jobId === jobId).map((a) => a.sample);

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return condition();
}

describe('CPU and memory (resource) samples of running jobs (real Docker)', function () {
  const engines: LocalBackend[] = [];
  const track = (engine: LocalBackend) => (engines.push(engine), engine);

  after(async function () {
    // Followers first, so none takes over a data folder while the suite cleans up.
    for (const engine of [...engines].reverse()) engine.dispose();
    for (const engine of engines) await removeContainersOf(engine);
    removeFolders();
  });

  it('samples the CPU and memory of a running job, keeps them with the job, shows them in a following window and deletes them with the job', async function () {
    const dataDir = makeFolder('resource-data');
    const engine = track(new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger(), capacity: { cpus: 2, memoryGib: 8 } }));
    assert.equal((await engine.connect()).kind, 'available', 'the local engine must reach Docker');
    const follower = track(new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger() }));
    assert.equal((await follower.connect()).kind, 'available');
    const live = collect(engine);
    const followed = collect(follower);

    const job = await engine.createJob(burnerJob('resource-burner', 5));
    const id = job.metadata.id;
    const done = await waitForTerminal(engine, id, 60_000);
    assert.equal(done.status.phase, 'Completed', JSON.stringify(done.status));
    assert.equal(engine.openStatsStreams, 0, 'every stats stream is closed once the job has ended');

    const arrived = samplesOf(live, id);
    assert.ok(arrived.length >= 2, `at least two samples arrived while it ran (${arrived.length})`);
    const kept = await engine.listResourceSamples(id);
    assert.deepEqual(kept, arrived, 'the job keeps exactly the samples that arrived, oldest first');
    const shown = kept.map((s) => `${s.cpuPercent}% ${(s.memoryBytes / MIB).toFixed(0)} MiB`).join(', ');
    assert.ok(kept.every((s) => s.task === 'worker-0'));
    assert.ok(kept.every((s) => s.memoryLimitBytes === 2 * GIB), `the limit is the flavor's 2 GiB: ${kept.map((s) => s.memoryLimitBytes).join(', ')}`);
    assert.ok(kept.some((s) => s.cpuPercent > 20), `the busy loop shows as CPU use: ${shown}`);
    assert.ok(kept.every((s) => s.cpuPercent <= 110), `one vCPU is at most about 100%: ${shown}`);
    assert.ok(kept.some((s) => s.memoryBytes > 100 * MIB), `the 200 MB block shows as memory use: ${shown}`);
    for (let i = 1; i < kept.length; i++) assert.ok(kept[i]!.time - kept[i - 1]!.time >= 1000, 'at most one sample per second');
    const started = done.status.start_time;
    assert.ok(kept[0]!.time >= started - 1000 && kept.at(-1)!.time <= started + done.status.duration + 2000, 'sampled while it ran');
    const file = path.join(dataDir, 'jobs', id, 'stats.jsonl');
    assert.equal(fs.readFileSync(file, 'utf8').trimEnd().split('\n').length, kept.length, 'kept in the job folder');

    // The other window reads the same samples, and saw them arrive as the writer wrote them.
    assert.deepEqual(await follower.listResourceSamples(id), kept);
    assert.ok(await until(() => samplesOf(followed, id).length >= kept.length, 5000), `the follower announced ${samplesOf(followed, id).length} of ${kept.length}`);
    assert.deepEqual(samplesOf(followed, id), kept, 'the follower announced each sample once, in order');
    assert.equal(follower.openStatsStreams, 0, 'a following window does not sample');

    await engine.deleteJob(id);
    assert.deepEqual(await engine.listResourceSamples(id), []);
    assert.equal(fs.existsSync(file), false, 'the samples went with the job');
  });

  it('samples a running task again after the window reloads', async function () {
    const dataDir = makeFolder('resource-reload');
    const original = track(new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger(), capacity: { cpus: 2, memoryGib: 8 } }));
    assert.equal((await original.connect()).kind, 'available');
    const first = collect(original);
    const job = await original.createJob(burnerJob('resource-reload', 7));
    const id = job.metadata.id;
    assert.ok(await until(() => samplesOf(first, id).length >= 2, 15_000), 'sampled before the reload');
    original.dispose();
    const reloadedAt = Date.now();
    assert.ok(await until(() => original.openStatsStreams === 0, 2000), 'the disposed engine closed its stats stream');

    const reloaded = track(new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger(), capacity: { cpus: 2, memoryGib: 8 } }));
    const second = collect(reloaded);
    assert.equal((await reloaded.connect()).kind, 'available');
    assert.equal((await reloaded.getJob(id))?.status.phase, 'Running', 'still running after the reload');
    assert.ok(await until(() => samplesOf(second, id).length >= 1, 10_000), 'the reconciled task is sampled again');
    await waitForJob(reloaded, id, (j) => j.status.phase === 'Completed', 60_000, 'Completed');
    assert.equal(reloaded.openStatsStreams, 0);

    const kept = await reloaded.listResourceSamples(id);
    assert.ok(kept.some((s) => s.time < reloadedAt) && kept.some((s) => s.time > reloadedAt), 'samples from before and after the reload');
    for (let i = 1; i < kept.length; i++) assert.ok(kept[i]!.time > kept[i - 1]!.time, 'none twice, oldest first');
  });

  it('thins a long job to the cap, keeping its whole span for each task', function () {
    const samples: ResourceSample[] = [];
    for (let t = 0; t < 1000; t++) {
      for (const task of ['worker-0', 'worker-1']) samples.push({ time: t * 1000, task, cpuPercent: 50, memoryBytes: 1, memoryLimitBytes: 2 });
    }
    const thinned = thinSamples(samples, 600);
    assert.ok(thinned.length <= 600 && thinned.length >= 300, `${thinned.length}`);
    for (const task of ['worker-0', 'worker-1']) {
      const times = thinned.filter((s) => s.task === task).map((s) => s.time);
      assert.equal(times[0], 0);
      assert.equal(times.at(-1), 999_000, 'the newest sample stays');
      assert.ok(Math.abs(times.length - thinned.length / 2) <= 1, 'both tasks keep the same resolution');
    }
  });
});
