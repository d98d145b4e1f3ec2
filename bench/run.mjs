// Runs every benchmark, one after another, each in its own node process (so RSS figures are its
// own), then prints one summary line per benchmark. Needs the test build: npm run bench builds it.
//   node bench/run.mjs [name ...]      e.g. node bench/run.mjs storeList
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, printTable } from './common.mjs';

const BENCHMARKS = ['stateLatency', 'logThroughput', 'storeList', 'jobsTree', 'logChannel', 'debugStart', 'panelRender', 'activation', 'upload', 'cloudJobList', 'cloudLogDelay', 'cloudUpload'];
const wanted = process.argv.slice(2);
const rows = [];
for (const name of BENCHMARKS) {
  if (wanted.length && !wanted.includes(name)) continue;
  const file = path.join(ROOT, 'bench', `${name}.mjs`);
  if (!fs.existsSync(file)) continue; // upload.mjs is optional
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [file], { stdio: 'inherit', cwd: ROOT });
  const outcome = result.status === 0 ? 'target met' : result.status === 1 ? 'TARGET MISSED' : `ERROR (exit ${result.status ?? result.signal})`;
  rows.push([name, outcome, `${((Date.now() - started) / 1000).toFixed(0)} s`]);
}
printTable('Benchmarks', ['benchmark', 'outcome', 'took'], rows);
process.exit(rows.every((row) => row[1] === 'target met') ? 0 : 1);
