// Cloud log delay: how long a log line takes from the ModelArts log preview to the consumer of
// `backend.followLog`, against the ModelArts contract server (test/support/modelarts/, in this
// process; jobs run for real on Docker, the S3 test server as OBS). A job whose boot file prints
// `tick <i> <CLOCK_MONOTONIC ns>` every 100 ms for 30 s is followed by a ModelArtsBackend made
// without `timing` (its default polling, logIntervalMs 1000 ms), then, as the baseline that shows
// what the polling costs, by one with logIntervalMs 100.
//
// "Visible in the preview": the server answers a preview by reading the task's log file at request
// time (TaskLogs.preview: stat + read of the last window), so a line is in the preview from the
// moment its bytes are in that file. The benchmark watches the file under the server's dataDir
// (fs.watch, i.e. inotify, plus a 50 ms safety poll) and stamps each complete line when it first
// sees it; `followLog`'s yields are stamped on the same clock (process.hrtime, CLOCK_MONOTONIC, the
// clock the container's time.monotonic_ns() reads too, so print → file is reported as well).
// `--check-preview 1` also polls the preview endpoint itself every 20 ms (signed node:http) to
// confirm the file watch never lags the preview (it adds 50 requests/s to the server).
// No target but truthfulness: every tick line once and in order (exit 1 otherwise, 2 on error).
//   node bench/cloudLogDelay.mjs [--seconds 30] [--rounds 1] [--check-preview 0]
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fmt, median, numberOption, outModule, printTable, quantile, quietLogger, removeFolders, requireDocker, runIfMain, tempFolder } from './common.mjs';

const SECONDS = numberOption('--seconds', 30);
const ROUNDS = numberOption('--rounds', 1);
const CHECK_PREVIEW = numberOption('--check-preview', 0) === 1;
const TASK = 'worker-0';
const TICK = /^tick (\d+) (\d+)$/;

const TICKS_BOOT = `import sys, time
seconds = float(next(a.split("=")[1] for a in sys.argv if a.startswith("--seconds=")))
count = int(round(seconds / 0.1))
t0 = time.monotonic()
for i in range(count):
    wait = t0 + i * 0.1 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    print(f"tick {i} {time.monotonic_ns()}", flush=True)
print(f"ticks done {count}", flush=True)
`;

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Stamps every complete line of a growing file when it is first seen there. */
function watchLines(file) {
  const seen = []; // { line, at }
  let fd;
  let offset = 0;
  let rest = '';
  const read = () => {
    if (fd === undefined) {
      try {
        fd = fs.openSync(file, 'r');
      } catch {
        return; // not created yet
      }
    }
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return;
    const at = nowMs();
    const buffer = Buffer.alloc(size - offset);
    fs.readSync(fd, buffer, 0, buffer.length, offset);
    offset = size;
    const parts = (rest + buffer.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) seen.push({ line, at });
  };
  let watcher;
  const attach = () => {
    if (watcher) return;
    try {
      watcher = fs.watch(file, read);
      read();
    } catch {
      // not there yet: the poll below retries
    }
  };
  const poll = setInterval(() => (attach(), read()), 50);
  attach();
  return {
    seen,
    stop() {
      read();
      clearInterval(poll);
      watcher?.close();
      if (fd !== undefined) fs.closeSync(fd);
    },
  };
}

/** Polls the preview endpoint every `everyMs` with a signed request; stamps each tick when the preview first holds it. */
function pollPreview(fx, signRequest, jobId, everyMs) {
  const firstSeen = new Map();
  const agent = new http.Agent({ keepAlive: true });
  const url = `${fx.server.url}/v2/${fx.server.projectId}/training-jobs/${jobId}/tasks/${TASK}/logs/preview`;
  const credentials = { accessKey: fx.credentials.accessKey, secretKey: fx.credentials.secretKey };
  let stopped = false;
  const once = () =>
    new Promise((resolve) => {
      const headers = signRequest({ method: 'GET', url, headers: { 'X-Bench-Probe': '1' } }, credentials, new Date());
      const request = http.get(url, { headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const at = nowMs();
          if (res.statusCode === 200) {
            for (const line of JSON.parse(Buffer.concat(chunks).toString('utf8')).content.split('\n')) {
              const m = TICK.exec(line);
              if (m && !firstSeen.has(Number(m[1]))) firstSeen.set(Number(m[1]), at);
            }
          }
          resolve();
        });
      });
      request.on('error', () => resolve());
    });
  const loop = (async () => {
    while (!stopped) {
      const started = nowMs();
      await once();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - (nowMs() - started))));
    }
  })();
  return {
    firstSeen,
    async stop() {
      stopped = true;
      await loop;
      agent.destroy();
    },
  };
}

