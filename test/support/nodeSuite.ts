/**
 * Runs one mocha suite in plain Node: `node out/test/support/nodeSuite.js <unit|contract|integration|ui> [grep]`.
 */
import * as path from 'node:path';
import { findTestFiles, runMocha } from './mocha';

const TIMEOUTS: Record<string, number> = { unit: 10_000, contract: 120_000, integration: 180_000, ui: 300_000 };

async function main(): Promise<void> {
  const suite = process.argv[2];
  if (!suite || !(suite in TIMEOUTS)) {
    console.error(`usage: nodeSuite.js <${Object.keys(TIMEOUTS).join('|')}> [grep]`);
    process.exit(2);
  }
  const outDir = path.resolve(__dirname, '..');
  const result = await runMocha({
    suite,
    files: findTestFiles(path.join(outDir, suite)),
    timeoutMs: TIMEOUTS[suite] ?? 10_000,
    write: (line) => process.stdout.write(line + '\n'),
    resultFile: path.join(outDir, '..', 'test-results', `${suite}.json`),
    ...(process.argv[3] ? { grep: process.argv[3] } : {}),
  });
  // Open handles (Docker streams, browsers) must not keep a finished run alive.
  process.exit(result.failed > 0 ? 1 : 0);
}

void main();
