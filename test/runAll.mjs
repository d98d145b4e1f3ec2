// Runs every test suite and ends with one line totalling them all: `<N> passed, <M> failed, <K> skipped`.
//   node test/runAll.mjs [unit] [contract] [integration] [editor] [ui]     (default: all, in that order)
// Each suite runs in its own process and leaves out/test-results/<suite>.json; a suite that dies
// without a result counts as failed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'out');
const SUITES = {
  unit: ['out/test/support/nodeSuite.js', 'unit'],
  contract: ['out/test/support/nodeSuite.js', 'contract'],
  integration: ['out/test/support/nodeSuite.js', 'integration'],
  editor: ['out/test/editor/launch.js'],
  ui: ['out/test/support/nodeSuite.js', 'ui'],
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in SUITES)) {
    console.error(`unknown suite "${name}"; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
}
const names = wanted.length ? wanted : Object.keys(SUITES);
const totals = { passed: 0, failed: 0, skipped: 0 };
const lines = [];
const started = Date.now();

for (const name of names) {
  const resultFile = join(out, 'test-results', `${name}.json`);
  rmSync(resultFile, { force: true });
  const suiteStarted = Date.now();
  const run = spawnSync(process.execPath, SUITES[name].map((part, i) => (i === 0 ? join(root, part) : part)), {
    cwd: root,
    stdio: 'inherit',
  });
  let result;
  if (existsSync(resultFile)) {
    result = JSON.parse(readFileSync(resultFile, 'utf8'));
  } else {
    result = { passed: 0, failed: 1, skipped: 0 };
    console.error(`suite ${name} ended (exit ${run.status ?? run.signal}) without a result: counted as failed`);
  }
  // A suite that reported no failure but exited badly still failed.
  if (result.failed === 0 && run.status !== 0) result.failed = 1;
  totals.passed += result.passed;
  totals.failed += result.failed;
  totals.skipped += result.skipped;
  lines.push(`  ${name.padEnd(12)} ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped (${((Date.now() - suiteStarted) / 1000).toFixed(1)} s)`);
}

console.log(`\nTest suites (${((Date.now() - started) / 1000).toFixed(1)} s):\n${lines.join('\n')}`);
console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(totals.failed > 0 ? 1 : 0);
