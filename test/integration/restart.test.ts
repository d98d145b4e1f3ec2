/**
 * Reconciliation after the Docker daemon itself restarts: dockerd stops every container with it.
 * This suite really restarts dockerd (these machines run it by hand, without systemd), so it runs
 * on its own, after the suites that keep containers running.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { waitForEvent } from '../../src/core/events';
import { LocalBackend } from '../../src/backends/local/localBackend';
import { REPO_ROOT, removeContainersOf, jobRequest, makeFolder, recordingLogger, removeFolders, waitForJob, waitForTerminal } from '../support/jobs';


function dockerAnswers(): boolean {
  return spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore' }).status === 0;
}

async function restartDockerd(): Promise<void> {
  const pids = spawnSync('pgrep', ['-x', 'dockerd'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(pids, 'dockerd runs as a process this test can restart (no systemd on these machines)');
  execFileSync('kill', ['-TERM', ...pids.split(/\s+/)]);
  for (let i = 0; i < 120 && spawnSync('pgrep', ['-x', 'dockerd']).status === 0; i++) await new Promise((r) => setTimeout(r, 250));
  assert.equal(dockerAnswers(), false, 'dockerd went down');
  execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'ensure-docker.sh')], { stdio: 'inherit' });
  assert.ok(dockerAnswers(), 'dockerd is back');
}

describe('Reconciliation after dockerd restarts (real dockerd)', function () {
  let engine: LocalBackend;

  after(async function () {
    engine?.dispose();
    await removeContainersOf(engine);
    removeFolders();
  });

  it('marks a running job Abnormal, restarts a fault-tolerant one, and keeps every log line once', async function () {
    const dataDir = makeFolder('restart-data');
    engine = new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger(), reconnectMinMs: 250, reconnectMaxMs: 1000, capacity: { cpus: 4, memoryGib: 8 } });
    assert.equal((await engine.connect()).kind, 'available');
    const counter = makeFolder('restart-counter', { 'count.py': 'import time\nfor i in range(1, 10001):\n    print(f"line {i}", flush=True)\n    time.sleep(0.05)\n' });
    const flaky = makeFolder('restart-flaky', {
      'flaky.py':
        'import os, sys, time\nout = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--train_url=")][0]\n' +
        'marker = os.path.join(out, "ran")\nif os.path.exists(marker):\n    print("second run", flush=True)\n    sys.exit(0)\n' +
        'open(marker, "w").close()\nprint("first run", flush=True)\ntime.sleep(300)\n',
    });
    const small = { resource: { flavor_id: 'modelarts.local.cpu.1u2g' } };
    const plain = await engine.createJob({ ...jobRequest('counting', counter, 'count.py'), spec: small });
    const tolerant = await engine.createJob({ ...jobRequest('tolerant', flaky, 'flaky.py'), metadata: { name: 'tolerant', annotations: { 'fault-tolerance/job-retry-num': '1' } }, spec: small });
    for (const job of [plain, tolerant]) await waitForJob(engine, job.metadata.id, (j) => j.status.phase === 'Running', 30_000, 'Running');
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const states: string[] = [];
    engine.onDidChangeState((state) => states.push(state.kind));
    await restartDockerd();

    const abnormal = await waitForTerminal(engine, plain.metadata.id, 90_000);
    assert.equal(abnormal.status.phase, 'Abnormal', JSON.stringify(abnormal.status));
    assert.equal(abnormal.status.secondary_phase, 'Lost');
    const events = (await engine.listEvents(plain.metadata.id)).map((e) => e.message);
    assert.ok(events.some((m) => /^Training job is abnormal: \[worker-0\] The Docker engine stopped while the task ran/.test(m)), events.join('\n'));
    if (engine.state.kind !== 'available') await waitForEvent(engine.onDidChangeState, (state) => state.kind === 'available', AbortSignal.timeout(30_000));
    assert.ok(states.includes('unavailable') && states.at(-1) === 'available', `the engine lost Docker and got it back: ${states.join(' → ')}`);

    const log = (await engine.readLog(plain.metadata.id, 'worker-0')).trimEnd().split('\n');
    assert.ok(log.length > 20, `lines from before the restart are kept (${log.length})`);
    assert.deepEqual(log, Array.from({ length: log.length }, (_, i) => `line ${i + 1}`), 'no line is lost or repeated');

    const recovered = await waitForTerminal(engine, tolerant.metadata.id, 90_000);
    assert.equal(recovered.status.phase, 'Completed', JSON.stringify(recovered.status));
    assert.equal(recovered.status.running_records.length, 2);
    assert.equal(recovered.status.running_records[1]?.start_type, 'restarted');
    assert.equal(await engine.readLog(tolerant.metadata.id, 'worker-0'), 'first run\nsecond run\n');
  });
});
