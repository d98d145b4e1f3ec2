/**
 * What a user sees: VS Code (code-server) in Chromium, driven with the keyboard and mouse through
 * Playwright. Screenshots land in out/test-results/screenshots.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { CodeServer, REPO_ROOT, openBrowser, screenshot, type BrowserSession } from '../support/codeServer';

const DIGITS = path.join(REPO_ROOT, 'examples', 'digits');

async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
}

/** Waits for the quick input titled `title` (a step of a command) and returns its box. */
async function quickInput(page: Page, title: string) {
  const widget = page.locator('.quick-input-widget', { has: page.locator('.quick-input-title', { hasText: title }) });
  await widget.waitFor({ state: 'visible', timeout: 30_000 });
  return widget;
}

async function outputText(page: Page): Promise<string> {
  return (await page.locator('.part.panel .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
}

async function waitForOutput(page: Page, predicate: (text: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await outputText(page).catch(() => '');
    if (predicate(text)) return text;
    await page.waitForTimeout(250);
  }
  throw new Error(`the Output panel did not show what was expected; it shows:\n${text}`);
}

describe('ModelArts in the VS Code window', function () {
  let server: CodeServer;
  let session: BrowserSession;
  let page: Page;

  before(async function () {
    server = await CodeServer.start();
    session = await openBrowser();
    page = session.page;
    await page.goto(server.workbenchUrl(DIGITS, [['extensionDevelopmentPath', server.remoteUri(REPO_ROOT)]]));
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await session?.browser.close().catch(() => undefined);
    server?.stop();
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

    const folder = await quickInput(page, 'code folder');
    await folder.locator('.monaco-list-row', { hasText: 'digits' }).first().waitFor();
    await page.keyboard.press('Enter');

    // digits holds one Python file and one preset engine is installed: neither is asked for.
    const parameters = await quickInput(page, 'hyperparameters');
    await parameters.locator('input').fill('epochs=5 lr=0.01');
    await screenshot(page, '02-create-job-hyperparameters');
    await page.keyboard.press('Enter');

    const name = await quickInput(page, 'name');
    const jobName = await name.locator('input').inputValue();
    assert.match(jobName, /^digits-\d{8}-\d{6}$/, 'a default name from the folder and the time');
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
    await page.locator(`.part.sidebar [role="treeitem"][aria-label*="${jobName}"]`).hover();
    await screenshot(page, '03-job-completed-with-log');
  });
});
