/**
 * Two backends side by side, clicked through (code-server in Chromium): a second extension
 * (test/fixtures/lab-backend) adds "Lab" through the ModelArts API; the Training Jobs view shows
 * each backend as a root with a job of the same name under each, Create asks where the job runs,
 * the Lab job's panel says where it ran, and after a reload the panel waits for Lab (closed) and
 * fills in with that job, not the local one, once Lab is connected.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { REPO_ROOT, screenshot } from '../support/codeServer';
import { answer, contextMenu, openWorkbench, quickInput, rowUnder, runCommand, treeRow, type Workbench } from '../support/ui';

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

    // One job of the same name on each backend.
    await runCommand(page, 'ModelArts: Create Training Job');
    const runOn = await quickInput(page, 'run on');
    assert.equal(await titleOf(page), 'Create Training Job: run on (1/11)', 'one step more than with one backend, counted from the start');
    const lab = runOn.locator('.monaco-list-row[aria-label*=" Lab, "]');
    assert.match(await lab.innerText(), /available/);
    await screenshot(page, '50-create-run-on');
    await lab.click();
    await answer(page, [['code folder or algorithm'], ['engine'], ['flavor'], ['node count'], ['hyperparameters', 'epochs=3'], ['inputs'], ['outputs'], ['name', 'twin'], ['review']], async (step, box) => {
      if (step === 'flavor') assert.match(await box.locator('.monaco-list-row.focused').innerText(), /8 GiB/, 'the flavors are Lab\'s own');
    });
    await rowUnder(page, 'Lab', 'Training job twin, Completed', 60_000);

    await runCommand(page, 'ModelArts: Create Training Job');
    await (await quickInput(page, 'run on')).locator('.monaco-list-row[aria-label*=" Local (Docker), "]').click();
    await answer(page, [['code folder or algorithm'], ['flavor'], ['node count'], ['hyperparameters', 'epochs=1'], ['inputs'], ['outputs'], ['name', 'twin'], ['review']]);
    await rowUnder(page, 'Local', 'Training job twin, Completed', 120_000);
    await rowUnder(page, 'Lab', 'Training job twin, Completed');
    await screenshot(page, '51-two-backends-tree');
  });

  it('opens the Lab job\'s panel, which says where it ran; after a reload it waits for Lab and fills in with that job', async function () {
    await contextMenu(page, await rowUnder(page, 'Lab', 'Training job twin, Completed'), 'Show Job Details');
    let view = webview(page);
    await view.locator('h1', { hasText: 'twin' }).waitFor({ timeout: 30_000 });
    const overview = await view.locator('.overview').innerText();
    assert.match(overview, /Runs on\s+Lab/);
    const labId = /ID\s+([0-9a-f-]{36})/.exec(overview)?.[1];
    assert.ok(labId, overview);

    await runCommand(page, 'Developer: Reload Window');
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    view = webview(page);
    // Lab opens closed after a reload: the restored panel says so instead of calling the job deleted,
    // and does not show the local job of the same name.
    await view.locator('.removed', { hasText: 'Lab cannot be reached' }).waitFor({ timeout: 60_000 });
    assert.doesNotMatch(await view.locator('.removed').innerText(), /deleted/);
    assert.equal(await view.locator('h1').count(), 0, 'no job is shown while Lab cannot answer');
    // The container may be open already after the reload: a click would close it.
    if (!(await treeRow(page, 'Backend Lab').isVisible())) await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click();
    const closedLab = treeRow(page, 'Backend Lab');
    await closedLab.waitFor({ timeout: 30_000 });
    assert.match((await closedLab.getAttribute('aria-label')) ?? '', /not reachable/, 'the tree says Lab cannot be reached too');
    await rowUnder(page, 'Local', 'Training job twin, Completed');
    await screenshot(page, '52-panel-waits-for-lab');

    await runCommand(page, 'Lab: Connect');
    view = webview(page);
    await view.locator('h1', { hasText: 'twin' }).waitFor({ timeout: 30_000 });
    await view.locator('.phase', { hasText: 'Completed' }).waitFor({ timeout: 10_000 });
    assert.equal(await view.locator('.removed').innerText(), '', 'the notice is gone');
    const restored = await view.locator('.overview').innerText();
    assert.match(restored, /Runs on\s+Lab/);
    assert.equal(/ID\s+([0-9a-f-]{36})/.exec(restored)?.[1], labId, 'the panel shows the Lab job, not the local one of the same name');
    await rowUnder(page, 'Lab', 'Training job twin, Completed');
    await screenshot(page, '53-panel-filled-after-connect');
  });
});
