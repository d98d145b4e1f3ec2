/**
 * What a new user ran into, checked inside a real VS Code extension host against the real local
 * engine: what the next job of a boot file is offered (the last *completed* job's, never a failed
 * one's), two jobs of one name told apart as ModelArts allows them, and programmatic calls that keep
 * naming the spec's fields while the input boxes speak the user's terms.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelArtsApi, TrainingJob } from '../../src/api';
import { activateApi, jobSource, rejectsNaming, report } from '../support/editor';
import { PRESET_ENGINE, waitForTerminal } from '../support/jobs';

const run = (command: string, ...args: unknown[]) => vscode.commands.executeCommand(command, ...args);

describe('What a new user meets, in VS Code', function () {
  let api: ModelArtsApi;
  const digits = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
  const spec = (name: string, epochs: string, flavor: string, extra: Record<string, unknown> = {}) => ({
    kind: 'job',
    metadata: { name },
    algorithm: {
      code_dir: digits(),
      boot_file: 'train.py',
      engine: PRESET_ENGINE,
      parameters: [{ name: 'epochs', value: epochs }],
      inputs: [{ name: 'data_url', remote: { obs: { obs_url: './data' } } }],
      outputs: [{ name: 'train_url' }],
      ...extra,
    },
    spec: { resource: { flavor_id: flavor, node_count: 1 } },
  });
  const created: string[] = [];
  const create = async (request: unknown): Promise<TrainingJob> => {
    const id = (await run('modelarts.jobs.create', request)) as string;
    created.push(id);
    return waitForTerminal(jobSource(api), id, 180_000);
  };

  before(async function () {
    api = await activateApi();
  });

  after(async function () {
    for (const id of created) await run('modelarts.jobs.delete', id).then(undefined, () => undefined);
  });

  it('takes a workspace-relative input folder, and offers the next job the flavor of the last completed job, not of a failed one', async function () {
    const ok = await create(spec('nc-editor-ok', '1', 'modelarts.local.cpu.2u4g'));
    assert.equal(ok.status.phase, 'Completed', await api.jobs.log(ok.metadata.id));
    assert.equal(ok.algorithm.inputs[0]?.remote.obs?.obs_url, path.join(digits(), 'data'), './data is the workspace folder\'s data');
    // A later job of the same boot file that fails (argparse refuses epochs=ten) teaches nothing.
    const bad = await create(spec('nc-editor-bad', 'ten', 'modelarts.local.cpu.2u8g'));
    assert.equal(bad.status.phase, 'Failed');
    // Promoting the launch configuration, which names no flavor, takes the completed job's.
    const promotedId = (await run('modelarts.debug.promote', { file: path.join(digits(), 'train.py') })) as string;
    created.push(promotedId);
    const promoted = await api.jobs.get(promotedId);
    report(`promoted with ${promoted?.spec.resource.flavor_id} after nc-editor-ok (2u4g, Completed) and nc-editor-bad (2u8g, Failed)`);
    assert.equal(promoted?.spec.resource.flavor_id, 'modelarts.local.cpu.2u4g');
    await run('modelarts.jobs.stop', promotedId).then(undefined, () => undefined);
    await waitForTerminal(jobSource(api), promotedId, 120_000);
  });

  it('creates two jobs of one name, as ModelArts does, and names their log channels apart', async function () {
    const first = await create(spec('nc-twin', '1', 'modelarts.local.cpu.1u2g'));
    const second = await create(spec('nc-twin', '1', 'modelarts.local.cpu.1u2g'));
    assert.notEqual(first.metadata.id, second.metadata.id);
    assert.equal(first.metadata.name, second.metadata.name);
    const channels = await Promise.all([first, second].map(async (job) => ((await run('modelarts.jobs.showLogs', job.metadata.id)) as { channel: string }).channel));
    report(`channels: ${channels.join(' | ')}`);
    assert.deepEqual(channels, [`nc-twin · #${first.metadata.id.slice(0, 8)} · ModelArts`, `nc-twin · #${second.metadata.id.slice(0, 8)} · ModelArts`]);
    const single = await create(spec('nc-single', '1', 'modelarts.local.cpu.1u2g'));
    assert.equal(((await run('modelarts.jobs.showLogs', single.metadata.id)) as { channel: string }).channel, 'nc-single · ModelArts', 'the distinguishing part comes first');
  });

  it('refuses bad programmatic input naming the spec\'s fields (the boxes say it in their own terms)', async function () {
    await rejectsNaming(run('modelarts.jobs.create', spec('nc-bad-name', '1', 'modelarts.local.cpu.1u2g', { parameters: [{ name: 'epochs', value: '1' }, { name: '30,' }] })), 'algorithm.parameters[1].name');
    await rejectsNaming(run('modelarts.jobs.create', spec('nc-bad-url', '1', 'modelarts.local.cpu.1u2g', { inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'obs://B/x/' } } }] })), 'algorithm.inputs[0].remote.obs.obs_url');
    await rejectsNaming(run('modelarts.jobs.create', spec('nc-no-folder', '1', 'modelarts.local.cpu.1u2g', { inputs: [{ name: 'data_url', remote: { obs: { obs_url: './no-such-folder' } } }] })), 'algorithm.inputs[0].remote.obs.obs_url', 'no folder exists at');
    const finished = (await api.jobs.list()).find((job) => job.metadata.name === 'nc-editor-ok');
    assert.ok(finished);
    await rejectsNaming(run('modelarts.jobs.copy', finished.metadata.id, { parameters: 'epochs 30,' }), 'algorithm.parameters[1].name');
    await rejectsNaming(run('modelarts.jobs.downloadOutput', { jobId: finished.metadata.id, output: 'train_url', dir: 'relative/folder' }), 'dir', 'absolute path of an existing folder');
    await rejectsNaming(run('modelarts.jobs.openOutputFile', { jobId: finished.metadata.id, output: 'nope' }), 'output', 'has no output "nope"');
  });

  it('reaches outputs programmatically: a file of it, and a download into a folder of its own', async function () {
    const finished = (await api.jobs.list()).find((job) => job.metadata.name === 'nc-editor-ok');
    assert.ok(finished);
    const opened = (await run('modelarts.jobs.openOutputFile', { jobId: finished.metadata.id, output: 'train_url', file: 'metrics.json' })) as { path: string };
    assert.equal(path.basename(opened.path), 'metrics.json');
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, opened.path, 'the file is open in an editor');
    await run('workbench.action.closeActiveEditor');
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-download-'));
    const result = (await run('modelarts.jobs.downloadOutput', { jobId: finished.metadata.id, output: 'train_url', dir: target })) as { dir: string; files: number; bytes: number };
    assert.equal(path.dirname(result.dir), target);
    assert.match(path.basename(result.dir), /^nc-editor-ok-train_url(-\d+)?$/);
    assert.ok(result.files >= 2 && result.bytes > 1000, JSON.stringify(result));
    fs.rmSync(target, { recursive: true, force: true });
  });
});
