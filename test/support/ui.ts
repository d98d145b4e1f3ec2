/** Playwright steps shared by the UI suites (VS Code in code-server, driven like a person would). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { CodeServer, REPO_ROOT, openBrowser, screenshot, type BrowserSession, type CodeServerOptions } from './codeServer';

export const DIGITS = path.join(REPO_ROOT, 'examples', 'digits');

/** code-server with this extension, opened in Chromium on a folder (examples/digits by default). */
export interface Workbench {
  readonly server: CodeServer;
  readonly session: BrowserSession;
  readonly page: Page;
  close(): Promise<void>;
}

export interface WorkbenchOptions extends CodeServerOptions {
  /** Folders of further extensions (test/fixtures/…), installed beside this one for the window. */
  readonly extensions?: readonly string[];
}

/**
 * Installs an extension folder into the server's extensions folder, as a package whose entry
 * requires the folder's own main. (A workbench URL takes one extensionDevelopmentPath only.)
 */
function installExtension(home: string, folder: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string; main: string };
  const target = path.join(home, 'extensions', `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(path.join(target, 'package.json'), JSON.stringify({ ...manifest, main: './extension.js' }, null, 2));
  fs.writeFileSync(path.join(target, 'extension.js'), `module.exports = require(${JSON.stringify(path.resolve(folder, manifest.main))});\n`);
}

export async function openWorkbench(options: WorkbenchOptions = {}, folder = DIGITS): Promise<Workbench> {
  const home = options.extensions?.length ? (options.home ?? fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-code-server-'))) : options.home;
  for (const extension of home ? (options.extensions ?? []) : []) installExtension(home as string, extension);
  const server = await CodeServer.start({ ...options, ...(home ? { home } : {}) });
  const session = await openBrowser().catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  const { page } = session;
  await page.goto(server.workbenchUrl(folder, [['extensionDevelopmentPath', server.remoteUri(REPO_ROOT)]]));
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  return {
    server,
    session,
    page,
    async close() {
      await session.browser.close().catch(() => undefined);
      await server.stop();
    },
  };
}

/** Runs a command from the palette (F1) by its exact title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await page.locator('.quick-input-widget .monaco-list-row', { has: page.locator('.label-name', { hasText: exact }) }).first().click();
}

/** Waits for the quick input titled `title` (a step of a command) and returns its box. */
export async function quickInput(page: Page, title: string) {
  const widget = page.locator('.quick-input-widget', { has: page.locator('.quick-input-title', { hasText: title }) });
  await widget.waitFor({ state: 'visible', timeout: 30_000 });
  return widget;
}

export async function outputText(page: Page): Promise<string> {
  return (await page.locator('.part.panel .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
}

/** Polls the visible Output channel until `predicate` holds; returns its text. */
export async function waitForOutput(page: Page, predicate: (text: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await outputText(page).catch(() => '');
    if (predicate(text)) return text;
    await page.waitForTimeout(250);
  }
  throw new Error(`the Output panel did not show what was expected; it shows:\n${text}`);
}

/** A row of a sidebar tree whose accessible label contains `label`. */
export function treeRow(page: Page, label: string) {
  return page.locator(`.part.sidebar [role="treeitem"][aria-label*=${JSON.stringify(label)}]`);
}

/**
 * Right-clicks `row` and chooses `entry`. A menu ignores a click that comes right after it opened,
 * so the click is retried until the menu closes.
 */
export async function contextMenu(page: Page, row: Locator, entry: string): Promise<void> {
  await row.click({ button: 'right' });
  const item = page.locator('.context-view .monaco-menu .action-item .action-label', { hasText: entry }).first();
  await item.waitFor({ state: 'visible', timeout: 10_000 });
  for (let attempt = 0; attempt < 5 && (await item.isVisible()); attempt += 1) {
    await item.hover();
    await page.waitForTimeout(200);
    await item.click().catch(() => undefined);
    await item.waitFor({ state: 'hidden', timeout: 1000 }).catch(() => undefined);
  }
  if (await item.isVisible()) throw new Error(`the context menu entry "${entry}" did not respond`);
}

/** The labels of the context menu `row` offers (the menu is closed again). */
export async function contextMenuEntries(page: Page, row: Locator): Promise<string[]> {
  await row.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.waitFor({ state: 'visible', timeout: 10_000 });
  const labels = (await menu.locator('.action-item .action-label').allInnerTexts()).map((label) => label.trim()).filter(Boolean);
  await page.keyboard.press('Escape');
  await menu.waitFor({ state: 'hidden', timeout: 5000 });
  return labels;
}

/** Creates a digits job through the wizard with these hyperparameters and name. */
export async function createDigitsJob(page: Page, parameters: string, name: string): Promise<void> {
  await runCommand(page, 'ModelArts: Create Training Job');
  const answers: Array<[step: string, value?: string]> = [
    ['code folder or algorithm'],
    ['flavor'],
    ['node count'],
    ['hyperparameters', parameters],
    ['inputs'],
    ['outputs'],
    ['name', name],
    ['review'],
  ];
  for (const [step, value] of answers) {
    const box = await quickInput(page, step);
    if (value !== undefined) await box.locator('input').fill(value);
    await page.keyboard.press('Enter');
  }
}

/** Types `answer` into the confirmation box titled `title` and accepts it. */
export async function confirm(page: Page, title: string, answer: string, shot: string): Promise<void> {
  const box = await quickInput(page, title);
  await box.locator('input').fill(answer.toLowerCase());
  await box.locator('.quick-input-message', { hasText: `Type ${answer}` }).waitFor();
  await box.locator('input').fill(answer);
  await screenshot(page, shot);
  await page.keyboard.press('Enter');
}

/**
 * The row whose label contains `label` under the root of backend `backend`, once there is one (rows
 * of one name are told apart by their root): the list's rows in their visual order (data-index),
 * the ones after that root and before the next.
 */
export async function rowUnder(page: Page, backend: string, label: string, timeoutMs = 30_000): Promise<Locator> {
  const view = page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: 'Training Jobs' }) });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await view.locator('[role="treeitem"]').evaluateAll((elements) =>
      elements.map((row) => ({ index: Number(row.getAttribute('data-index')), level: row.getAttribute('aria-level'), label: row.getAttribute('aria-label') ?? '' })),
    );
    rows.sort((a, b) => a.index - b.index);
    const root = rows.findIndex((row) => row.level === '1' && row.label.startsWith(`Backend ${backend}`));
    const next = rows.findIndex((row, i) => i > root && row.level === '1');
    const found = root < 0 ? undefined : rows.slice(root + 1, next < 0 ? undefined : next).find((row) => row.label.includes(label));
    if (found) return view.locator(`[role="treeitem"][data-index="${found.index}"]`);
    if (Date.now() > deadline) throw new Error(`no row "${label}" under ${backend}: ${rows.map((row) => `${row.level}:${row.label}`).join(' | ')}`);
    await page.waitForTimeout(250);
  }
}

/** Answers a flow's steps in order (Enter after each), with a look at each box first when `check` is given. */
export async function answer(page: Page, steps: Array<[step: string, value?: string]>, check?: (step: string, box: Locator) => Promise<void>): Promise<void> {
  for (const [step, value] of steps) {
    const box = await quickInput(page, step);
    await check?.(step, box);
    if (value !== undefined) await box.locator('input').fill(value);
    await page.keyboard.press('Enter');
  }
}


/**
 * Opens the digits example's train.py at the line holding `lineText`, sets a breakpoint there,
 * starts debugging (the workspace's launch configuration) and waits until it stops there.
 */
export async function debugUntil(page: Page, lineText: string): Promise<Locator> {
  const line = fs.readFileSync(path.join(DIGITS, 'train.py'), 'utf8').split('\n').findIndex((text) => text.includes(lineText)) + 1;
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill(`train.py:${line}`);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'train.py' }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.editor-group-container .tab.active', { hasText: 'train.py' }).waitFor();
  await runCommand(page, 'Debug: Toggle Breakpoint');
  await runCommand(page, 'Debug: Start Debugging');
  const toolbar = page.locator('.debug-toolbar');
  await toolbar.waitFor({ timeout: 120_000 });
  await page.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 120_000 });
  return toolbar;
}
