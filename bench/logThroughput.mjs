// Log throughput: a job prints 1,000,000 lines; lines/second through the engine's pipeline (Docker
// log stream → demuxer → task log file, and followLog reading it back) against `docker logs -f` on
// the SAME container in the same run, both timed from the container's start (Docker's start event).
// Ratio = ours / docker logs (target ≥ 0.9). Also the node process's peak RSS, and a check that
// every line is there, once, in order. Median of 3 rounds.
// The engine runs with its defaults: the phase turns final logDrainMs after the exit while the
// log is read on to its end, so every line must still arrive.
//   node bench/logThroughput.mjs [--rounds 3] [--lines 1000000]
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/logThroughput.mjs --rounds 1 && node bench/profileTop.mjs /tmp/prof
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import Docker from 'dockerode';
import { PRESET_ENGINE, median, nowMs, numberOption, outModule, printTable, quietLogger, removeContainersOf, removeFolders, requireDocker, runIfMain, tempFolder, verdict, LINE_PRINTER_BOOT as BOOT, expectedLine } from './common.mjs';

const TARGET_RATIO = 0.9;


export async function run({ rounds = numberOption('--rounds', 3), lines = numberOption('--lines', 1_000_000) } = {}) {
  requireDocker();
  const { LocalBackend } = outModule('src/backends/local/localBackend');
  const { LABELS } = outModule('src/backends/local/docker');
  const { isTerminalPhase } = outModule('src/core/lifecycle');
  const docker = new Docker();
  const dataDir = tempFolder('logs-data');
  const codeDir = tempFolder('logs-code', { 'spam.py': BOOT });
  const logger = quietLogger();
  const engine = new LocalBackend({ dataDir, dockerHost: '', logger });
  let expectedBytes = 0;
  for (let i = 0; i < lines; i++) expectedBytes += expectedLine(i).length + 1;

  // Docker's start events of this backend's containers: the common start time, and the cue for
  // `docker logs -f`; their die events: when the task exited (the container is removed once its log is read).
  const starts = new Map(); // container id → { startMs, docker: Promise<result> }
  const exits = new Map(); // container id → exit time (ms)
  const events = await docker.getEvents({ filters: { type: ['container'], event: ['start', 'die'], label: [`${LABELS.store}=${engine.storeId}`] } });
  let partial = '';
  events.on('data', (chunk) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop();
    for (const line of parts.filter((l) => l.trim())) {
      const { Actor, Action } = JSON.parse(line);
      const atMs = Number(BigInt(/"timeNano":(\d+)/.exec(line)[1]) / 1000n) / 1000;
      if (Action === 'die') exits.set(Actor.ID, atMs);
      else starts.set(Actor.ID, { startMs: atMs, docker: dockerLogs(Actor.ID, lines) });
    }
  });

  const state = await engine.connect();
  if (state.kind !== 'available') throw new Error(`engine not available: ${JSON.stringify(state)}`);
  const results = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      let peakRss = process.memoryUsage().rss;
      const cpuBefore = process.cpuUsage();
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
      const job = await engine.createJob({
        kind: 'job',
        metadata: { name: `bench-logs-${round}` },
        algorithm: { code_dir: codeDir, boot_file: 'spam.py', engine: { ...PRESET_ENGINE }, parameters: [{ name: 'lines', value: lines }] },
      });
      const id = job.metadata.id;
      const containerId = engine.runtime.store.get(id).local.containers['worker-0'];
      const logFile = engine.runtime.store.logFile(id, 'worker-0');

      // Ours (1): the task log file holds every byte. Polled every 5 ms (≤ 5 ms of error).
      let poll;
      const fileDone = new Promise((resolve) => {
        poll = setInterval(() => {
          fs.stat(logFile, (error, stat) => {
            if (error || stat.size < expectedBytes) return;
            clearInterval(poll);
            resolve({ at: nowMs(), size: stat.size });
          });
        }, 5);
      });
      // Ours (2): followLog, as the log output channel reads it, has yielded every line.
      const followDone = (async () => {
        let count = 0;
        let first;
        let last;
        let doneAt;
        for await (const batch of engine.followLog(id, 'worker-0')) {
          first ??= batch[0];
          count += batch.length;
          last = batch.at(-1);
          if (count >= lines && doneAt === undefined) doneAt = nowMs();
        }
        return { count, first, last, at: doneAt };
      })();

      const warningsBefore = logger.problems.length;
      const follow = await followDone;
      // followLog ends once the job is final and its capture is over: the file is then final too.
      const file = await Promise.race([
        fileDone,
        new Promise((resolve) => setTimeout(resolve, 100)).then(() => ({ at: Infinity, size: fs.statSync(logFile).size })),
      ]);
      clearInterval(poll);
      const terminal = await waitTerminal(engine, id, isTerminalPhase);
      const started = starts.get(containerId);
      if (!started) throw new Error('no start event seen for the container');
      const theirs = await started.docker;
      clearInterval(sampler);
      const cpu = process.cpuUsage(cpuBefore);
      const check = await checkFile(logFile, lines);
      const seconds = (at) => (at - started.startMs) / 1000;
      const exitMs = exits.get(containerId) ?? Infinity;
      const r = {
        round,
        phase: terminal.status.phase,
        fileS: seconds(file.at),
        exitS: seconds(exitMs),
        followS: follow.count >= lines ? seconds(follow.at) : Infinity,
        dockerS: seconds(theirs.at),
        peakRssMiB: peakRss / 2 ** 20,
        cpuS: (cpu.user + cpu.system) / 1e6,
        complete:
          check.ok &&
          follow.count === lines &&
          follow.first === expectedLine(0) &&
          follow.last === expectedLine(lines - 1) &&
          theirs.count === lines &&
          theirs.last === expectedLine(lines - 1),
        detail: `file: ${check.detail} (${file.size} of ${expectedBytes} bytes); followLog: ${follow.count} lines; docker logs: ${theirs.count} lines; engine said: ${logger.problems.slice(warningsBefore).join(' | ') || 'nothing'}`,
      };
      results.push(r);
      if (!r.complete || r.phase !== 'Completed') console.log(`round ${round}: INCOMPLETE (${r.phase}) ${r.detail}`);
    }
  } finally {
    engine.dispose();
    events.destroy();
    await removeContainersOf(docker, engine.storeId);
    removeFolders();
  }

  const rate = (s) => lines / s / 1000;
  printTable(`Log throughput: ${lines.toLocaleString('en-US')} lines, engine defaults; seconds from container start (k lines/s in brackets)`, ['round', 'container exit', 'file', 'followLog', 'docker logs -f', 'ratio file', 'ratio follow', 'node CPU s', 'peak RSS MiB', 'complete+ordered'], [
    ...results.map((r) => [
      String(r.round),
      r.exitS.toFixed(2),
      `${r.fileS.toFixed(2)} (${rate(r.fileS).toFixed(0)})`,
      `${r.followS.toFixed(2)} (${rate(r.followS).toFixed(0)})`,
      `${r.dockerS.toFixed(2)} (${rate(r.dockerS).toFixed(0)})`,
      (r.dockerS / r.fileS).toFixed(2),
      (r.dockerS / r.followS).toFixed(2),
      r.cpuS,
      r.peakRssMiB,
      r.complete ? 'yes' : 'NO',
    ]),
    [
      'median',
      median(results.map((r) => r.exitS)).toFixed(2),
      `${median(results.map((r) => r.fileS)).toFixed(2)}`,
      `${median(results.map((r) => r.followS)).toFixed(2)}`,
      `${median(results.map((r) => r.dockerS)).toFixed(2)}`,
      median(results.map((r) => r.dockerS / r.fileS)).toFixed(2),
      median(results.map((r) => r.dockerS / r.followS)).toFixed(2),
      median(results.map((r) => r.cpuS)),
      median(results.map((r) => r.peakRssMiB)),
      results.every((r) => r.complete) ? 'yes' : 'NO',
    ],
  ]);
  const ratio = median(results.map((r) => r.dockerS / r.followS));
  console.log(`process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; engine warnings: ${logger.problems.length}${logger.problems.length ? ` (${logger.problems[0]})` : ''}`);
  console.log(`target ratio (followLog, end to end) ≥ ${TARGET_RATIO}: ${ratio.toFixed(2)} → ${verdict(ratio >= TARGET_RATIO)}`);
  return { name: 'log throughput', median: ratio, target: TARGET_RATIO, ok: ratio >= TARGET_RATIO && results.every((r) => r.complete) };
}

