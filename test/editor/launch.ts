/**
 * Runs the editor suite inside a real VS Code extension host: code-server with this extension
 * loaded (extensionDevelopmentPath) and the suite's run() entry (extensionTestsPath), the same
 * payload @vscode/test-electron passes to a downloaded VS Code. The workbench reports the end
 * through window.codeAutomationExit.
 *   node out/test/editor/launch.js [grep]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodeServer, REPO_ROOT, RESULTS_DIR, openBrowser, screenshot } from '../support/codeServer';
import type { SuiteResult } from '../support/mocha';

const TIMEOUT_MS = 15 * 60_000;

async function main(): Promise<number> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const logFile = path.join(RESULTS_DIR, 'editor.log');
  const resultFile = path.join(RESULTS_DIR, 'editor.json');
  fs.rmSync(logFile, { force: true });
  fs.rmSync(resultFile, { force: true });
  fs.writeFileSync(logFile, '');

  const server = await CodeServer.start({
    env: {
      MODELARTS_TEST_LOG: logFile,
      MODELARTS_TEST_RESULT: resultFile,
      ...(process.argv[2] ? { MODELARTS_TEST_GREP: process.argv[2] } : {}),
    },
  });
  const session = await openBrowser();
  // Print the suite's report as the extension host writes it.
  let printed = 0;
  const tail = setInterval(() => {
    const text = fs.readFileSync(logFile, 'utf8');
    if (text.length > printed) {
      process.stdout.write(text.slice(printed));
      printed = text.length;
    }
  }, 250);
  try {
    const exited = new Promise<number>((resolve) => {
      void session.page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    const folder = path.join(REPO_ROOT, 'examples', 'digits');
    await session.page.goto(
      server.workbenchUrl(folder, [
        ['extensionDevelopmentPath', server.remoteUri(REPO_ROOT)],
        ['extensionTestsPath', server.remoteUri(path.join(REPO_ROOT, 'out', 'test', 'editor', 'index'))],
      ]),
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-1), TIMEOUT_MS)));
    const code = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (code === -1) {
      await screenshot(session.page, 'editor-timeout').catch(() => undefined);
      console.error(`editor suite: no result within ${TIMEOUT_MS / 60_000} minutes; code-server log: ${server.logFile}`);
    }
    clearInterval(tail);
    const text = fs.readFileSync(logFile, 'utf8');
    process.stdout.write(text.slice(printed));
    if (!fs.existsSync(resultFile)) {
      // The host never reported (it crashed, or the extension failed to load): that is a failure.
      const result: SuiteResult = {
        suite: 'editor',
        passed: 0,
        failed: 1,
        skipped: 0,
        durationMs: 0,
        failures: [{ title: 'editor suite', error: `no result (exit code ${code}); see ${server.logFile}` }],
      };
      fs.writeFileSync(resultFile, JSON.stringify(result, null, 2));
      console.error(result.failures[0]?.error);
      return 1;
    }
    return code === 0 ? 0 : 1;
  } finally {
    clearInterval(tail);
    await session.browser.close().catch(() => undefined);
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
