/**
 * A ModelArts account beside the local backend, clicked through (code-server in Chromium) against
 * the contract server (real Docker behind it, radosgw as OBS): the account's entry is in the
 * settings without keys, so its root says sign-in is needed; Sign In from that root refuses a
 * wrong SK naming it, then keeps the keys; Create Training Job on ModelArts shows the upload plan
 * in its review and the job's log streams; its panel says where it runs.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { screenshot } from '../support/codeServer';
import { startCloudFixture, type CloudFixture } from '../support/modelartsFixture';
import { answer, contextMenu, openWorkbench, quickInput, rowUnder, runCommand, treeRow, waitForOutput, type Workbench } from '../support/ui';

function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
}

/** The label of the first root row matching `pattern`, once there is one. */
async function rootLabel(page: Page, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const labels = await page.locator('[role="treeitem"][aria-level="1"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? ''));
    const found = labels.find((label) => pattern.test(label));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no root like ${pattern}: ${labels.join(' | ')}`);
    await page.waitForTimeout(250);
  }
}

describe('ModelArts beside the local backend in the VS Code window', function () {
  let fx: CloudFixture;
  let workbench: Workbench | undefined;
  let page: Page;

  before(async function () {
    fx = await startCloudFixture();
    workbench = await openWorkbench({ settings: { 'modelarts.cloud.accounts': [fx.config] } });
    page = workbench.page;
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click({ timeout: 60_000 });
    await treeRow(page, 'Backend ModelArts').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await workbench?.close();
    await fx?.stop();
  });

  it('signs in from the account\'s root: a wrong secret key is refused, naming it; then both roots are available', async function () {
    const root = treeRow(page, 'Backend ModelArts');
    await rootLabel(page, /^Backend ModelArts.*sign-in needed/);
    await contextMenu(page, root, 'Sign In to ModelArts…');
    const region = await quickInput(page, 'Region');
    assert.match(await region.locator('.monaco-list-row.focused').innerText(), /cn-north-4/, 'the account\'s region first');
    await screenshot(page, '60-sign-in-region');
    await page.keyboard.press('Enter');
    const how = await quickInput(page, 'How to sign in');
    assert.match(await how.innerText(), /Access keys \(AK\/SK\)[\s\S]*IAM user/);
    await page.keyboard.press('Enter');
    await answer(page, [['Access key ID', fx.credentials.accessKey], ['Secret access key', 'not-the-secret-key-000']]);
    await (await quickInput(page, 'Code location')).waitFor();
    await page.keyboard.press('Enter');
    const refused = page.locator('.notifications-toasts .notification-toast', { hasText: 'signature was refused' });
    await refused.waitFor({ timeout: 30_000 });
    assert.match(await refused.innerText(), /secret access key \(SK\) does not match/);
    assert.doesNotMatch(await refused.innerText(), /not-the-secret-key-000/, 'the key is not shown');
    await screenshot(page, '61-sign-in-refused');
    await refused.locator('a.monaco-button, .monaco-button', { hasText: 'Try Again' }).click();
    await (await quickInput(page, 'Region')).waitFor();
    await page.keyboard.press('Enter');
    await (await quickInput(page, 'How to sign in')).waitFor();
    await page.keyboard.press('Enter');
    const ak = await quickInput(page, 'Access key ID');
    assert.equal(await ak.locator('input').inputValue(), fx.credentials.accessKey, 'what was typed is kept for the second try');
    await page.keyboard.press('Enter');
    await answer(page, [['Secret access key', fx.credentials.secretKey], ['Code location']]);
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'signed in to cn-north-4' }).waitFor({ timeout: 30_000 });
    await rootLabel(page, /^Backend ModelArts.*\d+ jobs?/);
    const roots = await page.locator('[role="treeitem"][aria-level="1"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? ''));
    assert.ok(roots.some((label) => label.startsWith('Backend Local')) && roots.some((label) => label.startsWith('Backend ModelArts')), roots.join(' | '));
    await screenshot(page, '62-two-roots-signed-in');
  });

  it('creates the digits job on ModelArts from the palette: the review shows what is uploaded where, and its log streams', async function () {
    await runCommand(page, 'ModelArts: Create Training Job');
    await (await quickInput(page, 'run on')).locator('.monaco-list-row[aria-label*="ModelArts"]').click();
    await answer(page, [['code folder or algorithm'], ['flavor'], ['hyperparameters', 'epochs=2'], ['inputs'], ['outputs'], ['name', 'cloud-ui-digits']]);
    const review = await quickInput(page, 'review');
    await review.locator('.monaco-list-row', { hasText: 'code: digits/' }).waitFor({ timeout: 30_000 });
    const plan = await review.innerText();
    assert.match(plan, /Sent to ModelArts/);
    assert.match(plan, new RegExp(`obs://${fx.bucket}/vscode/cloud-ui-digits/code/digits/`));
    await screenshot(page, '63-review-upload-plan');
    await review.locator('.monaco-list-row', { hasText: 'Create' }).first().click();
    await waitForOutput(page, (text) => /epoch 2 loss/.test(text), 180_000);
    await rowUnder(page, 'ModelArts', 'Training job cloud-ui-digits, Completed', 120_000);
    await screenshot(page, '64-cloud-job-log');
    const created = fx.server.journal.requestsTo('CreateTrainingJob');
    assert.equal(created.length, 1, 'one creation');
    assert.deepEqual(fx.server.journal.undocumentedFieldReport(), []);
  });

  it('keeps the keys out of the extension\'s log, every log channel and the settings', async function () {
    const root = path.join(workbench?.server.home ?? '', 'user-data');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (/\.(log|json)$/.test(entry.name) || entry.name.startsWith('output')) files.push(full);
      }
    };
    walk(path.join(root, 'logs'));
    files.push(path.join(root, 'User', 'settings.json'));
    const channels = files.filter((file) => /modelarts|ModelArts|output/.test(file));
    assert.ok(channels.length > 0, `the extension's log and channels are among ${files.length} files`);
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const secret of [fx.credentials.secretKey, 'not-the-secret-key-000']) assert.ok(!text.includes(secret), `${file} holds a secret key`);
      assert.doesNotMatch(text, /Signature=[0-9a-f]{16}/, `${file} holds a signature`);
    }
    assert.match(fs.readFileSync(path.join(root, 'User', 'settings.json'), 'utf8'), /modelarts\.cloud\.accounts/, 'the account is in the settings, without its keys');
  });

  it('opens the cloud job\'s panel: it says where the job runs, with its events', async function () {
    await contextMenu(page, await rowUnder(page, 'ModelArts', 'Training job cloud-ui-digits, Completed'), 'Show Job Details');
    const view = webview(page);
    await view.locator('h1', { hasText: 'cloud-ui-digits' }).waitFor({ timeout: 30_000 });
    assert.match(await view.locator('.overview').innerText(), /Runs on\s+ModelArts/);
    await screenshot(page, '65-cloud-job-panel');
  });
});
