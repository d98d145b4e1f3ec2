/** The job panel commands called with arguments in a real extension host. */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ModelArtsApi, TrainingJob } from '../../src/api';
import { activateApi, jobSource, rejectsNaming } from '../support/editor';
import { PRESET_ENGINE, waitForTerminal } from '../support/jobs';

const run = (command: string, ...args: unknown[]) => vscode.commands.executeCommand(command, ...args);
const tabsLabelled = (prefix: string) => vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => tab.label.startsWith(prefix));

/** The editor's tab model reaches the extension host a moment after a panel opens. */
async function tabCount(prefix: string, expected: number): Promise<number> {
  for (let i = 0; i < 50 && tabsLabelled(prefix).length !== expected; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return tabsLabelled(prefix).length;
}

describe('Job panel commands', function () {
  let api: ModelArtsApi;
  let jobs: TrainingJob[];

  before(async function () {
    api = await activateApi();
    const codeDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    jobs = [];
    for (const name of ['panel-a', 'panel-b']) {
      const id = (await run('modelarts.jobs.create', {
        kind: 'job',
        metadata: { name },
        algorithm: { code_dir: codeDir, boot_file: 'train.py', engine: PRESET_ENGINE, parameters: [{ name: 'epochs', value: '1' }], outputs: [{ name: 'train_url' }] },
      })) as string;
      jobs.push(await waitForTerminal(jobSource(api), id, 120_000));
    }
  });

  after(async function () {
    await run('workbench.action.closeAllEditors');
  });

  it('opens one details panel per job; opening it again reveals the same panel', async function () {
    const [a] = jobs;
    assert.ok(a);
    const first = (await run('modelarts.jobs.showDetails', a.metadata.id)) as { jobId: string; title: string };
    assert.deepEqual(first, { backend: 'local', jobId: a.metadata.id, title: 'Job: panel-a' });
    assert.equal(await tabCount('Job: panel-a', 1), 1);
    await run('modelarts.jobs.showDetails', { jobId: a.metadata.id });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await tabCount('Job: panel-a', 1), 1, 'no second panel');
    await rejectsNaming(run('modelarts.jobs.showDetails', { jobId: 'no-such-job' }), 'no-such-job');
  });

  it('compares two or more jobs and refuses one', async function () {
    const ids = jobs.map((job) => job.metadata.id);
    const refs = ids.map((id) => ({ backend: 'local', id }));
    assert.deepEqual(await run('modelarts.jobs.compareMetrics', { jobIds: ids }), { jobIds: ids, jobs: refs });
    assert.deepEqual(await run('modelarts.jobs.compareMetrics', { jobs: refs }), { jobIds: ids, jobs: refs }, 'by reference, as another backend is named');
    assert.equal(await tabCount('Compare: panel-', 1), 1, 'the compare panel is open');
    await rejectsNaming(run('modelarts.jobs.compareMetrics', { jobIds: [ids[0]] }), 'jobIds', 'two to ten');
    await rejectsNaming(run('modelarts.jobs.compareMetrics', { jobIds: [ids[0], 'missing-job'] }), 'missing-job');
  });
});
