/**
 * The Algorithms view as a user sees it: an algorithm created from F1, shown expanded in the
 * sidebar, and its JSON opened from the context menu in an editor that knows its schema.
 * Screenshots land in out/test-results/screenshots.
 */
import * as assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot } from '../support/codeServer';
import { contextMenu, openWorkbench, quickInput, runCommand, type Workbench } from '../support/ui';

async function editorText(page: Page): Promise<string> {
  return (await page.locator('.part.editor .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
}

describe('The Algorithms view', function () {
  let workbench: Workbench | undefined;
  let page: Page;
  const row = (name: string) => page.locator(`.part.sidebar [role="treeitem"][aria-label^="Algorithm ${name},"]`);

  before(async function () {
    workbench = await openWorkbench();
    page = workbench.page;
  });

  afterEach(async function () {
    // What the window showed when a step failed.
    if (this.currentTest?.state === 'failed') await screenshot(page, `algorithms-failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  after(async function () {
    await workbench?.close();
  });

  it('invites to create an algorithm, also from a folder in the Explorer', async function () {
    // The container's icon means the extension's contributions (menus included) are registered.
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').waitFor({ timeout: 60_000 });
    await runCommand(page, 'View: Show Explorer');
    await page.locator('.part.sidebar [role="treeitem"]', { hasText: 'data' }).first().click({ button: 'right' });
    await page.locator('.context-view .action-item', { hasText: 'Create Algorithm' }).waitFor({ timeout: 15_000 });
    await page.keyboard.press('Escape');

    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click();
    const sidebar = page.locator('.part.sidebar');
    await sidebar.getByText('No algorithms yet.').waitFor({ timeout: 60_000 });
    await sidebar.locator('.welcome-view-content .monaco-button', { hasText: 'Create Algorithm' }).waitFor();
  });

  it('creates an algorithm from F1 and shows it expanded: code folder, boot file, engine, parameters, inputs, outputs', async function () {
    await runCommand(page, 'ModelArts: Create Algorithm');
    const folder = await quickInput(page, 'code folder');
    await folder.locator('.monaco-list-row', { hasText: 'digits' }).first().waitFor();
    await page.keyboard.press('Enter');
    // digits holds one Python file and one preset engine is installed: neither is asked for.
    const name = await quickInput(page, 'Create Algorithm: name');
    assert.equal(await name.locator('input').inputValue(), 'digits', 'the folder name by default');
    await name.locator('input').fill('digits mlp');
    await name.locator('.quick-input-message', { hasText: 'An algorithm name has 1 to 64 letters, digits, "-" and "_"' }).waitFor();
    await name.locator('input').fill('digits-mlp');
    await page.keyboard.press('Enter');
    const parameters = await quickInput(page, 'hyperparameters');
    await parameters.locator('input').fill('epochs=3 lr=0.01');
    await page.keyboard.press('Enter');

    // Revealed, selected and expanded in the Algorithms view.
    await page.locator(`.part.sidebar [role="treeitem"][aria-label^="Algorithm digits-mlp,"][aria-expanded="true"]`).waitFor({ timeout: 30_000 });
    const sidebar = page.locator('.part.sidebar');
    for (const detail of ['Code folder', 'Boot file', 'Engine', 'Parameters', 'Inputs', 'Outputs']) {
      await sidebar.locator('[role="treeitem"]', { hasText: detail }).first().waitFor();
    }
    await sidebar.locator('[role="treeitem"]', { hasText: 'Parameters' }).first().click();
    await sidebar.locator('[role="treeitem"]', { hasText: 'epochs = 3' }).waitFor();
    await sidebar.locator('[role="treeitem"]', { hasText: 'lr = 0.01' }).waitFor();
    assert.match(await row('digits-mlp').innerText(), /PyTorch 1\.13-cpu · train\.py/);
    // Leave room for the Algorithms view: the empty Datasets view collapses.
    await sidebar.locator('.pane-header', { hasText: 'Datasets' }).click();
    await page.locator('.part.editor').click();
    await screenshot(page, 'algorithms-tree');
  });

  it('opens the algorithm JSON from the context menu "Edit"; the editor validates it against the schema', async function () {
    await contextMenu(page, row('digits-mlp'), 'Edit Algorithm');
    await page.locator('.part.editor .tab.active', { hasText: 'digits-mlp.algorithm.json' }).waitFor({ timeout: 30_000 });
    const text = await editorText(page);
    for (const expected of ['"metadata"', '"name": "digits-mlp"', '"job_config"', '"boot_file"', '"epochs"']) {
      assert.ok(text.includes(expected), `the document shows ${expected}:\n${text}`);
    }
    await screenshot(page, 'algorithm-json');

    // A misspelt field is underlined by the JSON schema before saving, and refused by the save.
    await page.locator('.part.editor .monaco-editor .view-line', { hasText: '"metadata": {' }).click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.insertText('"nmae": "x",');
    const squiggle = page.locator('.part.editor .monaco-editor .squiggly-warning, .part.editor .monaco-editor .squiggly-error').first();
    await squiggle.waitFor({ timeout: 30_000 });
    await page.keyboard.press('Control+S');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'metadata.nmae' });
    await toast.waitFor({ timeout: 15_000 });
    assert.match(await toast.innerText(), /not a known field/);
    await screenshot(page, 'algorithm-json-refused-save');
    await runCommand(page, 'File: Revert File');
  });
});
