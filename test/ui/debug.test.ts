/**
 * Debugging in a dev container as a user sees it (code-server in Chromium): train.py open with a
 * breakpoint, "Debug: Start Debugging" on the example's launch.json configuration, VS Code stopped
 * at the breakpoint with the job's variables, a shell in the container, and "Promote to Training
 * Job" showing the job it will create. Screenshots land in out/test-results/screenshots.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { screenshot } from '../support/codeServer';
import { DIGITS, openWorkbench, quickInput, runCommand, treeRow, type Workbench } from '../support/ui';

const BREAK_AT = 'train_loss, train_acc = total_loss / len(y_train), correct / len(y_train)';

async function openFileAtLine(page: Page, file: string, line: number): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`${file}:${line}`);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: file }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.editor-group-container .tab.active', { hasText: file }).waitFor();
}

describe('Debugging training code in a dev container, in the VS Code window', function () {
  let workbench: Workbench | undefined;
  let page: Page;

  before(async function () {
    // The DOM renderer keeps the terminal's text readable by the test.
    workbench = await openWorkbench({ settings: { 'terminal.integrated.gpuAcceleration': 'off' } });
    page = workbench.page;
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await workbench?.close();
  });

  it('stops at a breakpoint in train.py inside the dev container, opens a shell there, and offers the job to promote', async function () {
    const line = fs.readFileSync(path.join(DIGITS, 'train.py'), 'utf8').split('\n').findIndex((text) => text.includes(BREAK_AT)) + 1;
    assert.ok(line > 0);
    await openFileAtLine(page, 'train.py', line);
    await runCommand(page, 'Debug: Toggle Breakpoint');
    await page.locator('.codicon-debug-breakpoint').first().waitFor({ timeout: 10_000 });
    await runCommand(page, 'Debug: Start Debugging');

    // Paused: the debug toolbar, the top stack frame in the editor, the job's variables.
    await page.locator('.debug-toolbar').waitFor({ timeout: 120_000 }).catch(async (error: unknown) => {
      await screenshot(page, '20-debug-did-not-start');
      throw error;
    });
    await page.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 120_000 });
    await runCommand(page, 'View: Show Run and Debug');
    const variables = page.locator('.debug-view-content [role="treeitem"]', { hasText: /^epoch/ });
    await page.locator('.debug-view-content').getByText('Locals').first().waitFor({ timeout: 30_000 });
    await variables.first().waitFor({ timeout: 30_000 });
    assert.match(await variables.first().innerText(), /epoch\s*[:=]?\s*1\b/);
    await page.locator('.debug-call-stack', { hasText: /paused on breakpoint/i }).first().waitFor({ timeout: 10_000 }).catch(() => undefined);
    await screenshot(page, '20-debug-stopped-at-breakpoint');

    // A shell in the same container.
    await runCommand(page, 'ModelArts: Open Shell in Dev Container');
    const terminal = page.locator('.terminal-wrapper .xterm').last();
    await terminal.waitFor({ timeout: 20_000 });
    await page.locator('.part.panel .xterm-rows', { hasText: 'ma-user@' }).first().waitFor({ timeout: 20_000 });
    await terminal.click();
    await page.keyboard.type('echo "in $(hostname) as $(id -un), MA_JOB_DIR=$MA_JOB_DIR"');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(1500);
    await page.locator('.part.panel .xterm-rows', { hasText: 'MA_JOB_DIR=/home/ma-user/modelarts/user-job-dir' }).first().waitFor({ timeout: 20_000 });
    await screenshot(page, '21-dev-container-shell');
    await page.locator('.editor-group-container .monaco-editor .view-lines').first().click();

    // Promote what is being debugged: the review shows the job and its command line.
    await runCommand(page, 'ModelArts: Promote to Training Job');
    const review = await quickInput(page, 'Promote');
    const create = review.locator('.monaco-list-row', { hasText: 'Create training job digits' });
    await create.waitFor({ timeout: 30_000 });
    assert.match(await create.innerText(), /--epochs=3 --lr=0\.01/);
    await screenshot(page, '22-promote-review');
    await page.keyboard.press('Enter');
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click();
    await treeRow(page, 'Training job digits').first().waitFor({ timeout: 60_000 });

    // Stop debugging: the session ends (its container goes with it, asserted in the editor suite).
    // An attach session's toolbar says Disconnect; either way the container is removed.
    await page.locator('.debug-toolbar .action-label[aria-label^="Disconnect"], .debug-toolbar .action-label[aria-label^="Stop"]').first().click();
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 30_000 });
    await treeRow(page, 'Training job digits').first().locator('xpath=..').waitFor();
    await screenshot(page, '23-promoted-job');
  });
});
