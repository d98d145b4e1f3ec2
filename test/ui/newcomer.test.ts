/**
 * What a new user runs into, clicked through as they would click it (code-server in Chromium):
 * the walkthrough ticking after each action, the flavor and inputs steps (a default that leaves
 * room, `./data` and Browse…), Back in every multi-step flow with a stable step count, the
 * Output view's channels named by job and closed on delete, a job's output reached from its row's
 * menu, and Promote from the rocket on the debug toolbar. Screenshots in out/test-results/screenshots.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { screenshot } from '../support/codeServer';
import { DIGITS, confirm, contextMenu, contextMenuEntries, debugUntil, openWorkbench, quickInput, runCommand, treeRow, type Workbench } from '../support/ui';

const STEP_IDS = ['engine', 'code', 'debug', 'create', 'logs', 'completed'];

/** The walkthrough's ticked steps, read from its page (opened from the palette). */
async function tickedSteps(page: Page): Promise<string[]> {
  await runCommand(page, 'ModelArts: Get Started with ModelArts Training');
  const steps = page.locator('.gettingStartedContainer button.getting-started-step');
  await steps.first().waitFor({ timeout: 30_000 });
  const ids = await steps.evaluateAll((buttons) => buttons.filter((b) => b.getAttribute('aria-checked') === 'true').map((b) => b.getAttribute('data-step-id') ?? ''));
  return ids.map((id) => id.split('#').pop() ?? id);
}

/** Waits until the walkthrough shows `expected` ticked (VS Code may take a moment to register it). */
async function waitForTicks(page: Page, expected: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  let ticked: string[] = [];
  while (Date.now() < deadline) {
    ticked = await tickedSteps(page);
    if (expected.every((step) => ticked.includes(step))) return ticked;
    await page.waitForTimeout(1000);
  }
  throw new Error(`the walkthrough ticks ${ticked.join(', ') || 'nothing'}; expected ${expected.join(', ')}`);
}

async function titleOf(page: Page): Promise<string> {
  return (await page.locator('.quick-input-widget .quick-input-title').innerText()).trim();
}

async function hasBackButton(page: Page): Promise<boolean> {
  return (await page.locator('.quick-input-widget .quick-input-titlebar .action-label[aria-label^="Back"]').count()) > 0;
}

/** The Output view's channel list (the panel has a second select, for the log level). */
function channelSelect(page: Page) {
  return page.locator('.part.panel select.monaco-select-box', { has: page.locator('option', { hasText: 'ModelArts' }) }).first();
}

async function channelNames(page: Page): Promise<string[]> {
  return (await channelSelect(page).locator('option').allInnerTexts()).map((name) => name.trim());
}

/**
 * Picks `folder` in VS Code's own folder dialog (a quick input in a browser), opened by `open`: types
 * its path, waits for the dialog to list that folder, then presses the dialog's button; a press that
 * came before the dialog took the path picks the wrong folder, so `took` checks, and it is tried again.
 */
