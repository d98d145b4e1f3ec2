// Log channel: a job prints 1,000,000 numbered lines and modelarts.jobs.showLogs follows them into
// an output channel, inside a real extension host (code-server 4.100.3 + Chromium, as the editor
// suite runs). bench/support/logChannelHost.ts (out/bench/support/logChannelHost.js) runs in the
// host as extensionTestsPath: it creates the job through the extension's API, runs the command,
// and times until the channel's backing file holds the extension's closing line; it samples the
// host's RSS and heap (100 ms) and event-loop lag (10 ms interval drift). This script meanwhile
// samples the renderer: a page.evaluate round trip every 100 ms and the time the command palette
// takes to open every 2 s, and the time until the Output view shows the closing line.
// Rounds: "replay" (the job has ended: the complete log goes into the channel; baselines on the
// same job: `docker logs` of its container and api.jobs.log, lines/s) and "live" (the channel is
// opened right after the job is created and follows it while it prints).
// No target is given for lines/s; the run passes when every line reaches the channel, in order, in
// every round. Figures go to out/bench/logChannel.json.
//   node bench/logChannel.mjs [--lines 1000000] [--replay 2] [--live 1]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, median, numberOption, outModule, printTable, quantile, removeFolders, requireDocker, runIfMain, tempFolder, verdict } from './common.mjs';

const PAD = 'x'.repeat(40);
const expectedLine = (i) => `line ${i} ${PAD}`;
const BOOT = `import sys
N = int(next(a.split("=")[1] for a in sys.argv if a.startswith("--lines=")))
pad = "x" * 40
w = sys.stdout.write
for s in range(0, N, 10000):
    w("".join(f"line {i} {pad}\\n" for i in range(s, min(s + 10000, N))))
sys.stdout.flush()
`;
const RENDERER_EVERY_MS = 100;
const PALETTE_EVERY_MS = 2000;
const OUTPUT_VIEW_TIMEOUT_MS = 90_000;
const IDLE_MS = 6000;

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** dist/extension.js built from the current src (the host loads the bundle, not out/). */
function ensureBundle() {
  const bundle = path.join(ROOT, 'dist', 'extension.js');
  const newest = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const full = path.join(dir, entry.name);
      return Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
    }, 0);
  if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= newest(path.join(ROOT, 'src'))) return;
  console.log('dist/extension.js is older than src/: building it (node scripts/build.mjs)');
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit', cwd: ROOT });
  if (result.status !== 0) throw new Error('the extension bundle did not build');
}

/** Lines of the channel's backing file(s), checked in order (off the clock). */
function checkChannelFile(file, lines, name) {
  const rotated = file.replace(/\.log$/, '.1.log');
  const parts = [rotated, file].filter((f) => fs.existsSync(f));
  const text = parts.map((f) => fs.readFileSync(f, 'latin1')).join('');
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  let next = 0;
  let firstNumbered;
  let outOfOrder = 0;
  for (const line of all) {
    const match = /^line (\d+) /.exec(line);
    if (!match) continue;
    const n = Number(match[1]);
    firstNumbered ??= n;
    if (n !== next || line !== expectedLine(n)) outOfOrder++;
    next = n + 1;
  }
  const closing = all.findLast((line) => line.startsWith(`[ModelArts] Training job ${name} `));
  const numbered = all.filter((line) => line.startsWith('line ')).length;
  return {
    files: parts.map((f) => ({ name: path.basename(f), bytes: fs.statSync(f).size })),
    rotated: parts.length > 1,
    numbered,
    firstNumbered,
    lastNumbered: next - 1,
    outOfOrder,
    closing,
    complete: numbered === lines && firstNumbered === 0 && next === lines && outOfOrder === 0 && closing !== undefined,
  };
}

/** The text of the Output view's visible lines, top to bottom. */
async function outputViewLines(page) {
  return page.evaluate(() => {
    const editor = document.querySelector('.part.panel .monaco-editor .view-lines');
    if (!editor) return [];
    return [...editor.querySelectorAll('.view-line')]
      .map((line) => [parseFloat(line.style.top) || 0, line.textContent ?? ''])
      .sort((a, b) => a[0] - b[0])
      .map(([, text]) => text.replace(/\u00a0/g, ' '));
  });
}

/** The renderer samples of one run: evaluate round trips, palette openings, Output view checks. */
class Renderer {
  constructor(page) {
    this.page = page;
    this.roundTrips = []; // { at, ms }
    this.palette = []; // { at, ms }
    this.stopped = false;
    this.busy = Promise.resolve();
  }

  /** One task at a time on the page, so samples do not queue behind each other. */
  exclusive(task) {
    const next = this.busy.then(task, task);
    this.busy = next.catch(() => undefined);
    return next;
  }

