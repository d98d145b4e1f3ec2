// Summarises V8 CPU profiles (node --cpu-prof): self time per function, top N, with its file.
//   node bench/profileTop.mjs <profile.cpuprofile | folder of them> [--top 15]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { printTable } from './common.mjs';

const [target = '.', ...rest] = process.argv.slice(2);
const top = rest.includes('--top') ? Number(rest[rest.indexOf('--top') + 1]) : 15;
const files = fs.statSync(target).isDirectory()
  ? fs.readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(target, f))
  : [target];

for (const file of files) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  // timeDeltas[i] is the time before samples[i].
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = profile.endTime - profile.startTime;
  const byFunction = new Map();
  for (const [id, micros] of self) {
    const { callFrame } = byNode.get(id);
    const where = callFrame.url ? `${path.basename(callFrame.url)}:${callFrame.lineNumber + 1}` : '';
    const key = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
  }
  const rows = [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, micros]) => [key, micros / 1000, `${((100 * micros) / total).toFixed(1)}%`]);
  printTable(`${path.basename(file)}: self time, ${(total / 1e6).toFixed(1)} s profiled`, ['function', 'ms', 'share'], rows);
}
