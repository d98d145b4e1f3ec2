/** Helpers for the suites that run inside the VS Code extension host. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { ModelArtsApi } from '../../src/api';
import type { JobSource } from './jobs';

export const EXTENSION_ID = 'modelarts-training.modelarts-training';

/** A line in the suite's report (the host's console goes to the browser). */
export function report(line: string): void {
  const file = process.env.MODELARTS_TEST_LOG;
  if (file) fs.appendFileSync(file, `      · ${line}\n`);
}

/** Activates the extension (if no suite did yet) and waits until its engine is available. */
export async function activateApi(): Promise<ModelArtsApi> {
  const extension = vscode.extensions.getExtension<ModelArtsApi>(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is loaded`);
  const api = await extension.activate();
  if (api.engine.state.kind === 'available') return api;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the engine did not become available: ${JSON.stringify(api.engine.state)}`)), 30_000);
    const subscription = api.engine.onDidChangeState((state) => {
      if (state.kind !== 'available') return;
      clearTimeout(timer);
      subscription.dispose();
      resolve();
    });
  });
  return api;
}

/** The API's jobs as a JobSource for the shared waits. */
export function jobSource(api: ModelArtsApi): JobSource {
  return { onDidChangeJob: api.jobs.onDidChange, getJob: (id) => api.jobs.get(id) };
}

/** Asserts that `promise` rejects with a message containing each of `words`; returns the error. */
export async function rejectsNaming(promise: Thenable<unknown>, ...words: string[]): Promise<Error> {
  let caught: Error | undefined;
  await assert.rejects(Promise.resolve(promise), (error: Error) => {
    for (const word of words) assert.ok(error.message.includes(word), `the error names ${word}: ${error.message}`);
    caught = error;
    return true;
  });
  return caught as Error;
}

interface MenuEntry {
  readonly command: string;
  readonly when?: string;
}

/**
 * Whether the context menu of a tree item with `contextValue` in `view` offers `command`, by
 * evaluating the package.json `when` clauses of the form `view == X && viewItem =~ /re/`.
 */
export function menuOffers(command: string, view: string, contextValue: string): boolean {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  const menus = (extension?.packageJSON as { contributes: { menus: Record<string, MenuEntry[]> } }).contributes.menus['view/item/context'] ?? [];
  return menus.some((entry) => {
    if (entry.command !== command || !entry.when) return false;
    return entry.when.split('&&').every((term) => {
      const clause = term.trim();
      const equals = /^view == (\S+)$/.exec(clause);
      if (equals) return equals[1] === view;
      const match = /^viewItem =~ \/(.*)\/$/.exec(clause);
      if (match) return new RegExp(match[1] ?? '').test(contextValue);
      throw new Error(`menuOffers cannot evaluate "${clause}" of ${command}`);
    });
  });
}