/** `docker logs -f` piped into a newline counter; resolves with the time the last line arrived. */
function dockerLogs(containerId, lines) {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['logs', '-f', containerId], { stdio: ['ignore', 'pipe', 'pipe'] });
    let count = 0;
    let at;
    let tail = '';
    const onData = (chunk) => {
      let i = chunk.indexOf(10);
      while (i >= 0) {
        count += 1;
        i = chunk.indexOf(10, i + 1);
      }
      if (count >= lines && at === undefined) at = nowMs();
      tail = (tail + chunk.subarray(Math.max(0, chunk.length - 200)).toString('latin1')).slice(-200);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', () => resolve({ count, at: at ?? nowMs(), last: tail.split('\n').filter(Boolean).at(-1) }));
  });
}

async function waitTerminal(engine, id, isTerminalPhase) {
  for (;;) {
    const job = await engine.getJob(id);
    if (job && isTerminalPhase(job.status.phase)) return job;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every line present once and in order (off the clock). */
async function checkFile(file, lines) {
  let i = 0;
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
    if (line !== expectedLine(i)) return { ok: false, detail: `line ${i + 1} is "${line.slice(0, 60)}"` };
    i += 1;
  }
  return { ok: i === lines, detail: `${i} lines${i === lines ? ', in order' : ''}` };
}

runIfMain(import.meta.url, run);
