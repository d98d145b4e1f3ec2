/**
 * Two backends side by side, clicked through (code-server in Chromium): a second extension
 * (test/fixtures/lab-backend) adds "Lab" through the ModelArts API; the Training Jobs view shows
 * each backend as a root, Create asks where the job runs, the job's panel says where it ran, and
 * after a reload the panel waits for Lab (closed) and fills in once it is connected.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { REPO_ROOT, screenshot } from '../support/codeServer';
import { contextMenu, openWorkbench, quickInput, runCommand, treeRow, type Workbench } from '../support/ui';

const LAB_EXTENSION = path.join(REPO_ROOT, 'test', 'fixtures', 'lab-backend');

function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
}

/** The accessible labels of the Training Jobs view's rows, top to bottom. */
async function jobsRows(page: Page): Promise<string[]> {
  const view = page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: 'Training Jobs' }) });
  return view.locator('[role="treeitem"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? ''));
}

async function titleOf(page: Page): Promise<string> {
  return (await page.locator('.quick-input-widget .quick-input-title').innerText()).trim();
}

describe('Two backends in the VS Code window', function () {
  let workbench: Workbench | undefined;
  let page: Page;

  before(async function () {
    workbench = await openWorkbench({ extensions: [LAB_EXTENSION] });
    page = workbench.page;
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click({ timeout: 60_000 });
    await treeRow(page, 'Backend Lab').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await workbench?.close();
  });

  it('shows each backend as a root, and Create asks where the job runs first', async function () {
    const roots = (await jobsRows(page)).filter((label) => label.startsWith('Backend '));
    assert.equal(roots.length, 2, roots.join(' | '));
    assert.match(roots[0] ?? '', /^Backend Local/, 'the local backend comes first');
    assert.match(roots[1] ?? '', /^Backend Lab/);

    await runCommand(page, 'ModelArts: Create Training Job');
    const runOn = await quickInput(page, 'run on');
    assert.equal(await titleOf(page), 'Create Training Job: run on (1/11)', 'one step more than with one backend, counted from the start');
    const lab = runOn.locator('.monaco-list-row[aria-label*=" Lab, "]');
    assert.match(await lab.innerText(), /available/);
    await screenshot(page, '50-create-run-on');
    await lab.click();
    const answers: Array<[step: string, value?: string]> = [['code folder or algorithm'], ['engine'], ['flavor'], ['node count'], ['hyperparameters', 'epochs=3'], ['inputs'], ['outputs'], ['name', 'lab-digits'], ['review']];
    for (const [step, value] of answers) {
      const box = await quickInput(page, step);
      if (step === 'flavor') assert.match(await box.locator('.monaco-list-row.focused').innerText(), /modelarts\.memory\.|8 GiB/, 'the flavors are Lab\'s own');
      if (value !== undefined) await box.locator('input').fill(value);
      await page.keyboard.press('Enter');
    }
    await treeRow(page, 'Training job lab-digits, Completed').waitFor({ timeout: 60_000 });
    const rows = await jobsRows(page);
    const labRoot = rows.findIndex((label) => label.startsWith('Backend Lab'));
    const job = rows.findIndex((label) => label.startsWith('Training job lab-digits'));
    assert.ok(labRoot >= 0 && job > labRoot, `the job is under Lab: ${rows.join(' | ')}`);
    await screenshot(page, '51-two-backends-tree');
  });

  it('opens the job\'s panel, which says where it ran; after a reload it waits for Lab and fills in once connected', async function () {
    await contextMenu(page, treeRow(page, 'Training job lab-digits, Completed'), 'Show Job Details');
    let view = webview(page);
    await view.locator('h1', { hasText: 'lab-digits' }).waitFor({ timeout: 30_000 });
    assert.match(await view.locator('.overview').innerText(), /Runs on\s+Lab/);

    await runCommand(page, 'Developer: Reload Window');
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    view = webview(page);
    // Lab opens closed after a reload: the restored panel says so instead of calling the job deleted.
    await view.locator('.removed', { hasText: 'Lab cannot be reached' }).waitFor({ timeout: 60_000 });
    assert.doesNotMatch(await view.locator('.removed').innerText(), /deleted/);
    // The container may be open already after the reload: a click would close it.
    if (!(await treeRow(page, 'Backend Lab').isVisible())) await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click();
    const closedLab = treeRow(page, 'Backend Lab');
    await closedLab.waitFor({ timeout: 30_000 });
    assert.match((await closedLab.getAttribute('aria-label')) ?? '', /not reachable|closed/i, 'the tree says Lab is closed too');
    await screenshot(page, '52-panel-waits-for-lab');

    await runCommand(page, 'Lab: Connect');
    view = webview(page);
    await view.locator('h1', { hasText: 'lab-digits' }).waitFor({ timeout: 30_000 });
    await view.locator('.phase', { hasText: 'Completed' }).waitFor({ timeout: 10_000 });
    assert.equal(await view.locator('.removed').innerText(), '', 'the notice is gone');
    assert.match(await view.locator('.overview').innerText(), /Runs on\s+Lab/);
    await treeRow(page, 'Training job lab-digits, Completed').waitFor({ timeout: 30_000 });
    await screenshot(page, '53-panel-filled-after-connect');
  });
});
