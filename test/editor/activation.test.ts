/**
 * The extension inside a real VS Code extension host: contributions, commands called with
 * arguments (as keybindings, tasks and other extensions call them), and the public API, against
 * the real local engine and Docker.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelArtsApi } from '../../src/api';
import { EXTENSION_ID, jobSource, rejectsNaming, report } from '../support/editor';
import { EPOCH_LINE, waitForTerminal } from '../support/jobs';
import { activeBeforeSuites } from './index';

describe('ModelArts Training in VS Code', function () {
  let api: ModelArtsApi;
  let extension: vscode.Extension<ModelArtsApi>;
  const workspaceFolder = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';

  before(async function () {
    const found = vscode.extensions.getExtension<ModelArtsApi>(EXTENSION_ID);
    assert.ok(found, `extension ${EXTENSION_ID} is loaded`);
    extension = found;
    assert.equal(activeBeforeSuites, false, 'nothing activated the extension before the suites');
    const started = performance.now();
    api = await extension.activate();
    const activationMs = performance.now() - started;
    report(`activation took ${activationMs.toFixed(1)} ms`);
    fs.mkdirSync(path.join(extension.extensionPath, 'out', 'test-results'), { recursive: true });
    fs.writeFileSync(path.join(extension.extensionPath, 'out', 'test-results', 'activation.json'), JSON.stringify({ activationMs }));
    if (api.engine.state.kind !== 'available') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the engine did not become available: ${JSON.stringify(api.engine.state)}`)), 30_000);
        const subscription = api.engine.onDidChangeState((state) => {
          if (state.kind === 'available') {
            clearTimeout(timer);
            subscription.dispose();
            resolve();
          }
        });
      });
    }
  });

  it('contributes the ModelArts container with its three views and the commands', async function () {
    const contributes = extension.packageJSON.contributes as {
      viewsContainers: { activitybar: Array<{ id: string; title: string }> };
      views: Record<string, Array<{ id: string; name: string }>>;
      viewsWelcome: Array<{ view: string; when?: string }>;
    };
    assert.deepEqual(contributes.viewsContainers.activitybar.map((c) => [c.id, c.title]), [['modelarts', 'ModelArts']]);
    assert.deepEqual(
      contributes.views.modelarts?.map((v) => [v.id, v.name]),
      [
        ['modelarts.jobs', 'Training Jobs'],
        ['modelarts.algorithms', 'Algorithms'],
        ['modelarts.datasets', 'Datasets'],
      ],
    );
    for (const view of ['modelarts.jobs', 'modelarts.algorithms', 'modelarts.datasets']) {
      assert.ok(contributes.viewsWelcome.some((w) => w.view === view), `${view} has a welcome state`);
    }
    assert.ok(contributes.viewsWelcome.some((w) => w.view === 'modelarts.jobs' && w.when === 'modelarts.backendState == unavailable'));
    const commands = await vscode.commands.getCommands(true);
    for (const command of ['modelarts.jobs.create', 'modelarts.jobs.showLogs', 'modelarts.jobs.refresh', 'modelarts.showLog']) {
      assert.ok(commands.includes(command), `${command} is registered`);
    }
  });

  it('modelarts.showLog reveals the extension log and returns its name', async function () {
    assert.deepEqual(await vscode.commands.executeCommand('modelarts.showLog'), { channel: 'ModelArts' });
  });

  it('modelarts.jobs.refresh returns the engine state and the number of jobs', async function () {
    const result = (await vscode.commands.executeCommand('modelarts.jobs.refresh')) as { state: string; jobs: number };
    assert.equal(result.state, 'available');
    assert.equal(result.jobs, (await api.jobs.list()).length);
  });

  it('modelarts.jobs.create with a spec asks nothing, returns the job id, and the job completes', async function () {
    const changes: string[] = [];
    const subscription = api.jobs.onDidChange((change) => changes.push(`${change.kind}:${change.job.status.phase}`));
    try {
      const id = await vscode.commands.executeCommand<string>('modelarts.jobs.create', {
        kind: 'job',
        metadata: { name: 'editor-digits', description: 'created by the editor suite' },
        // A code folder relative to the workspace folder (examples/digits) is resolved against it.
        algorithm: {
          code_dir: '.',
          boot_file: 'train.py',
          engine: { engine_name: 'PyTorch', engine_version: '1.13-cpu' },
          parameters: [{ name: 'epochs', value: '3' }],
        },
      });
      assert.equal(typeof id, 'string');
      const job = await waitForTerminal(jobSource(api), id, 120_000);
      assert.equal(job.status.phase, 'Completed', await api.jobs.log(id));
      assert.equal(job.algorithm.code_dir, workspaceFolder() + path.sep);
      assert.equal(job.metadata.description, 'created by the editor suite');
      const epochs = (await api.jobs.log(id)).split('\n').filter((line) => EPOCH_LINE.test(line));
      assert.equal(epochs.length, 3, 'three epoch lines');
      assert.equal(changes[0], 'created:Creating');
      assert.ok(changes.includes('updated:Running'), `a Running update among ${changes.join(', ')}`);
      assert.equal(changes.at(-1), 'updated:Completed');
      const events = await api.jobs.events(id);
      assert.ok(events.some((e) => e.message === 'Training job completed.'));
    } finally {
      subscription.dispose();
    }
  });

  it('modelarts.jobs.create refuses bad specs, naming the field, and creates nothing', async function () {
    const before = (await api.jobs.list()).length;
    const base = { code_dir: workspaceFolder(), boot_file: 'train.py', engine: { engine_name: 'PyTorch', engine_version: '1.13-cpu' } };
    await rejectsNaming(vscode.commands.executeCommand('modelarts.jobs.create', { metadata: { name: 'x' }, algorithm: { ...base, boot_file: 'nope.py' } }), 'algorithm.boot_file');
    await rejectsNaming(
      vscode.commands.executeCommand('modelarts.jobs.create', { metadata: { name: 'x' }, algorithm: { ...base, engine: { engine_id: 'caffe-1.0' } } }),
      'algorithm.engine.engine_id',
      'PyTorch 1.13-cpu',
    );
    await rejectsNaming(vscode.commands.executeCommand('modelarts.jobs.create', { metadata: { name: 'not valid!' }, algorithm: base }), 'metadata.name');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.jobs.create', { metadata: {}, algorithm: base }), 'metadata.name', 'required');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.jobs.create', 'not a spec'), 'must be an object');
    assert.equal((await api.jobs.list()).length, before, 'no job was created');
  });

  it('modelarts.jobs.showLogs follows a job in its output channel and returns it', async function () {
    const [job] = await api.jobs.list();
    assert.ok(job, 'a job exists from the earlier test');
    const result = (await vscode.commands.executeCommand('modelarts.jobs.showLogs', job.metadata.id)) as { jobId: string; task: string; channel: string };
    assert.deepEqual(result, { backend: 'local', jobId: job.metadata.id, task: 'worker-0', channel: `${job.metadata.name} · ModelArts` });
    const again = await vscode.commands.executeCommand('modelarts.jobs.showLogs', { jobId: job.metadata.id, task: 'worker-0' });
    assert.deepEqual(again, result, 'the same channel is revealed again');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.jobs.showLogs', { jobId: 42 }), 'jobId');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.jobs.showLogs', 'no-such-job'), 'no-such-job');
    await rejectsNaming(vscode.commands.executeCommand('modelarts.jobs.showLogs', job.metadata.id, 'worker-7'), 'worker-7');
  });

  it('the API lists jobs newest first with their presets and flavors', async function () {
    const jobs = await api.jobs.list();
    const times = jobs.map((job) => job.metadata.create_time);
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    const engines = await api.engine.presetEngines();
    assert.ok(engines.some((e) => e.engine_id === 'pytorch-1.13-cpu' && e.image_info.cpu_image_url === 'modelarts-training/pytorch:1.13-cpu'));
    const flavors = await api.engine.flavors();
    assert.ok(flavors.length > 0 && flavors.every((f) => f.flavor_id.startsWith('modelarts.local.cpu.')));
  });
});