/** One followed job: per tick line, when the container printed it, when it was in the log file, when followLog yielded it. */
async function followOne(fx, modules, { label, timing, seconds, codeDir, dataDir }) {
  const { ModelArtsBackend, cloudJob, signRequest } = modules;
  const logger = quietLogger();
  const backend = new ModelArtsBackend({ config: fx.config, credentials: fx.credentials, logger, stateDir: tempFolder('cloud-log-state'), ...(timing ? { timing } : {}) });
  try {
    const state = await backend.connect();
    if (state.kind !== 'available') throw new Error(`the backend did not connect: ${JSON.stringify(state)}`);
    const job = await backend.createJob(cloudJob(`log-delay-${label}`, codeDir, 'ticks.py', [{ name: 'seconds', value: String(seconds) }]));
    const id = job.metadata.id;
    const file = watchLines(path.join(dataDir, id, 'logs', `${TASK}.log`));
    const probe = CHECK_PREVIEW ? pollPreview(fx, signRequest, id, 20) : undefined;
    const followStarted = nowMs();
    const yielded = []; // { line, at }
    let batches = 0;
    for await (const batch of backend.followLog(id, TASK)) {
      const at = nowMs();
      batches += 1;
      for (const line of batch) yielded.push({ line, at });
    }
    const followMs = nowMs() - followStarted;
    file.stop();
    await probe?.stop();
    const ended = await backend.getJob(id);
    const previews = fx.server.journal.requestsTo('ShowTrainingJobLogsPreview').filter((e) => e.path.includes(id) && !e.headers['x-bench-probe']).length;
    return { id, phase: ended?.status.phase, yielded, seen: file.seen, probe: probe?.firstSeen, batches, followMs, previews, problems: logger.problems };
  } finally {
    backend.dispose();
  }
}

/** Checks one run (every tick once, in order, complete) and computes the delays. */
function analyse(run, seconds) {
  const ticks = (entries) => entries.flatMap(({ line, at }) => {
    const m = TICK.exec(line);
    return m ? [{ i: Number(m[1]), printed: Number(m[2]) / 1e6, at }] : [];
  });
  const inFile = ticks(run.seen);
  const got = ticks(run.yielded);
  const expected = Math.round(seconds / 0.1);
  const problems = [];
  if (run.phase !== 'Completed') problems.push(`the job ended ${run.phase}`);
  if (!run.seen.some((e) => e.line === `ticks done ${expected}`)) problems.push(`the log file does not end with "ticks done ${expected}"`);
  if (inFile.length !== expected || inFile.some((t, k) => t.i !== k)) problems.push(`the log file holds ${inFile.length} of ${expected} ticks (or out of order)`);
  if (got.length !== expected || got.some((t, k) => t.i !== k)) {
    const firstBad = got.findIndex((t, k) => t.i !== k);
    problems.push(`followLog yielded ${got.length} tick lines for ${expected}${firstBad >= 0 ? `, out of order at position ${firstBad} (tick ${got[firstBad].i})` : ''}`);
  }
  if (run.yielded.map((e) => e.line).join('\n') !== run.seen.map((e) => e.line).join('\n')) problems.push('followLog did not yield exactly the lines of the log file');
  const fileAt = new Map(inFile.map((t) => [t.i, t]));
  const delays = got.filter((t) => fileAt.has(t.i)).map((t) => t.at - fileAt.get(t.i).at);
  const printToFile = inFile.map((t) => t.at - t.printed);
  const printToConsumer = got.map((t) => t.at - t.printed);
  const probeLag = run.probe ? inFile.filter((t) => run.probe.has(t.i)).map((t) => run.probe.get(t.i) - t.at) : [];
  return { problems, lines: got.length, delays, printToFile, printToConsumer, probeLag };
}