async function chooseInFolderDialog(page: Page, open: () => Promise<void>, title: string, folder: string, button: string, took: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    await open();
    const dialog = await quickInput(page, title);
    const input = dialog.locator('input');
    // The dialog shows "/" first, then its starting folder once it has read it: typing before that is overwritten.
    let last = '';
    let same = 0;
    await waitUntil(async () => {
      const value = await input.inputValue();
      same = value === last ? same + 1 : 0;
      last = value;
      return value.length > 1 && value.endsWith('/') && same >= 3;
    }, 'the folder dialog shows its starting folder');
    await input.fill(`${folder}/`);
    await page.waitForTimeout(1000);
    if ((await input.inputValue()) !== `${folder}/`) {
      await page.keyboard.press('Escape');
      continue;
    }
    await dialog.locator('.quick-input-action .monaco-button', { hasText: button }).click({ timeout: 5000 });
    if (!(await dialog.waitFor({ state: 'hidden', timeout: 10_000 }).then(() => true, () => false))) {
      await screenshot(page, `newcomer-folder-dialog-${attempt}`);
      console.log(`folder dialog still open: "${await dialog.locator('input').inputValue()}" ${await dialog.locator('.quick-input-message').innerText().catch(() => '')}`);
      await page.keyboard.press('Escape');
      continue;
    }
    for (let i = 0; i < 20; i++) {
      if (await took()) return;
      await page.waitForTimeout(250);
    }
  }
  await screenshot(page, 'newcomer-folder-dialog-stuck');
  throw new Error(`the folder dialog "${title}" did not take ${folder}`);
}

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('A new user in the VS Code window', function () {
  let workbench: Workbench | undefined;
  let page: Page;
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-downloads-'));

  before(async function () {
    workbench = await openWorkbench({ settings: { 'terminal.integrated.gpuAcceleration': 'off' } });
    page = workbench.page;
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click({ timeout: 60_000 });
    await page.locator('.part.sidebar').getByText('No training jobs yet.').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await workbench?.close();
    fs.rmSync(downloads, { recursive: true, force: true });
  });

  it('finds the engine and the training code ticked in the walkthrough at once', async function () {
    const ticked = await waitForTicks(page, ['engine', 'code']);
    assert.deepEqual(ticked, ['engine', 'code'], 'nothing else is ticked yet');
  });

  it('creates a job: ten steps counted out of ten, a flavor that leaves room, ./data and Browse… as inputs', async function () {
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click();
    await runCommand(page, 'ModelArts: Create Training Job');
    await quickInput(page, 'code folder or algorithm');
    assert.equal(await titleOf(page), 'Create Training Job: code folder or algorithm (1/10)');
    assert.ok(!(await hasBackButton(page)), 'the first step has no Back');
    await page.keyboard.press('Enter');

    // The flavor step: the default leaves half of the 2-core machine free, and says so.
    const flavor = await quickInput(page, 'flavor');
    assert.equal(await titleOf(page), 'Create Training Job: flavor (4/10)', 'the skipped boot file and engine steps still count');
    const active = flavor.locator('.monaco-list-row.focused');
    assert.match(await active.innerText(), /CPU: 1 vCPU \| 2 GiB[\s\S]*default: leaves about half of this machine's \d+ vCPUs/);
    await screenshot(page, '40-flavor-default-leaves-room');
    await flavor.locator('.monaco-list-row', { hasText: 'CPU: 2 vCPUs | 4 GiB' }).click();

    await quickInput(page, 'node count');
    assert.ok(await hasBackButton(page));
    await page.keyboard.press('Enter');
    const parameters = await quickInput(page, 'hyperparameters');
    assert.equal(await titleOf(page), 'Create Training Job: hyperparameters (6/10)');
    await parameters.locator('input').fill('epochs 30,');
    await parameters.locator('.quick-input-message', { hasText: '"30," is not a hyperparameter name' }).waitFor();
    assert.match(await parameters.locator('.quick-input-message').innerText(), /name=value name2=value2/);
    await parameters.locator('input').fill('epochs=2');
    await page.keyboard.press('Enter');

    // Inputs: the data folder beside the code is suggested as ./data, relative to the workspace folder.
    const inputs = await quickInput(page, 'inputs');
    assert.equal(await inputs.locator('input').inputValue(), 'data_url=./data');
    assert.doesNotMatch(await inputs.locator('.quick-input-message').innerText(), /must start with/);
    await inputs.locator('input').fill('data_url=./nothing-here');
    await inputs.locator('.quick-input-message', { hasText: 'no folder exists at' }).waitFor();
    // Browse… picks a folder in the dialog and comes back to the step with it.
    await chooseInFolderDialog(
      page,
      () => page.locator('.quick-input-widget .quick-input-titlebar .action-label[aria-label^="Browse"]').click(),
      'Input folder of the training job',
      path.join(DIGITS, 'data'),
      'Use as Input',
      async () => (await page.locator('.quick-input-widget', { has: page.locator('.quick-input-title', { hasText: 'inputs' }) }).locator('input').inputValue().catch(() => '')) === 'data_url=./data',
    );
    await screenshot(page, '41-inputs-after-browse');
    await page.keyboard.press('Enter');
    await quickInput(page, 'outputs');
    await page.keyboard.press('Enter');
    const name = await quickInput(page, 'name');
    await name.locator('input').fill('nc-a');
    await page.keyboard.press('Enter');
    await quickInput(page, 'review');
    assert.equal(await titleOf(page), 'Create Training Job: review (10/10)');
    await page.keyboard.press('Enter');
    await treeRow(page, 'Training job nc-a, Completed').waitFor({ timeout: 120_000 });

    // A copy that fails on a bad value: the next Create must not offer that value.
    await contextMenu(page, treeRow(page, 'Training job nc-a, Completed'), 'Copy Training Job');
    const copyName = await quickInput(page, 'Copy Training Job nc-a: name');
    await copyName.locator('input').fill('nc-bad');
    await page.keyboard.press('Enter');
    const copyParameters = await quickInput(page, 'Copy Training Job nc-a: hyperparameters');
    await copyParameters.locator('input').fill('epochs=ten');
    await page.keyboard.press('Enter');
    await quickInput(page, 'Copy Training Job nc-a: review');
    await page.keyboard.press('Enter');
    await treeRow(page, 'Training job nc-bad, Failed').waitFor({ timeout: 120_000 });
    const failure = page.locator('.notifications-toasts .notification-toast', { hasText: 'Training job nc-bad failed' });
    await failure.waitFor({ timeout: 30_000 });
    assert.doesNotMatch(await failure.innerText(), /exited with code (\d+) \(Exited with code \1\)/i, 'the failure says its exit code once');
    await failure.locator('.codicon-notifications-clear, .codicon-close').first().click().catch(() => undefined);
  });

  it('offers the completed job\'s flavor and hyperparameters next time, and warns about a name taken', async function () {
    await runCommand(page, 'ModelArts: Create Training Job');
    await quickInput(page, 'code folder or algorithm');
    await page.keyboard.press('Enter');
    const flavor = await quickInput(page, 'flavor');
    assert.match(await flavor.locator('.monaco-list-row.focused').innerText(), /CPU: 2 vCPUs \| 4 GiB[\s\S]*used by nc-a, the last job of this code that completed/);
    await page.keyboard.press('Enter');
    await quickInput(page, 'node count');
    await page.keyboard.press('Enter');
    const parameters = await quickInput(page, 'hyperparameters');
    assert.equal(await parameters.locator('input').inputValue(), 'epochs=2');
    assert.match(await parameters.locator('.quick-input-message').innerText(), /Prefilled from nc-a, the last job of this code that completed/);
    await page.keyboard.press('Enter');
    await quickInput(page, 'inputs');
    await page.keyboard.press('Enter');
    await quickInput(page, 'outputs');
    await page.keyboard.press('Enter');
    const name = await quickInput(page, 'name');
    await name.locator('input').fill('nc-a');
    await name.locator('.quick-input-message', { hasText: 'A job named nc-a exists already (Completed); nc-a-2 is free' }).waitFor();
    await screenshot(page, '42-name-taken-warning');
    await name.locator('input').fill('nc-b');
    await page.keyboard.press('Enter');
    await quickInput(page, 'review');
    await page.keyboard.press('Enter');
    await treeRow(page, 'Training job nc-b, Completed').waitFor({ timeout: 120_000 });
  });

  it('goes Back in Copy, Save as Algorithm and the filter, each counted out of a fixed total', async function () {
    await contextMenu(page, treeRow(page, 'Training job nc-a, Completed'), 'Copy Training Job');
    const copyName = await quickInput(page, 'Copy Training Job nc-a: name');
    assert.equal(await titleOf(page), 'Copy Training Job nc-a: name (1/3)');
    assert.ok(!(await hasBackButton(page)));
    await copyName.locator('input').fill('nc-c');
    await page.keyboard.press('Enter');
    await quickInput(page, 'Copy Training Job nc-a: hyperparameters');
    assert.equal(await titleOf(page), 'Copy Training Job nc-a: hyperparameters (2/3)');
    await page.locator('.quick-input-widget .quick-input-titlebar .action-label[aria-label^="Back"]').click();
    const again = await quickInput(page, 'Copy Training Job nc-a: name');
    assert.equal(await again.locator('input').inputValue(), 'nc-c', 'Back keeps what was typed');
    await page.keyboard.press('Enter');
    await quickInput(page, 'hyperparameters');
    await page.keyboard.press('Enter');
    await quickInput(page, 'Copy Training Job nc-a: review');
    assert.equal(await titleOf(page), 'Copy Training Job nc-a: review (3/3)');
    await page.keyboard.press('Enter');
    await treeRow(page, 'Training job nc-c, Completed').waitFor({ timeout: 120_000 });

    await contextMenu(page, treeRow(page, 'Training job nc-c, Completed'), 'Save Training Job as Algorithm');
    await quickInput(page, 'Save nc-c as Algorithm: name');
    assert.equal(await titleOf(page), 'Save nc-c as Algorithm: name (1/2)');
    await page.keyboard.press('Enter');
    await quickInput(page, 'Save nc-c as Algorithm: description');
    assert.ok(await hasBackButton(page));
    await page.locator('.quick-input-widget .quick-input-titlebar .action-label[aria-label^="Back"]').click();
    await quickInput(page, 'Save nc-c as Algorithm: name');
    await page.keyboard.press('Escape');

    await runCommand(page, 'ModelArts: Filter Training Jobs…');
    await quickInput(page, 'Filter Training Jobs: phases');
    assert.equal(await titleOf(page), 'Filter Training Jobs: phases (1/2)');
    await page.keyboard.press('Enter');
    await quickInput(page, 'Filter Training Jobs: name');
    assert.ok(await hasBackButton(page), 'the filter\'s second step has Back');
    await page.locator('.quick-input-widget .quick-input-titlebar .action-label[aria-label^="Back"]').click();
    await quickInput(page, 'Filter Training Jobs: phases');
    await page.keyboard.press('Escape');
  });

  it('names the Output view\'s channels by job first, and closes a deleted job\'s channel', async function () {
    const names = await channelNames(page);
    for (const job of ['nc-a', 'nc-b', 'nc-c']) assert.ok(names.includes(`${job} · ModelArts`), `a channel "${job} · ModelArts" in ${names.join(' | ')}`);
    assert.ok(!names.some((name) => name.startsWith('ModelArts Job:')), 'no channel starts with the product name');
    // The dropdown open, as a person sees it.
    await channelSelect(page).click();
    await page.locator('.monaco-select-box-dropdown-container').waitFor({ timeout: 10_000 });
    await screenshot(page, '43-output-dropdown-three-jobs');
    await page.keyboard.press('Escape');

    await contextMenu(page, treeRow(page, 'Training job nc-b, Completed'), 'Delete Training Job');
    await confirm(page, 'Delete Training Job nc-b', 'DELETE', '44-delete-nc-b');
    await treeRow(page, 'Training job nc-b,').waitFor({ state: 'detached', timeout: 30_000 });
    await waitUntil(async () => !(await channelNames(page)).includes('nc-b · ModelArts'), "nc-b's channel closes with it");
    const shown = (await channelSelect(page).evaluate((select) => (select as unknown as { selectedOptions: ArrayLike<{ textContent: string | null }> }).selectedOptions[0]?.textContent ?? '')).trim();
    assert.match(shown, /^nc-[ac] · ModelArts$/, `the Output view shows another job's channel, not "${shown}"`);
  });

  it('reaches a job\'s output from its row: the menu, a file, a new window on the folder, a download', async function () {
    const jobRow = treeRow(page, 'Training job nc-a,');
    if ((await jobRow.getAttribute('aria-expanded')) !== 'true') await jobRow.locator('.monaco-tl-twistie').click();
    const output = treeRow(page, 'Output train_url of training job nc-a');
    await output.waitFor();
    const entries = await contextMenuEntries(page, output);
    assert.deepEqual(entries, ['Open Output File…', 'Open Output Folder in New Window', 'Download Output…'], 'what works in a browser, and nothing that does not');
    await output.click({ button: 'right' });
    await page.locator('.context-view .monaco-menu').waitFor();
    await screenshot(page, '45-output-row-menu');
    await page.keyboard.press('Escape');

    // The inline button: the output's files, and what else can be done with it.
    await output.hover();
    await output.locator('.action-label[aria-label="Open Output…"]').click();
    const hub = await quickInput(page, 'Output train_url of nc-a');
    await hub.locator('.monaco-list-row', { hasText: 'checkpoint.pt' }).waitFor();
    await screenshot(page, '46-open-output');
    await page.keyboard.press('Escape');

    // A new window on the output folder: its Explorer lists the checkpoint.
    const popup = page.context().waitForEvent('page', { timeout: 30_000 });
    await contextMenu(page, output, 'Open Output Folder in New Window');
    const second = await popup;
    await second.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await second.locator('.part.sidebar [role="treeitem"]', { hasText: 'checkpoint.pt' }).waitFor({ timeout: 60_000 }).catch(async () => {
      await second.locator('.activitybar a.action-label[aria-label^="Explorer"]').click();
      await second.locator('.part.sidebar [role="treeitem"]', { hasText: 'checkpoint.pt' }).waitFor({ timeout: 30_000 });
    });
    await screenshot(second, '47-output-folder-opened');
    await second.close();

    // Download Output… into a chosen folder: a folder of its own there, with the checkpoint.
    const copied = path.join(downloads, 'nc-a-train_url', 'checkpoint.pt');
    const told = page.locator('.notifications-toasts .notification-toast', { hasText: 'Downloaded train_url of nc-a to' });
    await chooseInFolderDialog(page, () => contextMenu(page, output, 'Download Output…'), 'Download train_url of nc-a into', downloads, 'Download Here', async () => (await told.count()) > 0);
    assert.match(await told.innerText(), /\(2 files, /);
    assert.ok(fs.statSync(copied).size > 1000, `${copied} was downloaded whole`);
  });

  it('promotes from the rocket on the debug toolbar, which says Stop for the session', async function () {
    const toolbar = await debugUntil(page, 'train_loss, train_acc = total_loss');
    assert.equal(await toolbar.locator('.action-label[aria-label^="Disconnect"]').count(), 0, 'no Disconnect for a launched session');
    await toolbar.locator('.action-label[aria-label^="Stop"]').first().waitFor();

    await toolbar.locator('.action-label[aria-label^="Promote to Training Job"]').click();
    const review = await quickInput(page, 'Promote debug session');
    const create = review.locator('.monaco-list-row', { hasText: 'Create training job digits' });
    await create.waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.notifications-toasts .notification-toast', { hasText: 'is invalid' }).count(), 0, 'no "is invalid" warning');
    await screenshot(page, '48-promote-from-toolbar');
    await page.keyboard.press('Enter');
    await treeRow(page, 'Training job digits').first().waitFor({ timeout: 60_000 });
    await toolbar.locator('.action-label[aria-label^="Stop"]').first().click();
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
  });

  it('has all six walkthrough steps ticked after the workflow', async function () {
    const ticked = await waitForTicks(page, STEP_IDS);
    assert.deepEqual(ticked, STEP_IDS);
    // The six steps in one picture: the panel out of the way.
    if (await page.locator('.part.panel').isVisible()) await page.keyboard.press('Control+J');
    await page.locator('.gettingStartedContainer button.getting-started-step').last().scrollIntoViewIfNeeded();
    await screenshot(page, '49-walkthrough-all-ticked');
  });
});
