/**
 * The job details panel as a user sees it (code-server in Chromium): a running digits job's panel
 * updating its phase and loss chart live, Stop inside the panel, the events grid filtered to one
 * level, and the panel restored after a window reload. Screenshots land in out/test-results/screenshots.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { screenshot } from '../support/codeServer';
import { confirm, contextMenu, createDigitsJob, openWorkbench, runCommand, treeRow, type Workbench } from '../support/ui';

/** The content of the visible webview (VS Code nests it in two iframes). */
function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').last().frameLocator('#active-frame');
}

describe('The job details panel in the VS Code window', function () {
  let workbench: Workbench | undefined;
  let page: Page;

  before(async function () {
    workbench = await openWorkbench();
    page = workbench.page;
    page.on('console', (message) => {
      if (message.type() === 'warning' || message.type() === 'error') console.log(`      [console] ${message.text().slice(0, 300)}`);
    });
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click({ timeout: 60_000 });
    await page.locator('.part.sidebar').getByText('No training jobs yet.').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await workbench?.close();
  });

  it('shows a running job live: phase, overview, and its loss chart growing', async function () {
    await createDigitsJob(page, 'epochs=400', 'panel-live');
    await treeRow(page, 'Training job panel-live, Running').waitFor({ timeout: 120_000 });
    await contextMenu(page, treeRow(page, 'Training job panel-live, Running'), 'Show Job Details');
    const view = webview(page);
    await view.locator('h1', { hasText: 'panel-live' }).waitFor({ timeout: 30_000 });
    await view.locator('.phase', { hasText: 'Running' }).waitFor({ timeout: 30_000 });
    assert.match(await view.locator('code.command').innerText(), /train\.py .*--epochs=400/);
    await screenshot(page, '30-panel-overview-running');
    await view.locator('vscode-panel-tab', { hasText: 'Metrics' }).click();
    await view.locator('figure.chart', { hasText: 'loss' }).first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(2000);
    await screenshot(page, '31-panel-metrics-live');
  });

  it('Stop in the panel asks for YES and terminates the job; the panel follows', async function () {
    const view = webview(page);
    await view.locator('vscode-panel-tab', { hasText: 'Overview' }).click();
    await view.locator('vscode-button', { hasText: 'Stop' }).click();
    await confirm(page, 'Stop Training Job panel-live', 'YES', '32-panel-stop-confirmation');
    await view.locator('.phase', { hasText: 'Terminated' }).waitFor({ timeout: 60_000 });
    assert.equal(await view.locator('vscode-button', { hasText: 'Stop' }).count(), 0, 'Stop is no longer offered');
    await view.locator('vscode-button', { hasText: 'Delete' }).waitFor();
    await screenshot(page, '33-panel-terminated');
  });

  it('filters the events grid to one level, newest first', async function () {
    const view = webview(page);
    await view.locator('vscode-panel-tab', { hasText: 'Events' }).click();
    const summary = view.locator('.summary');
    await summary.waitFor();
    const total = Number(/of (\d+) events/.exec(await summary.innerText())?.[1]);
    assert.ok(total >= 5, `the stopped job has its events: ${await summary.innerText()}`);
    const pick = async (level: string) => {
      await view.locator('vscode-dropdown').click();
      await view.locator('vscode-option', { hasText: level }).click();
    };
    const cells = (column: number) => view.locator(`.events-grid vscode-data-grid-row:not([row-type="sticky-header"]) vscode-data-grid-cell[grid-column="${column}"]`).allInnerTexts();
    const shown = async () => Number(/^(\d+) of/.exec(await summary.innerText())?.[1]);
    await pick('Info');
    await view.locator('.summary', { hasNotText: `${total} of ${total}` }).waitFor({ timeout: 10_000 });
    const infos = await shown();
    assert.deepEqual([...new Set(await cells(2))], ['Info']);
    const times = await cells(1);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    await pick('Error');
    await view.locator('.summary', { hasText: `${total - infos} of ${total} events` }).waitFor({ timeout: 10_000 });
    assert.deepEqual([...new Set(await cells(2))], ['Error'], 'only errors: the exit code 143 of the stopped task');
    assert.match((await cells(4))[0] ?? '', /Exit code 143/);
    await screenshot(page, '34-panel-events-errors');
  });

  it('is restored after a window reload', async function () {
    await runCommand(page, 'Developer: Reload Window');
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    const view = webview(page);
    await view.locator('h1', { hasText: 'panel-live' }).waitFor({ timeout: 60_000 });
    await view.locator('.phase', { hasText: 'Terminated' }).waitFor({ timeout: 30_000 });
    // The tab and the filter were UI state, kept with setState.
    await view.locator('.summary').waitFor({ timeout: 10_000 });
    await screenshot(page, '35-panel-after-reload');
  });

  it('compares two jobs\' metrics in one chart per metric', async function () {
    await createDigitsJob(page, 'epochs=15 lr=0.05', 'panel-short');
    const short = treeRow(page, 'Training job panel-short, Completed');
    await short.waitFor({ timeout: 120_000 });
    const live = treeRow(page, 'Training job panel-live,');
    await live.click();
    await short.click({ modifiers: ['Control'] });
    await contextMenu(page, short, 'Compare Metrics');
    const view = webview(page);
    await view.locator('h1', { hasText: 'Compare Metrics' }).waitFor({ timeout: 30_000 });
    await view.locator('.compare-job', { hasText: 'panel-live' }).waitFor();
    await view.locator('.compare-job', { hasText: 'panel-short' }).waitFor();
    const loss = view.locator('figure.chart', { hasText: 'loss' }).first();
    await loss.waitFor({ timeout: 30_000 });
    // uPlot's legend lists one line per job.
    await loss.locator('.u-legend .u-series', { hasText: 'panel-live' }).waitFor();
    await loss.locator('.u-legend .u-series', { hasText: 'panel-short' }).waitFor();
    await page.waitForTimeout(500);
    await screenshot(page, '37-compare-metrics');
  });
});

