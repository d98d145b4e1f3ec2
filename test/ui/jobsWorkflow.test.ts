/**
 * The everyday job workflow as a user sees it in VS Code (code-server in Chromium): a running job
 * in the tree with its tasks and outputs, its log channel following it live, the status bar, Stop
 * from the context menu, Copy with an edited hyperparameter, Delete with its confirmation, and
 * the Getting Started walkthrough. Screenshots land in out/test-results/screenshots.
 */
import * as assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot } from '../support/codeServer';
import { confirm, contextMenu, contextMenuEntries, createDigitsJob, openWorkbench, quickInput, runCommand, treeRow, waitForOutput, type Workbench } from '../support/ui';

describe('The training job workflow in the VS Code window', function () {
  let workbench: Workbench | undefined;
  let page: Page;

  before(async function () {
    workbench = await openWorkbench();
    page = workbench.page;
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click({ timeout: 60_000 });
    await page.locator('.part.sidebar').getByText('No training jobs yet.').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await workbench?.close();
  });

  it('follows a running job live: tree row with tasks and outputs, its log channel, the status bar', async function () {
    await createDigitsJob(page, 'epochs=5000', 'ui-long');
    await treeRow(page, 'Training job ui-long, Running').waitFor({ timeout: 120_000 });
    const status = page.locator('.statusbar-item', { hasText: '1 running' });
    await status.waitFor({ timeout: 30_000 });
    assert.equal(await status.locator('.codicon-sync.codicon-modifier-spin, .codicon-sync~spin, .codicon-modifier-spin').count(), 1, 'the status bar icon spins');

    // The channel opened on creation keeps growing while the job runs.
    const lastEpoch = (text: string) => Math.max(0, ...[...text.matchAll(/epoch (\d+) loss/g)].map((m) => Number(m[1])));
    const first = lastEpoch(await waitForOutput(page, (text) => lastEpoch(text) >= 2, 90_000));
    const later = await waitForOutput(page, (text) => lastEpoch(text) >= first + 2, 90_000);
    assert.doesNotMatch(later, /\u001b\[/, 'no escape sequences');
    const jobRow = treeRow(page, 'Training job ui-long,');
    if ((await jobRow.getAttribute('aria-expanded')) !== 'true') await jobRow.locator('.monaco-tl-twistie').click();
    await treeRow(page, 'Task worker-0 of training job ui-long').waitFor();
    await treeRow(page, 'Output train_url of training job ui-long').waitFor();
    await screenshot(page, '10-running-job-log-and-status-bar');

    // A click on the status bar item reveals the jobs view.
    await page.locator('.activitybar a.action-label[aria-label^="Explorer"]').click();
    await status.click();
    await treeRow(page, 'Training job ui-long,').waitFor({ timeout: 10_000 });
  });

  it('follows the running job again after a window reload', async function () {
    await runCommand(page, 'Developer: Reload Window');
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await treeRow(page, 'Training job ui-long,').waitFor({ timeout: 60_000 });
    const label = await treeRow(page, 'Training job ui-long,').getAttribute('aria-label');
    assert.match(label ?? '', /Running/, `the job still runs after the reload: ${label}`);
    // The channel is back (restored from the workspace state), and live.
    const channel = page.locator('.part.panel select.monaco-select-box option', { hasText: 'ui-long · ModelArts' });
    await channel.first().waitFor({ state: 'attached', timeout: 30_000 });
    // Its last line after the stop (next test) shows that this restored channel follows live.
    await waitForOutput(page, (text) => /epoch \d+ loss/.test(text), 30_000);
    await screenshot(page, '10b-log-after-reload');
  });

  it('stops the running job from its context menu after YES, and it reaches Terminated', async function () {
    const row = treeRow(page, 'Training job ui-long,');
    const entries = await contextMenuEntries(page, row);
    assert.ok(entries.includes('Stop Training Job'), `Stop is offered: ${entries.join(', ')}`);
    assert.ok(!entries.includes('Delete Training Job'), `Delete is not offered while it runs: ${entries.join(', ')}`);
    await contextMenu(page, row, 'Stop Training Job');
    await confirm(page, 'Stop Training Job ui-long', 'YES', '11-stop-confirmation');
    await treeRow(page, 'Training job ui-long, Terminated').waitFor({ timeout: 60_000 });
    await page.locator('.statusbar-item', { hasText: '1 running' }).waitFor({ state: 'hidden', timeout: 15_000 });
    const text = await waitForOutput(page, (content) => content.includes('Training job ui-long terminated'), 30_000);
    assert.match(text, /exit code 143/, 'the channel says how the task ended');
    const after = await contextMenuEntries(page, treeRow(page, 'Training job ui-long, Terminated'));
    assert.ok(!after.includes('Stop Training Job') && after.includes('Delete Training Job'), `Stop gone, Delete offered: ${after.join(', ')}`);
    await screenshot(page, '12-stopped-job');
  });

  it('copies the job with an edited hyperparameter; the copy runs with it', async function () {
    await contextMenu(page, treeRow(page, 'Training job ui-long, Terminated'), 'Copy Training Job');
    const name = await quickInput(page, 'Copy Training Job ui-long: name (1/3)');
    assert.equal(await name.locator('input').inputValue(), 'ui-long-copy');
    await page.keyboard.press('Enter');
    const parameters = await quickInput(page, 'Copy Training Job ui-long: hyperparameters (2/3)');
    assert.equal(await parameters.locator('input').inputValue(), 'epochs=5000');
    await parameters.locator('input').fill('epochs=2');
    await screenshot(page, '13-copy-edited-hyperparameter');
    await page.keyboard.press('Enter');
    await quickInput(page, 'Copy Training Job ui-long: review (3/3)');
    await page.keyboard.press('Enter');
    await treeRow(page, 'Training job ui-long-copy, Completed').waitFor({ timeout: 120_000 });
    const log = await waitForOutput(page, (text) => text.includes('Training job ui-long-copy completed'), 60_000);
    assert.match(log, /epoch 2 loss/);
    assert.doesNotMatch(log, /epoch 3 loss/, 'the copy ran the edited 2 epochs');
    await screenshot(page, '14-copy-completed');
  });

  it('deletes the stopped job after DELETE; the row goes away', async function () {
    await contextMenu(page, treeRow(page, 'Training job ui-long, Terminated'), 'Delete Training Job');
    await confirm(page, 'Delete Training Job ui-long', 'DELETE', '15-delete-confirmation');
    await treeRow(page, 'Training job ui-long, Terminated').waitFor({ state: 'detached', timeout: 30_000 });
    await treeRow(page, 'Training job ui-long-copy,').waitFor();
    assert.equal(await page.locator('.notifications-toasts .notification-toast').count(), 0, 'no error pop-up');
  });

  it('opens the Getting Started walkthrough from the palette', async function () {
    await runCommand(page, 'ModelArts: Get Started with ModelArts Training');
    const walkthrough = page.locator('.gettingStartedContainer');
    await walkthrough.getByText('Get Started with ModelArts Training').first().waitFor({ timeout: 30_000 });
    for (const step of ['Start the training engine', "Debug it in the job's container", 'Create a training job', 'See it complete']) {
      await walkthrough.getByText(step).first().waitFor();
    }
    await screenshot(page, '16-walkthrough');
  });
});
