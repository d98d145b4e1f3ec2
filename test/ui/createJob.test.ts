/**
 * What a user sees: VS Code (code-server) in Chromium, driven with the keyboard and mouse through
 * Playwright. Screenshots land in out/test-results/screenshots.
 */
import * as assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot } from '../support/codeServer';
import { openWorkbench, quickInput, runCommand, waitForOutput, type Workbench } from '../support/ui';

/** Colours of a tree row's icon and label and of the view behind them, as the browser renders them. */
async function rowColours(page: Page, name: string): Promise<{ icon: string; label: string; background: string }> {
  return page.evaluate(`(() => {
    const row = document.querySelector('.part.sidebar [role="treeitem"][aria-label*=${JSON.stringify(name)}]');
    const icon = row.querySelector('.custom-view-tree-node-item-icon, .codicon');
    const label = row.querySelector('.label-name');
    let node = row;
    let background = 'rgba(0, 0, 0, 0)';
    while (node && /rgba\\(0, 0, 0, 0\\)|transparent/.test(background)) {
      background = getComputedStyle(node).backgroundColor;
      node = node.parentElement;
    }
    return { icon: getComputedStyle(icon).color, label: getComputedStyle(label).color, background };
  })()`);
}

function luminance(colour: string): number {
  const [r, g, b] = (colour.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
}

function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

describe('ModelArts in the VS Code window', function () {
  let workbench: Workbench | undefined;
  let page: Page;
  let jobName = '';

  before(async function () {
    workbench = await openWorkbench();
    page = workbench.page;
  });

  after(async function () {
    await workbench?.close();
  });

  it('opens the ModelArts container with the Training Jobs, Algorithms and Datasets views', async function () {
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click({ timeout: 60_000 });
    const sidebar = page.locator('.part.sidebar');
    for (const title of ['Training Jobs', 'Algorithms', 'Datasets']) {
      await sidebar.locator('.pane-header', { hasText: title }).waitFor({ timeout: 30_000 });
    }
    // The engine connects to Docker, then the empty state invites to create a job.
    await sidebar.getByText('No training jobs yet.').waitFor({ timeout: 60_000 });
    await sidebar.locator('.welcome-view-content .monaco-button', { hasText: 'Create Training Job' }).waitFor();
    await screenshot(page, '01-modelarts-container-empty');
  });

  it('creates a training job on the example from F1; it reaches Completed and its epochs stream into the Output panel', async function () {
    await runCommand(page, 'ModelArts: Create Training Job');

    const source = await quickInput(page, 'code folder or algorithm');
    await source.locator('.monaco-list-row', { hasText: 'digits' }).first().waitFor();
    await page.keyboard.press('Enter');

    // digits holds one Python file and one preset engine is installed: neither is asked for.
    await quickInput(page, 'flavor');
    await page.keyboard.press('Enter');
    const nodes = await quickInput(page, 'node count');
    assert.equal(await nodes.locator('input').inputValue(), '1');
    await page.keyboard.press('Enter');
    const parameters = await quickInput(page, 'hyperparameters');
    await parameters.locator('input').fill('epochs=5 lr=0.01');
    await screenshot(page, '02-create-job-hyperparameters');
    await page.keyboard.press('Enter');

    // Back from the inputs step returns to the hyperparameters as they were typed.
    const inputs = await quickInput(page, 'inputs');
    assert.equal(await inputs.locator('input').inputValue(), 'data_url=./data', 'the data folder beside the code is offered');
    await inputs.locator('.quick-input-titlebar .codicon-quick-input-back').click();
    const again = await quickInput(page, 'hyperparameters');
    assert.equal(await again.locator('input').inputValue(), 'epochs=5 lr=0.01');
    await page.keyboard.press('Enter');
    await quickInput(page, 'inputs');
    await page.keyboard.press('Enter');
    const outputs = await quickInput(page, 'outputs');
    assert.equal(await outputs.locator('input').inputValue(), 'train_url', 'the checkpoint folder is kept with the job by default');
    await page.keyboard.press('Enter');

    const name = await quickInput(page, 'name');
    jobName = await name.locator('input').inputValue();
    assert.match(jobName, /^digits-\d{8}-\d{6}$/, 'a default name from the folder and the time');
    await page.keyboard.press('Enter');

    const review = await quickInput(page, 'review');
    await review.locator('.monaco-list-row', { hasText: 'epochs=5 lr=0.01 data_url=./data train_url' }).waitFor();
    await screenshot(page, '02b-create-job-review');
    await page.keyboard.press('Enter');

    const row = page.locator('.part.sidebar [role="treeitem"]', { hasText: jobName });
    await row.waitFor({ timeout: 30_000 });
    // Live: the row goes through Running to Completed without a refresh.
    await page.locator(`.part.sidebar [role="treeitem"][aria-label*="${jobName}, Completed"]`).waitFor({ timeout: 120_000 });

    // The log channel was opened on creation and followed the job to its end.
    await page.locator('.part.panel').waitFor();
    const text = await waitForOutput(page, (content) => content.includes(`Training job ${jobName}`), 60_000);
    for (let epoch = 1; epoch <= 5; epoch += 1) {
      assert.match(text, new RegExp(`epoch ${epoch} loss \\d+\\.\\d+ acc \\d+\\.\\d+`), `epoch ${epoch} is in the Output panel:\n${text}`);
    }
    assert.match(text, new RegExp(`Training job ${jobName} completed after .*exit code 0`));
    // The tooltip tells how the job was run.
    await page.locator(`.part.sidebar [role="treeitem"][aria-label*="${jobName}"] .label-name`).hover();
    const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'Hyperparameters' }).first();
    await hover.waitFor({ timeout: 15_000 });
    const tooltip = (await hover.innerText()).replace(/\u00a0/g, ' ');
    for (const expected of ['PyTorch 1.13-cpu', 'epochs=5 lr=0.01', 'modelarts.local.cpu.', 'Nodes: 1']) {
      assert.ok(tooltip.includes(expected), `the tooltip shows "${expected}":\n${tooltip}`);
    }
    await screenshot(page, '03-job-completed-with-log');
  });

  it("offers the active Python file first, remembers its hyperparameters, and cancels silently", async function () {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('train.py');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'train.py' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.part.editor .tab.active', { hasText: 'train.py' }).waitFor();
    const rowsBefore = await page.locator('.part.sidebar [role="treeitem"]').count();

    await runCommand(page, 'ModelArts: Create Training Job');
    // The active editor's file is offered first and preselected (any other folder or an algorithm
    // stays one pick away); taking it, the hyperparameters are prefilled with what was used for
    // this boot file by the last job that completed.
    const source = await quickInput(page, 'code folder or algorithm');
    await source.locator('.monaco-list-row.focused', { hasText: 'train.py' }).waitFor();
    await page.keyboard.press('Enter');
    await quickInput(page, 'flavor');
    await page.keyboard.press('Enter');
    await quickInput(page, 'node count');
    await page.keyboard.press('Enter');
    const parameters = await quickInput(page, 'hyperparameters');
    assert.equal(await parameters.locator('input').inputValue(), 'epochs=5 lr=0.01');
    // A bad flag name is refused while typing, in the box's terms, with the form expected.
    await parameters.locator('input').fill('epochs=5 -=3');
    await parameters.locator('.quick-input-message', { hasText: '"=" is not a hyperparameter name' }).waitFor();
    assert.match(await parameters.locator('.quick-input-message').innerText(), /Type them as name=value name2=value2/);
    await screenshot(page, '04-create-job-validation');
    await page.keyboard.press('Escape');
    await parameters.waitFor({ state: 'hidden' });
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('.notifications-toasts .notification-toast').count(), 0, 'cancelling shows no error');
    assert.equal(await page.locator('.part.sidebar [role="treeitem"]').count(), rowsBefore, 'no job was created');
    await page.keyboard.press('Control+W');
  });

  it('keeps a job row readable in the light and the dark theme', async function () {
    assert.ok(jobName, 'the job of the previous test exists');
    // Clear the selection (its colours are the theme's selection colours, not the phase's) and
    // move the focus away, as when the user goes back to the code.
    await page.locator(`.part.sidebar [role="treeitem"][aria-label*="${jobName}"]`).click();
    await page.keyboard.press('Escape');
    await page.locator('.part.editor').click();
    for (const [theme, workbenchClass, file] of [
      ['Light Modern', 'vs', '05-light-theme'],
      ['Dark Modern', 'vs-dark', '06-dark-theme'],
    ] as const) {
      await runCommand(page, 'Preferences: Color Theme');
      await page.locator('.quick-input-widget input').fill(theme);
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: theme }).first().waitFor();
      await page.keyboard.press('Enter');
      await page.locator(`.monaco-workbench.${workbenchClass}`).waitFor({ timeout: 30_000 });
      await page.waitForTimeout(500);
      const colours = await rowColours(page, jobName);
      const iconContrast = contrast(colours.icon, colours.background);
      const labelContrast = contrast(colours.label, colours.background);
      assert.ok(iconContrast >= 3, `${theme}: the phase icon (${colours.icon} on ${colours.background}) stands out: contrast ${iconContrast.toFixed(2)}`);
      assert.ok(labelContrast >= 4.5, `${theme}: the job name (${colours.label} on ${colours.background}) is legible: contrast ${labelContrast.toFixed(2)}`);
      await screenshot(page, file);
    }
  });
});

