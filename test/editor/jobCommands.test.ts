/**
 * Every training job command called with arguments inside a real VS Code extension host, against
 * the real local engine: what each returns, and each action refused in the wrong phase both by the
 * command (a clear error) and by the menus (the item is absent for that phase).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelArtsApi, TrainingJob } from '../../src/api';
import { jobContextValue } from '../../src/views/jobsTree';
import { activateApi, jobSource, menuOffers, rejectsNaming, report } from '../support/editor';
import { PRESET_ENGINE, waitForJob, waitForTerminal } from '../support/jobs';

const run = (command: string, ...args: unknown[]) => vscode.commands.executeCommand(command, ...args);

describe('Training job commands with arguments', function () {
  let api: ModelArtsApi;
  let finished: TrainingJob;
  const codeDir = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
  const spec = (name: string, epochs: number) => ({
    kind: 'job',
    metadata: { name },
    algorithm: {
      code_dir: codeDir(),
      boot_file: 'train.py',
      engine: PRESET_ENGINE,
      parameters: [{ name: 'epochs', value: String(epochs) }],
      outputs: [{ name: 'train_url' }],
    },
  });

  before(async function () {
    api = await activateApi();
    const id = (await run('modelarts.jobs.create', spec('cmd-finished', 1))) as string;
    finished = await waitForTerminal(jobSource(api), id, 120_000);
    assert.equal(finished.status.phase, 'Completed', await api.jobs.log(id));
  });

  it('stop, with a running job, ends it Terminated; stopping a finished job is refused and not offered', async function () {
    const id = (await run('modelarts.jobs.create', spec('cmd-stop', 500))) as string;
    const running = await waitForJob(jobSource(api), id, (job) => job.status.phase === 'Running', 120_000, 'Running');
    assert.ok(menuOffers('modelarts.jobs.stop', 'modelarts.jobs', jobContextValue(running)), 'Stop is in the menu of a running job');
    assert.ok(!menuOffers('modelarts.jobs.delete', 'modelarts.jobs', jobContextValue(running)), 'Delete is not in the menu of a running job');
    await rejectsNaming(run('modelarts.jobs.delete', id), 'is Running', 'can be deleted only while');
    const started = Date.now();
    const result = (await run('modelarts.jobs.stop', id)) as { jobId: string; phase: string };
    report(`stop → ${result.phase} in ${Date.now() - started} ms`);
    assert.deepEqual(result, { jobId: id, phase: 'Terminated' });
    const stopped = await api.jobs.get(id);
    assert.equal(stopped?.status.phase, 'Terminated');
    assert.ok(!menuOffers('modelarts.jobs.stop', 'modelarts.jobs', jobContextValue(stopped as TrainingJob)), 'Stop is gone once Terminated');
    await rejectsNaming(run('modelarts.jobs.stop', { jobId: id }), 'is Terminated', 'can be stopped only while Creating, Pending or Running');
    await rejectsNaming(run('modelarts.jobs.stop', 42), 'jobId');
    await rejectsNaming(run('modelarts.jobs.stop', 'no-such-job'), 'no-such-job');
  });

  it('copy creates a job with the edited hyperparameters and a -copy name; bad options name the field', async function () {
    const copyId = (await run('modelarts.jobs.copy', finished.metadata.id, { parameters: 'epochs=2 lr=0.05' })) as string;
    const copy = await waitForTerminal(jobSource(api), copyId, 120_000);
    assert.equal(copy.metadata.name, 'cmd-finished-copy');
    assert.deepEqual(copy.algorithm.parameters.map((p) => `${p.name}=${p.value}`), ['epochs=2', 'lr=0.05']);
    assert.equal(copy.status.phase, 'Completed');
    assert.match(await api.jobs.log(copyId), /epoch 2 /);
    const named = (await run('modelarts.jobs.copy', { jobId: finished.metadata.id }, { name: 'cmd-named-copy', parameters: [{ name: 'epochs', value: 1 }] })) as string;
    assert.equal((await api.jobs.get(named))?.metadata.name, 'cmd-named-copy');
    await waitForTerminal(jobSource(api), named, 120_000);
    const before = (await api.jobs.list()).length;
    await rejectsNaming(run('modelarts.jobs.copy', finished.metadata.id, { name: 'not valid!' }), 'name');
    await rejectsNaming(run('modelarts.jobs.copy', finished.metadata.id, { parameters: 'epochs=1 9lives=2' }), 'parameters');
    await rejectsNaming(run('modelarts.jobs.copy', finished.metadata.id, { nodes: 2 }), 'nodes');
    assert.equal((await api.jobs.list()).length, before, 'nothing was created by the refused copies');
  });

  it('saveAsAlgorithm returns the new algorithm id, with the job code, boot file and hyperparameters', async function () {
    const algorithmId = (await run('modelarts.jobs.saveAsAlgorithm', finished.metadata.id, { name: 'cmd-algorithm', description: 'from the suite' })) as string;
    const algorithm = await api.algorithms.get(algorithmId);
    assert.equal(algorithm?.metadata.name, 'cmd-algorithm');
    assert.equal(algorithm?.job_config.boot_file, finished.algorithm.boot_file);
    assert.deepEqual(algorithm?.job_config.parameters.map((p) => p.name), ['epochs']);
    await rejectsNaming(run('modelarts.jobs.saveAsAlgorithm', finished.metadata.id, { name: '' }), 'name');
    await run('modelarts.algorithms.delete', algorithmId);
  });

  it('showEvents returns the events newest first and opens them; showLogs returns the channel; openFullLog the log file', async function () {
    const result = (await run('modelarts.jobs.showEvents', finished.metadata.id)) as { jobId: string; uri: string; events: Array<{ time: string; message: string }> };
    assert.equal(result.jobId, finished.metadata.id);
    assert.ok(result.events.length >= 3);
    assert.equal(result.events[0]?.message, 'Training job completed.');
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === result.uri);
    assert.ok(document?.getText().includes('Training job completed.'), 'the events document shows them');
    const logs = (await run('modelarts.jobs.showLogs', { jobId: finished.metadata.id })) as { channel: string };
    assert.equal(logs.channel, 'cmd-finished · ModelArts');
    const full = (await run('modelarts.jobs.openFullLog', { jobId: finished.metadata.id })) as { task: string; path: string };
    assert.equal(full.task, 'worker-0');
    assert.equal(fs.readFileSync(full.path, 'utf8'), await api.jobs.log(finished.metadata.id), 'the file holds the whole log');
    await rejectsNaming(run('modelarts.jobs.openFullLog', finished.metadata.id, 'worker-9'), 'worker-9');
  });

  it('revealOutput returns the folder that holds the job checkpoint', async function () {
    const result = (await run('modelarts.jobs.revealOutput', { jobId: finished.metadata.id, output: 'train_url' })) as { path: string };
    assert.ok(fs.existsSync(path.join(result.path, 'checkpoint.pt')), `checkpoint.pt in ${result.path}`);
    await rejectsNaming(run('modelarts.jobs.revealOutput', { jobId: finished.metadata.id, output: 'nope' }), 'nope');
    await rejectsNaming(run('modelarts.jobs.revealOutput', 'x'), 'output');
  });

  it('filter by phase and name returns what matches; clearFilter and loadMore answer', async function () {
    const all = await api.jobs.list();
    const completed = all.filter((job) => job.status.phase === 'Completed');
    assert.deepEqual(await run('modelarts.jobs.filter', { phases: ['Completed'] }), { filter: { phases: ['Completed'] }, matching: completed.length });
    const named = all.filter((job) => job.status.phase === 'Completed' && job.metadata.name.includes('copy'));
    assert.equal(((await run('modelarts.jobs.filter', { phases: ['Completed'], name: 'COPY' })) as { matching: number }).matching, named.length);
    await rejectsNaming(run('modelarts.jobs.filter', { phases: ['Done'] }), 'phases');
    assert.deepEqual(await run('modelarts.jobs.clearFilter'), { filter: {}, matching: all.length });
    assert.deepEqual(await run('modelarts.jobs.loadMore'), { limit: 100 });
  });

  it('createFromDraft creates the job a draft spec describes', async function () {
    const uri = vscode.Uri.from({ scheme: 'modelarts-draft', path: '/cmd-draft.job.json' });
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(JSON.stringify(spec('cmd-draft', 1))));
    const id = (await run('modelarts.jobs.createFromDraft', { uri: uri.toString() })) as string;
    assert.equal((await api.jobs.get(id))?.metadata.name, 'cmd-draft');
    await waitForTerminal(jobSource(api), id, 120_000);
    const bad = vscode.Uri.from({ scheme: 'modelarts-draft', path: '/cmd-bad.job.json' });
    await vscode.workspace.fs.writeFile(bad, new TextEncoder().encode('{"kind": "job", '));
    await rejectsNaming(run('modelarts.jobs.createFromDraft', { uri: bad.toString() }), 'cmd-bad.job.json', 'not valid JSON');
  });

  it('delete removes a finished job with its log; deleting it again says it does not exist', async function () {
    const id = (await run('modelarts.jobs.create', spec('cmd-delete', 1))) as string;
    const job = await waitForTerminal(jobSource(api), id, 120_000);
    assert.ok(menuOffers('modelarts.jobs.delete', 'modelarts.jobs', jobContextValue(job)), 'Delete is in the menu of a finished job');
    await rejectsNaming(run('modelarts.jobs.delete', id, { deleteOutputs: 'yes' }), 'deleteOutputs');
    assert.deepEqual(await run('modelarts.jobs.delete', id, {}), { deleted: id });
    assert.equal(await api.jobs.get(id), undefined);
    await rejectsNaming(run('modelarts.jobs.delete', id), id);
  });

  it('setCredentials refuses incomplete credentials naming the field', async function () {
    await rejectsNaming(run('modelarts.storage.setCredentials', { accessKeyId: 'ak' }), 'secretAccessKey');
    await rejectsNaming(run('modelarts.storage.setCredentials', { accessKeyId: '', secretAccessKey: 'x' }), 'accessKeyId');
  });
});
