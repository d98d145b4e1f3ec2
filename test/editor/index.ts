/**
 * Entry of the editor suite, in @vscode/test-electron's convention: the extension host loads this
 * module (extensionTestsPath) and awaits `run()`. Here it runs inside code-server; the report goes
 * to the files test/editor/launch.ts names, since the host's console goes to the browser.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID } from '../support/editor';
import { findTestFiles, runMocha } from '../support/mocha';

/** Whether anything activated the extension before the suites ran (it should wait for its views or commands). */
export let activeBeforeSuites: boolean | undefined;

export async function run(): Promise<void> {
  const logFile = process.env.MODELARTS_TEST_LOG;
  const write = (line: string) => {
    if (logFile) fs.appendFileSync(logFile, line + '\n');
    else console.log(line);
  };
  activeBeforeSuites = vscode.extensions.getExtension(EXTENSION_ID)?.isActive;
  const result = await runMocha({
    suite: 'editor',
    files: findTestFiles(path.join(__dirname)).filter((file) => !file.endsWith('index.js')),
    timeoutMs: 180_000,
    write,
    ...(process.env.MODELARTS_TEST_RESULT ? { resultFile: process.env.MODELARTS_TEST_RESULT } : {}),
    ...(process.env.MODELARTS_TEST_GREP ? { grep: process.env.MODELARTS_TEST_GREP } : {}),
  });
  if (result.failed > 0) throw new Error(`${result.failed} editor test(s) failed`);
}