describe('ModelArts when Docker is not reachable', function () {
  let workbench: Workbench | undefined;

  before(async function () {
    // A Docker host that does not exist: the same state as a machine whose Docker is stopped.
    workbench = await openWorkbench({ settings: { 'modelarts.local.dockerHost': 'unix:///nonexistent/docker.sock' } });
  });

  after(async function () {
    await workbench?.close();
  });

  it('says so in the views, how to start it, and offers Retry instead of an error storm', async function () {
    const page = (workbench as Workbench).page;
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click({ timeout: 60_000 });
    const sidebar = page.locator('.part.sidebar');
    await sidebar.getByText('The Docker engine is not reachable', { exact: false }).waitFor({ timeout: 60_000 });
    await sidebar.getByText('sudo systemctl start docker', { exact: false }).waitFor();
    await sidebar.locator('.welcome-view-content .monaco-button', { hasText: 'Retry' }).first().waitFor();
    assert.equal(await page.locator('.notifications-toasts .notification-toast').count(), 0, 'no pop-up notification');
    // Retry asks the engine again; it stays unreachable and says so, still without a pop-up.
    await sidebar.locator('.welcome-view-content .monaco-button', { hasText: 'Retry' }).first().click();
    await page.waitForTimeout(1000);
    await sidebar.getByText('The Docker engine is not reachable', { exact: false }).waitFor();
    assert.equal(await page.locator('.notifications-toasts .notification-toast').count(), 0, 'still no pop-up');
    await screenshot(page, '07-docker-not-reachable');
    // What exactly failed is in the extension's log.
    await sidebar.locator('.welcome-view-content .monaco-button', { hasText: 'Show Log' }).click();
    const log = await waitForOutput(page, (text) => text.includes('not reachable'), 30_000);
    assert.match(log, /Docker engine at unix:\/\/\/nonexistent\/docker\.sock is not reachable: connect ENOENT/);
  });
});