export async function run({ seconds = SECONDS, rounds = ROUNDS } = {}) {
  requireDocker();
  const { startCloudFixture, cloudJob } = outModule('test/support/modelartsFixture');
  const { ModelArtsBackend } = outModule('src/backends/modelarts/modelartsBackend');
  const { signRequest } = outModule('src/backends/modelarts/signer');
  const modules = { ModelArtsBackend, cloudJob, signRequest };
  // The server's data folder is ours, so the benchmark knows where each task's log file is.
  const dataDir = tempFolder('cloud-log-server');
  const fx = await startCloudFixture({ dataDir });
  const codeDir = tempFolder('cloud-log-code', { 'ticks.py': TICKS_BOOT });
  const modes = [
    { label: 'default', title: 'default polling (no timing given)', timing: undefined },
    { label: 'fast', title: 'baseline: logIntervalMs 100', timing: { logIntervalMs: 100 } },
  ];
  const results = Object.fromEntries(modes.map((m) => [m.label, { runs: [], analysed: [] }]));
  try {
    for (let round = 1; round <= rounds; round += 1) {
      for (const mode of round % 2 ? modes : [...modes].reverse()) {
        const started = Date.now();
        const followed = await followOne(fx, modules, { ...mode, seconds, codeDir, dataDir });
        const analysed = analyse(followed, seconds);
        results[mode.label].runs.push(followed);
        results[mode.label].analysed.push(analysed);
        console.log(
          `round ${round}, ${mode.label}: ${analysed.lines} tick lines in ${followed.batches} batches, ${followed.previews} previews in ${(followed.followMs / 1000).toFixed(1)} s of following ` +
            `(${((Date.now() - started) / 1000).toFixed(1)} s with creation)${analysed.problems.length ? `; PROBLEMS: ${analysed.problems.join('; ')}` : ''}`,
        );
        for (const problem of followed.problems) console.log(`  backend ${problem}`);
      }
    }
  } finally {
    await fx.stop();
    outModule('test/support/jobs').removeFolders(); // the fixture's state folder
    removeFolders();
  }

  const all = (label, key) => results[label].analysed.flatMap((a) => a[key]);
  const row = (title, values) => [title, String(values.length), median(values), quantile(values, 0.9), values.length ? Math.max(...values) : NaN, values.length ? Math.min(...values) : NaN];
  const rows = [];
  for (const mode of modes) {
    const previews = results[mode.label].runs.reduce((sum, r) => sum + r.previews, 0);
    const followS = results[mode.label].runs.reduce((sum, r) => sum + r.followMs, 0) / 1000;
    rows.push(row(`${mode.title}: preview → followLog`, all(mode.label, 'delays')));
    rows.push(row('    print → followLog', all(mode.label, 'printToConsumer')));
    rows.push(row('    print → log file (Docker attach path)', all(mode.label, 'printToFile')));
    if (CHECK_PREVIEW) rows.push(row('    check: file watch → 20 ms preview poll', all(mode.label, 'probeLag')));
    rows.push([`    previews asked: ${previews} in ${fmt(followS)} s (${fmt((1000 * followS) / Math.max(1, previews - results[mode.label].runs.length), 0)} ms apart)`, '', '', '', '', '']);
  }
  printTable(`Cloud log delay: a line every 100 ms for ${seconds} s, followed through the ModelArts backend (ms; ${rounds} round(s))`, ['measure', 'lines', 'median', 'p90', 'max', 'min'], rows);
  const problems = modes.flatMap((m) => results[m.label].analysed.flatMap((a) => a.problems.map((p) => `${m.label}: ${p}`)));
  const d = all('default', 'delays');
  const f = all('fast', 'delays');
  console.log(`\ndefault polling: median ${fmt(median(d), 0)} ms, p90 ${fmt(quantile(d, 0.9), 0)} ms (logIntervalMs 100: median ${fmt(median(f), 0)}, p90 ${fmt(quantile(f, 0.9), 0)})`);
  console.log(`every tick line once and in order, the followed log equal to the file: ${problems.length ? `NO (${problems.join('; ')})` : 'yes'}`);
  return { ok: problems.length === 0 };
}

runIfMain(import.meta.url, run);