  async sampleLoop() {
    let lastPalette = 0;
    while (!this.stopped) {
      await this.exclusive(async () => {
        const started = performance.now();
        await this.page.evaluate(() => 0);
        this.roundTrips.push({ at: wallNow(), ms: performance.now() - started });
        if (this.paletteOn && Date.now() - lastPalette >= PALETTE_EVERY_MS) {
          lastPalette = Date.now();
          const opened = performance.now();
          await this.page.keyboard.press('F1');
          await this.page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 30_000 });
          this.palette.push({ at: wallNow(), ms: performance.now() - opened });
          await this.page.keyboard.press('Escape');
          await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 30_000 });
        }
      }).catch(() => undefined);
      await sleep(RENDERER_EVERY_MS);
    }
  }

  /**
   * Waits until the Output view shows the closing line of the job (it scrolls to the end by
   * itself). Polled inside the page every 50 ms, beside the other samples, not queued behind them.
   */
  async waitForOutputEnd(name) {
    const marker = `[ModelArts] Training job ${name} `;
    try {
      await this.page.waitForFunction(
        (text) => [...document.querySelectorAll('.part.panel .monaco-editor .view-line')].some((line) => (line.textContent ?? '').replace(/\u00a0/g, ' ').startsWith(text)),
        marker,
        { polling: 50, timeout: OUTPUT_VIEW_TIMEOUT_MS },
      );
      return { at: wallNow(), lastLines: (await outputViewLines(this.page)).filter(Boolean).slice(-2) };
    } catch {
      return { at: Infinity, lastLines: (await outputViewLines(this.page).catch(() => [])).filter(Boolean).slice(-2) };
    }
  }
}

const windowOf = (samples, start, end) => samples.filter((s) => s.at >= start && s.at <= end).map((s) => s.ms);