describe('The job details panel with hostile text', function () {
  const PAYLOAD = '<img src=x onerror=alert(1)>';
  let workbench: Workbench | undefined;
  let page: Page;
  let folder: string;
  const dialogs: string[] = [];

  before(async function () {
    // A workspace with a job spec whose description, hyperparameter and log carry markup.
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-xss-'));
    fs.writeFileSync(path.join(folder, 'xss.py'), `print(${JSON.stringify(PAYLOAD)})\nprint("epoch 1 loss 0.5")\n`);
    fs.writeFileSync(
      path.join(folder, 'xss.job.json'),
      JSON.stringify({
        kind: 'job',
        metadata: { name: 'xss', description: PAYLOAD },
        algorithm: { code_dir: '.', boot_file: 'xss.py', engine: { engine_name: 'PyTorch', engine_version: '1.13-cpu' }, parameters: [{ name: 'note', value: PAYLOAD }] },
        spec: { resource: { flavor_id: 'modelarts.local.cpu.1u2g' } },
      }, null, 2),
    );
    workbench = await openWorkbench({}, folder);
    page = workbench.page;
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').waitFor({ timeout: 60_000 });
  });

  after(async function () {
    await workbench?.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('shows a description, a hyperparameter and a log line holding <img onerror> as text, and runs no script', async function () {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('xss.job.json');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'xss.job.json' }).first().click();
    await page.locator('.editor-group-container .tab.active', { hasText: 'xss.job.json' }).waitFor();
    // The spec file's editor title offers the command.
    await page.locator('.editor-actions .action-label[aria-label^="Create Training Job from This Spec"]').first().click({ timeout: 30_000 });
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click();
    const row = treeRow(page, 'Training job xss, Completed');
    await row.waitFor({ timeout: 120_000 });
    await contextMenu(page, row, 'Show Job Details');
    const view = webview(page);
    await view.locator('h1', { hasText: 'xss' }).waitFor({ timeout: 30_000 });
    assert.equal(await view.locator('.description').innerText(), PAYLOAD, 'the description is shown as text');
    await view.locator('vscode-data-grid-cell', { hasText: PAYLOAD }).first().waitFor();
    await view.locator('.log-tail', { hasText: PAYLOAD }).waitFor({ timeout: 30_000 });
    assert.equal(await view.locator('img').count(), 0, 'no <img> element was made from the text');
    await view.locator('vscode-panel-tab', { hasText: 'Metrics' }).click();
    await view.locator('figure.chart', { hasText: 'loss' }).waitFor({ timeout: 30_000 });
    await view.locator('vscode-panel-tab', { hasText: 'Overview' }).click();
    await screenshot(page, '36-panel-hostile-text');
    assert.deepEqual(dialogs, [], 'no alert ran');
  });
});
