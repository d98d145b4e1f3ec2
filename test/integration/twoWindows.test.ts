/**
 * Two VS Code windows share the local engine's data folder. One engine writes (follows Docker,
 * captures logs); the other shows what it writes, refuses changes, and takes over when the first
 * goes away. Without this, both would capture the same log and every line would appear twice.
 */
import * as assert from 'node:assert/strict';
import { waitForEvent } from '../../src/core/events';
import { ModelArtsError } from '../../src/core/errors';
import { LocalBackend } from '../../src/backends/local/localBackend';
import { removeContainersOf, jobRequest, makeFolder, recordingLogger, removeFolders, waitForJob, waitForTerminal } from '../support/jobs';


describe('Two windows on one data folder (real Docker)', function () {
  const engines: LocalBackend[] = [];

  after(async function () {
    for (const engine of engines) {
      await removeContainersOf(engine);
      engine.dispose();
    }
    removeFolders();
  });

  it('lets one engine write while the other follows, then hands over when the writer goes', async function () {
    const dataDir = makeFolder('two-windows');
    const first = new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger() });
    const secondLogger = recordingLogger();
    const second = new LocalBackend({ dataDir, dockerHost: '', logger: secondLogger });
    engines.push(first, second);
    assert.equal((await first.connect()).kind, 'available');
    assert.equal((await second.connect()).kind, 'available');
    assert.ok(secondLogger.lines.some((line) => /Another window \(process \d+\) runs the local engine/.test(line)));

    const code = makeFolder('two-windows-code', { 'count.py': 'import time\nfor i in range(1, 31):\n    print(f"line {i}", flush=True)\n    time.sleep(0.05)\n' });
    const seen = waitForEvent(second.onDidChangeJob, (change) => change.kind === 'created', AbortSignal.timeout(10_000));
    const job = await first.createJob(jobRequest('shared', code, 'count.py'));
    assert.equal((await seen).job.metadata.id, job.metadata.id, 'the follower saw the job appear');

    // The follower follows the log as the writer captures it; every line once.
    const followed: string[] = [];
    for await (const batch of second.followLog(job.metadata.id, 'worker-0', { signal: AbortSignal.timeout(60_000) })) followed.push(...batch);
    const done = await waitForTerminal(second, job.metadata.id, 30_000);
    assert.equal(done.status.phase, 'Completed');
    const expected = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    assert.deepEqual(followed, expected);
    assert.deepEqual((await first.readLog(job.metadata.id, 'worker-0')).trimEnd().split('\n'), expected, 'captured once, not by both');

    await assert.rejects(second.createJob(jobRequest('refused', code, 'count.py')), (error: unknown) => error instanceof ModelArtsError && /Another VS Code window \(process \d+\) runs the local engine/.test(error.message));
    await assert.rejects(second.deleteJob(job.metadata.id), /Another VS Code window/);

    // The writer goes away; the follower takes over and can change things.
    first.dispose();
    const again = await second.createJob(jobRequest('after-handover', code, 'count.py'));
    assert.equal((await waitForJob(second, again.metadata.id, (j) => j.status.phase === 'Completed', 60_000, 'Completed')).status.phase, 'Completed');
    await second.deleteJob(job.metadata.id);
    assert.equal(await second.getJob(job.metadata.id), undefined);
  });
});
