import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Emitter } from '../../src/core/events';
import { makeEvent } from '../../src/core/jobEvent';
import { JobStore, type JobRecord } from '../../src/backends/local/jobStore';
import { countLines } from '../../src/backends/local/logCapture';
import { followLogFile } from '../../src/backends/local/logFollower';
import { makeFolder, removeFolders } from '../support/jobs';

function tempDir(): string {
  return makeFolder('unit');
}

after(removeFolders);

function record(id: string, createTime: number): JobRecord {
  return {
    version: 1,
    job: {
      kind: 'job',
      metadata: { id, name: `job-${id}`, description: '', create_time: createTime, workspace_id: '0', user_name: '', annotations: {} },
      algorithm: { code_dir: '/c/', boot_file: '/c/t.py', parameters: [], inputs: [], outputs: [], engine: { image_url: 'i' }, environments: {} },
      spec: { resource: { flavor_id: 'f', node_count: 1 } },
      status: { phase: 'Pending', secondary_phase: 'Pending', duration: 0, start_time: 0, tasks: ['worker-0'], task_statuses: [], running_records: [] },
    },
    local: { containers: {}, outputDirs: {}, inputDirs: {}, admitted: false, attempt: 0 },
  };
}

describe('job store', function () {
  it('keeps records across a reload, newest first, and skips a damaged one', async function () {
    const root = tempDir();
    const damaged: string[] = [];
    const store = new JobStore(root, (file) => damaged.push(file));
    await store.load();
    await store.save(record('a', 1));
    await store.save(record('b', 3));
    await store.save(record('c', 2));
    fs.mkdirSync(path.join(root, 'jobs', 'broken'), { recursive: true });
    fs.writeFileSync(path.join(root, 'jobs', 'broken', 'job.json'), '{"version":1,"job":');
    fs.mkdirSync(path.join(root, 'jobs', 'interrupted'));

    const reloaded = new JobStore(root, (file) => damaged.push(file));
    await reloaded.load();
    assert.deepEqual(reloaded.list().map((r) => r.job.metadata.id), ['b', 'c', 'a']);
    assert.deepEqual(damaged, [path.join(root, 'jobs', 'broken', 'job.json')], 'a folder without a record is not reported');
    assert.equal(fs.readdirSync(path.join(root, 'jobs', 'a')).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary files left');
  });

  it('appends events and reads them back, skipping a torn last line', async function () {
    const store = new JobStore(tempDir(), () => undefined);
    await store.load();
    await store.save(record('a', 1));
    await store.appendEvents('a', [makeEvent('Info', 'Job', 'one'), makeEvent('Error', 'Task', 'two')]);
    fs.appendFileSync(path.join(store.jobDir('a'), 'events.jsonl'), '{"time":"2026');
    assert.deepEqual((await store.readEvents('a')).map((e) => `${e.level}:${e.source}:${e.message}`), ['Info:Job:one', 'Error:Task:two']);
  });

  it('writes concurrent saves of one job in order', async function () {
    const store = new JobStore(tempDir(), () => undefined);
    await store.load();
    const saves = [];
    for (let i = 0; i < 20; i += 1) {
      const r = record('a', 1);
      r.job.status.duration = i;
      saves.push(store.save(r));
    }
    await Promise.all(saves);
    const onDisk = JSON.parse(fs.readFileSync(path.join(store.jobDir('a'), 'job.json'), 'utf8')) as JobRecord;
    assert.equal(onDisk.job.status.duration, 19);
  });
});

describe('log files', function () {
  it('counts complete lines of a file larger than the read buffer', async function () {
    const file = path.join(tempDir(), 'big.log');
    fs.writeFileSync(file, 'line\n'.repeat(300_000) + 'partial');
    assert.equal(await countLines(file), 300_000);
    assert.equal(await countLines(path.join(tempDir(), 'missing.log')), 0);
  });

  it('follows a growing file and ends once it is complete, each line once', async function () {
    const file = path.join(tempDir(), 'task.log');
    const changes = new Emitter<void>();
    let complete = false;
    const seen: string[] = [];
    const following = (async () => {
      for await (const batch of followLogFile(file, { isComplete: () => complete, changes: changes.event, chunkBytes: 16 })) seen.push(...batch);
    })();
    for (let i = 1; i <= 20; i += 1) {
      fs.appendFileSync(file, `line ${i}\n`);
      changes.fire();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    fs.appendFileSync(file, 'last without newline');
    complete = true;
    changes.fire();
    await following;
    assert.deepEqual(seen, [...Array.from({ length: 20 }, (_, i) => `line ${i + 1}`), 'last without newline']);
  });

  it('stops following when aborted', async function () {
    const controller = new AbortController();
    const changes = new Emitter<void>();
    const following = (async () => {
      const batches: string[][] = [];
      for await (const batch of followLogFile(path.join(tempDir(), 'never.log'), { isComplete: () => false, changes: changes.event, signal: controller.signal }))
        batches.push(batch);
      return batches;
    })();
    setTimeout(() => controller.abort(), 20);
    assert.deepEqual(await following, []);
  });
});
