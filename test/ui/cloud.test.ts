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
import { answer, confirm, debugUntil, contextMenu, openWorkbench, quickInput, rowUnder, runCommand, treeRow, waitForOutput, type Workbench } from '../support/ui';

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

/** The ModelArts views in the sidebar (its activity icon closes the sidebar when they show already). */
async function showModelArts(page: Page): Promise<void> {
  if (await page.locator('.part.sidebar .pane-header', { hasText: 'Training Jobs' }).isVisible()) return;
  await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click();
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
    await answer(page, [['code folder or algorithm'], ['flavor'], ['hyperparameters', 'epochs=2'], ['inputs'], ['outputs'], ['name', 'cloud-ui-digits']], async (step, box) => {
      if (step !== 'flavor') return;
      // What each flavor costs, as far as the API says: a billing code, or free.
      await box.locator('.monaco-list-row', { hasText: 'billed per use: 1 × modelarts.vm.cpu.2u' }).waitFor();
      await box.locator('.monaco-list-row', { hasText: 'free of charge on ModelArts' }).waitFor();
      await screenshot(page, '72-cloud-flavor-costs');
    });
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

  it('opens the cloud job\'s panel: it says where the job runs, with its events', async function () {
    await contextMenu(page, await rowUnder(page, 'ModelArts', 'Training job cloud-ui-digits, Completed'), 'Show Job Details');
    const view = webview(page);
    await view.locator('h1', { hasText: 'cloud-ui-digits' }).waitFor({ timeout: 30_000 });
    assert.match(await view.locator('.overview').innerText(), /Runs on\s+ModelArts/);
    await view.locator('vscode-panel-tab', { hasText: /Events\s*[1-9]/ }).waitFor({ state: 'attached', timeout: 30_000 });
    // Training metrics from the log; CPU and memory from the service's metrics API.
    await view.locator('vscode-panel-tab', { hasText: 'Metrics' }).click();
    await view.locator('figure.chart', { hasText: 'loss' }).first().waitFor({ timeout: 30_000 });
    await view.locator('figure.chart[aria-label="CPU % (worker-0)"]').waitFor({ state: 'attached', timeout: 30_000 });
    assert.ok(Number(await view.locator('figure.chart[aria-label="CPU % (worker-0)"]').getAttribute('data-points')) > 0, 'CPU samples from ShowTrainingJobMetrics');
    assert.ok(fx.server.journal.requestsTo('ShowTrainingJobMetrics').length > 0);
    await page.waitForTimeout(500);
    await screenshot(page, '65-cloud-job-panel');
  });

  it('runs a local job on ModelArts from its menu, then compares the two runs\' metrics in one chart', async function () {
    await runCommand(page, 'ModelArts: Create Training Job');
    await (await quickInput(page, 'run on')).locator('.monaco-list-row[aria-label*=" Local (Docker), "]').click();
    await answer(page, [['code folder or algorithm'], ['flavor'], ['node count'], ['hyperparameters', 'epochs=3'], ['inputs'], ['outputs'], ['name', 'ui-local-digits'], ['review']]);
    const local = await rowUnder(page, 'Local', 'Training job ui-local-digits, Completed', 120_000);
    await contextMenu(page, local, 'Run on Another Backend…');
    await (await quickInput(page, 'Run ui-local-digits on')).locator('.monaco-list-row', { hasText: 'ModelArts' }).click();
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 30_000 });
    const said = await dialog.innerText();
    assert.match(said, /Uploaded to ModelArts[^:]*first: code folder/);
    assert.match(said, /input data_url/);
    assert.match(said, /engine PyTorch 1\.13-cpu → PyTorch pytorch_1\.13\.1/);
    await screenshot(page, '66-run-on-modelarts-confirmation');
    await dialog.locator('.monaco-button', { hasText: 'Run' }).click();
    const cloud = await rowUnder(page, 'ModelArts', 'Training job ui-local-digits, Completed', 180_000);
    await (await rowUnder(page, 'Local', 'Training job ui-local-digits, Completed')).click();
    await cloud.click({ modifiers: ['Control'] });
    await contextMenu(page, cloud, 'Compare Metrics');
    const view = webview(page);
    await view.locator('h1', { hasText: 'Compare Metrics' }).waitFor({ timeout: 30_000 });
    const loss = view.locator('figure.chart', { hasText: 'loss' }).first();
    await loss.waitFor({ timeout: 30_000 });
    const deadline = Date.now() + 30_000;
    while ((await loss.locator('.u-legend .u-series', { hasText: 'ui-local-digits' }).count()) < 2 && Date.now() < deadline) await page.waitForTimeout(250);
    assert.equal(await loss.locator('.u-legend .u-series', { hasText: 'ui-local-digits' }).count(), 2, 'one line per run: local and ModelArts');
    await page.waitForTimeout(500);
    await screenshot(page, '67-compare-local-and-cloud');
  });

  it('promotes a debug session to ModelArts from the rocket on the debug toolbar: Run on the account in its review', async function () {
    // Keys go to the workbench, not to a panel's webview.
    await treeRow(page, 'Backend ModelArts').focus();
    await runCommand(page, 'View: Close All Editors');
    const toolbar = await debugUntil(page, 'train_loss, train_acc = total_loss');
    try {
      await toolbar.locator('.action-label[aria-label^="Promote to Training Job"]').click();
      const review = await quickInput(page, 'Promote debug session');
      const elsewhere = review.locator('.monaco-list-row', { hasText: 'Run on ModelArts' });
      await elsewhere.waitFor({ timeout: 30_000 });
      await screenshot(page, '71-promote-run-on-modelarts');
      await elsewhere.click();
      await rowUnder(page, 'ModelArts', 'Training job digits', 180_000);
    } finally {
      await toolbar.locator('.action-label[aria-label^="Stop"]').first().click();
      await toolbar.waitFor({ state: 'hidden', timeout: 30_000 });
    }
    const created = fx.server.journal.requestsTo('CreateTrainingJob').at(-1)?.body as { algorithm: { parameters: Array<{ name: string; value: string }>; inputs: Array<{ name: string; remote: { obs: { obs_url: string } } }> } };
    assert.deepEqual(created.algorithm.parameters.map((p) => `${p.name}=${p.value}`).sort(), ['epochs=3', 'lr=0.01'], 'the session\'s hyperparameters');
    assert.match(created.algorithm.inputs[0]?.remote.obs.obs_url ?? '', /\/inputs\/data_url\/$/, 'its data folder uploaded to OBS');
  });

  it('follows a running cloud job: its CPU and memory grow live in the panel, and after a reload its panel and log channel come back for ModelArts', async function () {
    await runCommand(page, 'ModelArts: Create Training Job');
    await (await quickInput(page, 'run on')).locator('.monaco-list-row[aria-label*="ModelArts"]').click();
    await answer(page, [['code folder or algorithm'], ['flavor'], ['hyperparameters', 'epochs=100000'], ['inputs'], ['outputs'], ['name', 'ui-cloud-long'], ['review']]);
    const running = await rowUnder(page, 'ModelArts', 'Training job ui-cloud-long, Running', 120_000);
    await waitForOutput(page, (text) => /epoch \d+ loss/.test(text), 120_000);
    await contextMenu(page, running, 'Show Job Details');
    const view = webview(page);
    await view.locator('h1', { hasText: 'ui-cloud-long' }).waitFor({ timeout: 30_000 });
    await view.locator('vscode-panel-tab', { hasText: 'Metrics' }).click();
    const cpu = view.locator('figure.chart[aria-label="CPU % (worker-0)"]');
    await cpu.waitFor({ state: 'attached', timeout: 60_000 });
    const points = async () => Number((await cpu.getAttribute('data-points')) ?? 0);
    const first = await points();
    const deadline = Date.now() + 60_000;
    while ((await points()) <= first && Date.now() < deadline) await page.waitForTimeout(500);
    assert.ok((await points()) > first, `the CPU chart grew while the job runs (${first} → ${await points()} points)`);
    await screenshot(page, '73-cloud-metrics-live');

    await runCommand(page, 'Developer: Reload Window');
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    const back = webview(page);
    await back.locator('h1', { hasText: 'ui-cloud-long' }).waitFor({ timeout: 60_000 });
    await back.locator('vscode-panel-tab', { hasText: 'Overview' }).click();
    assert.match(await back.locator('.overview').innerText(), /Runs on\s+ModelArts/, 'the ModelArts job, not a local one');
    const channel = page.locator('.part.panel select.monaco-select-box option', { hasText: 'ui-cloud-long · ModelArts' });
    await channel.first().waitFor({ state: 'attached', timeout: 60_000 });
    await screenshot(page, '70-cloud-panel-after-reload');
  });

  it('stops the running cloud job (YES) and deletes it with its outputs (DELETE)', async function () {
    await showModelArts(page);
    const running = await rowUnder(page, 'ModelArts', 'Training job ui-cloud-long, Running', 60_000);
    await contextMenu(page, running, 'Stop Training Job');
    await confirm(page, 'Stop Training Job ui-cloud-long', 'YES', '68-stop-cloud-job');
    const stopped = await rowUnder(page, 'ModelArts', 'Training job ui-cloud-long, Terminated', 60_000);
    assert.deepEqual(fx.server.journal.requestsTo('StopTrainingJob').at(-1)?.body, { action_type: 'terminate' });
    await contextMenu(page, stopped, 'Delete Training Job');
    await confirm(page, 'Delete Training Job ui-cloud-long', 'DELETE', '69-delete-cloud-job');
    const outputs = await quickInput(page, 'its outputs');
    assert.match(await outputs.innerText(), new RegExp(`obs://${fx.bucket}/vscode/ui-cloud-long/outputs/train_url/`));
    await outputs.locator('.monaco-list-row', { hasText: 'Delete the outputs too' }).click();
    const deadline = Date.now() + 30_000;
    while (fx.server.journal.requestsTo('DeleteTrainingJob').length === 0 && Date.now() < deadline) await page.waitForTimeout(250);
    assert.equal(fx.server.journal.requestsTo('DeleteTrainingJob').length, 1, 'one delete sent');
    await page.waitForTimeout(1000);
    const rows = await page.locator('[role="treeitem"]').evaluateAll((all) => all.map((row) => row.getAttribute('aria-label') ?? ''));
    assert.ok(!rows.some((label) => label.includes('ui-cloud-long')), `the deleted job's row went: ${rows.join(' | ')}`);
  });

  it('shows the account\'s OBS buckets under its own root in the Datasets view, beside the local store', async function () {
    await showModelArts(page);
    // Room for the bucket list: the other two views folded away meanwhile.
    const header = (name: string) => page.locator('.part.sidebar .pane-header', { hasText: name });
    const fold = async (name: string, expanded: boolean) => {
      if (((await header(name).getAttribute('aria-expanded')) === 'true') !== expanded) await header(name).click();
    };
    await fold('Training Jobs', false);
    await fold('Algorithms', false);
    await fold('Datasets', true);
    const cloudRoot = page.locator('.part.sidebar [role="treeitem"][aria-label^="Store ModelArts"]');
    await cloudRoot.waitFor({ timeout: 30_000 });
    await page.locator('.part.sidebar [role="treeitem"][aria-label^="Store Local"]').waitFor();
    await cloudRoot.click();
    const bucket = page.locator(`.part.sidebar [role="treeitem"][aria-label^="Bucket ${fx.bucket},"]`);
    await bucket.waitFor({ timeout: 30_000 });
    await bucket.click();
    const folder = page.locator(`.part.sidebar [role="treeitem"][aria-label="Folder vscode, obs://${fx.bucket}/vscode/"]`);
    await folder.waitFor({ timeout: 30_000 });
    await folder.click();
    await page.locator(`.part.sidebar [role="treeitem"][aria-label^="Folder cloud-ui-digits, obs://${fx.bucket}/vscode/cloud-ui-digits/"]`).waitFor({ timeout: 30_000 });
    await screenshot(page, '74-datasets-obs-under-account');
    await fold('Training Jobs', true);
    await fold('Algorithms', true);
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
});