export async function run({ lines = numberOption('--lines', 1_000_000), replay = numberOption('--replay', 2), live = numberOption('--live', 1), quiet = process.argv.includes('--quiet') } = {}) {
  requireDocker();
  ensureBundle();
  const hostEntry = path.join(ROOT, 'out', 'bench', 'support', 'logChannelHost.js');
  if (!fs.existsSync(hostEntry)) {
    console.error('out/bench/support/logChannelHost.js is missing: run "node scripts/build.mjs --tests" first (npm run bench does).');
    process.exit(2);
  }
  const { CodeServer, openBrowser, screenshot } = outModule('test/support/codeServer');
  const codeDir = tempFolder('logchannel-code', { 'spam.py': BOOT });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-bench-logchannel-home-'));
  const progressFile = path.join(home, 'progress.jsonl');
  const resultFile = path.join(home, 'host-result.json');
  fs.writeFileSync(progressFile, '');
  const rounds = [...Array(replay).fill('replay'), ...Array(live).fill('live')];
  const config = { lines, codeDir, home, progressFile, resultFile, rounds };

  const started = Date.now();
  const server = await CodeServer.start({ home, env: { MODELARTS_BENCH_CONFIG: JSON.stringify(config) } });
  const session = await openBrowser();
  const renderer = new Renderer(session.page);
  const launcherRounds = [];
  let hostResult;
  try {
    const exited = new Promise((resolve) => void session.page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
    await session.page.goto(
      server.workbenchUrl(codeDir, [
        ['extensionDevelopmentPath', server.remoteUri(ROOT)],
        ['extensionTestsPath', server.remoteUri(hostEntry.replace(/\.js$/, ''))],
      ]),
    );
    const sampling = renderer.sampleLoop();

    // Follow the host's progress: per round, time the Output view and answer with an ack file.
    let read = 0;
    let exitCode;
    let idleWindow;
    void exited.then((code) => (exitCode = code));
    const deadline = Date.now() + 170_000 + rounds.length * 60_000;
    while (exitCode === undefined && Date.now() < deadline) {
      const text = fs.readFileSync(progressFile, 'utf8');
      const events = text.slice(read).split('\n').filter(Boolean).map((line) => JSON.parse(line));
      read = text.length;
      for (const event of events) {
        if (!quiet) console.log(`  [host +${((event.at - started) / 1000).toFixed(1)} s] ${event.event}${event.round ? ` round ${event.round}` : ''}${event.bytes !== undefined ? `: channel file ${(event.bytes / 2 ** 20).toFixed(1)} MiB` : ''}`);
        if (event.event === 'ready') {
          // The renderer before any job: round trips and palette openings while nothing is appended.
          renderer.paletteOn = true;
          await sleep(IDLE_MS);
          renderer.paletteOn = false;
          idleWindow = { start: event.at, end: wallNow() };
          fs.writeFileSync(`${progressFile}.ack0`, '{}');
        } else if (event.event === 'append-start') {
          renderer.paletteOn = true;
          launcherRounds[event.round - 1] = { round: event.round, name: event.name, start: event.at };
          launcherRounds[event.round - 1].view = renderer.waitForOutputEnd(event.name);
        } else if (event.event === 'append-end') {
          const r = launcherRounds[event.round - 1];
          const view = await r.view;
          renderer.paletteOn = false;
          r.end = event.at;
          r.viewEnd = view.at;
          r.viewLastLines = view.lastLines;
          await renderer.exclusive(() => screenshot(session.page, `logChannel-round-${event.round}`)).catch(() => undefined);
          r.check = checkChannelFile(event.file, lines, r.name);
          delete r.view;
          fs.writeFileSync(`${progressFile}.ack${event.round}`, JSON.stringify({ viewEndS: (r.viewEnd - r.start) / 1000, complete: r.check.complete }));
        } else if (event.event === 'error') {
          console.error(`extension host: ${event.message}`);
        }
      }
      await sleep(100);
    }
    renderer.stopped = true;
    await sampling;
    if (exitCode === undefined) {
      await screenshot(session.page, 'logChannel-timeout').catch(() => undefined);
      throw new Error(`no result from the extension host in time; code-server log: ${server.logFile}`);
    }
    hostResult = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
    if (hostResult.error) throw new Error(`extension host: ${hostResult.error}`);
    hostResult.idle = {
      roundTripMs: median(windowOf(renderer.roundTrips, idleWindow.start, idleWindow.end)),
      paletteMs: median(windowOf(renderer.palette, idleWindow.start, idleWindow.end)),
      palette: windowOf(renderer.palette, idleWindow.start, idleWindow.end),
    };
  } finally {
    renderer.stopped = true;
    await session.browser.close().catch(() => undefined);
    await server.stop(); // also removes the jobs' containers and the user data
    removeFolders();
  }

  // ---- Report ------------------------------------------------------------------------------
  const f = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '–');
  const rows = hostResult.rounds.map((h, i) => {
    const l = launcherRounds[i];
    const viewEnd = Number.isFinite(l.viewEnd) ? l.viewEnd : l.end;
    const trips = windowOf(renderer.roundTrips, l.start, viewEnd);
    const palette = windowOf(renderer.palette, l.start, viewEnd);
    return {
      round: h.round,
      mode: h.mode,
      seconds: h.seconds,
      linesPerS: lines / h.seconds,
      viewSeconds: (l.viewEnd - l.start) / 1000,
      dockerLinesPerS: h.dockerLogs ? h.dockerLogs.lines / (h.dockerLogs.ms / 1000) : NaN,
      apiLinesPerS: h.apiLog ? h.apiLog.lines / (h.apiLog.ms / 1000) : NaN,
      host: h.host,
      untilView: h.untilView,
      after: h.after,
      growth: h.growth,
      rendererMedianMs: median(trips),
      rendererP90Ms: quantile(trips, 0.9),
      rendererMaxMs: Math.max(...trips),
      paletteMedianMs: median(palette),
      paletteMaxMs: Math.max(...palette),
      paletteSamples: palette.length,
      check: l.check,
      outputDocument: h.outputDocument,
      viewLastLines: l.viewLastLines,
      commandMs: h.commandMs,
    };
  });
  printTable(
    `Log channel: ${lines.toLocaleString('en-US')} lines into an output channel, code-server's extension host; from showLogs (live: from create) to the closing line in the channel, then in the Output view; host and renderer figures until the Output view showed it`,
    ['round', 's to channel', 'k lines/s', 's to view', 'docker logs k/s', 'api.jobs.log k/s', 'ours/docker', 'host RSS MiB peak', 'heap MiB peak', 'lag max ms', 'lag p99 ms', 'eval ms med/p90/max', 'palette ms med/max', 'view lines', 'complete'],
    rows.map((r) => [
      `${r.round} ${r.mode}`,
      f(r.seconds, 2),
      f(r.linesPerS / 1000, 0),
      f(r.viewSeconds, 1),
      f(r.dockerLinesPerS / 1000, 0),
      f(r.apiLinesPerS / 1000, 0),
      f(r.linesPerS / r.dockerLinesPerS, 2),
      `${f(r.untilView.peakRssMiB, 0)} (${f(r.untilView.rssBeforeMiB, 0)} before)`,
      `${f(r.untilView.peakHeapMiB, 0)} (${f(r.untilView.heapBeforeMiB, 0)})`,
      f(r.untilView.lagMaxMs, 0),
      f(r.untilView.lagP99Ms, 0),
      `${f(r.rendererMedianMs)}/${f(r.rendererP90Ms)}/${f(r.rendererMaxMs, 0)}`,
      `${f(r.paletteMedianMs, 0)}/${f(r.paletteMaxMs, 0)} (${r.paletteSamples})`,
      r.outputDocument.holding ? String(r.outputDocument.holding.lineCount) : '?',
      r.check.complete ? 'yes' : 'NO',
    ]),
  );
  const replays = rows.filter((r) => r.mode === 'replay');
  const summary = {
    replayLinesPerS: median(replays.map((r) => r.linesPerS)),
    dockerLinesPerS: median(replays.map((r) => r.dockerLinesPerS)),
    apiLinesPerS: median(replays.map((r) => r.apiLinesPerS)),
    ratioToDocker: median(replays.map((r) => r.linesPerS / r.dockerLinesPerS)),
    viewSeconds: median(rows.map((r) => r.viewSeconds)),
    peakRssMiB: Math.max(...rows.map((r) => r.untilView.peakRssMiB)),
    peakHeapMiB: Math.max(...rows.map((r) => r.untilView.peakHeapMiB)),
    appendPeakRssMiB: Math.max(...rows.map((r) => r.host.peakRssMiB)),
    lagMaxMs: Math.max(...rows.map((r) => r.untilView.lagMaxMs)),
    appendLagMaxMs: Math.max(...rows.map((r) => r.host.lagMaxMs)),
    lagP99Ms: median(rows.map((r) => r.untilView.lagP99Ms)),
    rendererMedianMs: median(rows.map((r) => r.rendererMedianMs)),
    rendererIdleMs: hostResult.idle.roundTripMs,
    paletteIdleMs: hostResult.idle.paletteMs,
    paletteMedianMs: median(rows.map((r) => r.paletteMedianMs)),
    complete: rows.every((r) => r.check.complete),
    viewComplete: rows.every((r) => r.outputDocument.holding?.firstLine === expectedLine(0)),
  };
  for (const r of rows) {
    const c = r.check;
    const doc = r.outputDocument.holding;
    console.log(
      `round ${r.round} ${r.mode}: channel file ${c.files.map((x) => `${x.name.replace(/^.*-ModelArts Job /, '…')} ${(x.bytes / 2 ** 20).toFixed(1)} MiB`).join(' + ')}, ${c.numbered} numbered lines (${c.firstNumbered}…${c.lastNumbered}, ${c.outOfOrder} out of order); ` +
        `Output view model: ${doc ? `${doc.lineCount} lines from "${doc.firstLine.slice(0, 12)}…"` : 'not found in the host'}; during the append only: host RSS ${f(r.host.peakRssMiB, 0)} MiB, lag max ${f(r.host.lagMaxMs, 0)} ms; after the round: RSS ${f(r.after.peakRssMiB, 0)} MiB, heap ${f(r.after.peakHeapMiB, 0)} MiB`,
    );
  }
  const stalls = (hostResult.stalls ?? []).map((s) => `${f((s.at - started) / 1000, 1)} s: ${f(s.ms, 0)} ms`);
  if (stalls.length) console.log(`host event-loop stalls over 100 ms (seconds since start): ${stalls.slice(0, 20).join(', ')}${stalls.length > 20 ? ` … (${stalls.length})` : ''}`);
  console.log(
    `replay median ${f(summary.replayLinesPerS / 1000, 0)} k lines/s vs docker logs ${f(summary.dockerLinesPerS / 1000, 0)} k lines/s (ratio ${f(summary.ratioToDocker, 2)}), api.jobs.log ${f(summary.apiLinesPerS / 1000, 0)} k lines/s; Output view shows the end after ${f(summary.viewSeconds, 1)} s (median); ` +
      `host peak RSS ${f(summary.peakRssMiB, 0)} MiB, heap ${f(summary.peakHeapMiB, 0)} MiB, event-loop lag max ${f(summary.lagMaxMs, 0)} ms (p99 median ${f(summary.lagP99Ms, 0)}); ` +
      `renderer round trip median ${f(summary.rendererMedianMs)} ms (${f(summary.rendererIdleMs)} idle), command palette ${f(summary.paletteMedianMs, 0)} ms (${f(summary.paletteIdleMs, 0)} idle); activation ${f(hostResult.activationMs, 0)} ms; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const out = path.join(ROOT, 'out', 'bench');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'logChannel.json'), JSON.stringify({ name: 'log channel', lines, startedAt: started, summary, rounds: rows, idle: hostResult.idle, rendererSamples: renderer.roundTrips, paletteSamples: renderer.palette, hostMemory: hostResult.memory, hostStalls: hostResult.stalls, outputDocumentEvents: hostResult.outputDocumentEvents }, null, 2));
  console.log(`every line in the channel, in order, every round: ${verdict(summary.complete)}; results in out/bench/logChannel.json`);
  return { name: 'log channel', ...summary, ok: summary.complete };
}

runIfMain(import.meta.url, run);
