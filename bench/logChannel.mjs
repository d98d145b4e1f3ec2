// Log channel: a job prints 1,000,000 numbered lines and modelarts.jobs.showLogs follows them into
// an output channel, inside a real extension host (code-server 4.100.3 + Chromium, as the editor
// suite runs). bench/support/logChannelHost.ts (out/bench/support/logChannelHost.js) runs in the
// host as extensionTestsPath: it creates the job through the extension's API, runs the command,
// and times until the channel's backing file holds the extension's closing line; it samples the
// host's RSS and heap (100 ms) and event-loop lag (10 ms interval drift), and watches the Output
// view's text model, which VS Code mirrors into the extension host as a document. This script
// meanwhile samples the renderer (a page.evaluate round trip every 100 ms, the command palette's
// opening every 2 s) and times until the Output view shows the closing line.
// Rounds: "replay" (the job has ended: the complete log goes into the channel; baselines on the
// same job: `docker logs` of its container and api.jobs.log, lines/s) and "live" (the channel is
// opened right after the job is created and follows it while it prints; --live 1 adds one, ~1.5 min).
// No number is given for lines/s. The run passes when every line is in the channel's file and in
// the Output view, in order, and the editor stayed responsive: no renderer round trip and no host
// event-loop stall over 1 s until the view showed the end. Figures go to out/bench/logChannel.json.
//   node bench/logChannel.mjs [--lines 1000000] [--replay 1] [--live 0] [--quiet]
//   MODELARTS_BENCH_EXTENSION=<other checkout> node bench/logChannel.mjs    (measure a change there)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXTENSION_ROOT, ROOT, ensureBundle, median, numberOption, outModule, printTable, quantile, removeFolders, requireDocker, runIfMain, tempFolder, verdict, LINE_PRINTER_BOOT as BOOT, expectedLine } from './common.mjs';

const RENDERER_EVERY_MS = 100;
const PALETTE_EVERY_MS = 2000;
const OUTPUT_VIEW_TIMEOUT_MS = 90_000;
const IDLE_MS = 6000;
/** "The editor stays responsive": no renderer round trip and no host event-loop stall longer than this. */
const RESPONSIVE_MS = 1000;

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));


/**
 * The channel's backing file (with the part VS Code rotated out, if any), checked off the clock:
 * the numbered lines it holds, first and last, holes, and whether a notice says lines were left out.
 */
function checkChannelFile(file, lines, name) {
  const rotated = file.replace(/\.log$/, '.1.log');
  const parts = [rotated, file].filter((f) => fs.existsSync(f));
  const all = parts.map((f) => fs.readFileSync(f, 'latin1')).join('').split('\n');
  let first;
  let next = 0;
  let holes = 0;
  let numbered = 0;
  let notice = false;
  for (const line of all) {
    const match = /^line (\d+) /.exec(line);
    if (!match) {
      if (first === undefined && line.startsWith('[ModelArts]') && /left out|not shown|newest lines/.test(line)) notice = true;
      continue;
    }
    const n = Number(match[1]);
    if (first === undefined) first = n;
    else if (n !== next || line !== expectedLine(n)) holes++;
    next = n + 1;
    numbered++;
  }
  const closing = all.findLast((line) => line.startsWith(`[ModelArts] Training job ${name} `));
  return {
    files: parts.map((f) => ({ name: path.basename(f), bytes: fs.statSync(f).size })),
    rotated: parts.length > 1,
    numbered,
    first: first ?? -1,
    last: next - 1,
    holes,
    notice,
    closing,
    complete: numbered === lines && first === 0 && next === lines && holes === 0 && closing !== undefined,
  };
}

/**
 * Truthful: what it shows ends with the last line and the closing line, has no hole, and says so
 * when it does not start at line 0. Complete: every line.
 */
const truthful = (v, lines) => v.last === lines - 1 && !v.holes.length && (v.first === 0 || v.notice);
const complete = (v, lines) => v.first === 0 && truthful(v, lines);

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

/** Ids of the containers of a job (by the engine's job-id label). */
function containersOf(jobId) {
  const found = spawnSync('docker', ['ps', '-aq', '--filter', `label=org.modelarts-training.job-id=${jobId}`], { encoding: 'utf8' });
  return found.stdout.split('\n').filter(Boolean);
}

const windowOf = (samples, start, end) => samples.filter((s) => s.at >= start && s.at <= end).map((s) => s.ms);

export async function run({ lines = numberOption('--lines', 1_000_000), replay = numberOption('--replay', 1), live = numberOption('--live', 0), quiet = process.argv.includes('--quiet') } = {}) {
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
        ['extensionDevelopmentPath', server.remoteUri(EXTENSION_ROOT)],
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
    // The jobs this run made, from the host's progress (server.stop() removes their containers too,
    // found through the user data it then deletes; this also covers a host that did not finish).
    const jobIds = new Set(
      (fs.existsSync(progressFile) ? fs.readFileSync(progressFile, 'utf8') : '')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line).jobId)
        .filter(Boolean),
    );
    await server.stop(); // removes the jobs' containers it finds and the user data
    for (const id of jobIds) {
      const containers = containersOf(id);
      if (containers.length) spawnSync('docker', ['rm', '-f', '-v', ...containers], { stdio: 'ignore' });
    }
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
      view: h.outputDocument.holding?.numbered,
      viewLastLines: l.viewLastLines,
      commandMs: h.commandMs,
    };
  });
  if (EXTENSION_ROOT !== ROOT) console.log(`extension under test: ${EXTENSION_ROOT}`);
  printTable(
    `Log channel: ${lines.toLocaleString('en-US')} lines into an output channel, code-server's extension host; from showLogs (live: from create) to the closing line in the channel, then in the Output view; host and renderer figures until the Output view showed it`,
    ['round', 's to channel', 'k lines/s', 's to view', 'docker logs k/s', 'api.jobs.log k/s', 'ours/docker', 'host RSS MiB peak', 'heap MiB peak', 'lag max ms', 'lag p99 ms', 'eval ms med/p90/max', 'palette ms med/max', 'lines in view', 'file/view whole'],
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
      r.view ? `${r.view.first}…${r.view.last}${r.view.holes.length ? `, −${r.view.holes.reduce((n, g) => n + g.missing, 0)}` : ''}` : '?',
      `${r.check.complete ? 'yes' : r.check.notice && r.check.last === lines - 1 ? 'tail' : 'NO'}/${r.view && complete(r.view, lines) ? 'yes' : r.view && truthful(r.view, lines) ? 'tail' : 'NO'}`,
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
    rendererMaxMs: Math.max(...rows.map((r) => r.rendererMaxMs)),
    rendererIdleMs: hostResult.idle.roundTripMs,
    paletteIdleMs: hostResult.idle.paletteMs,
    paletteMedianMs: median(rows.map((r) => r.paletteMedianMs)),
    complete: rows.every((r) => r.check.complete),
    viewComplete: rows.every((r) => r.view && complete(r.view, lines)),
    viewTruthful: rows.every((r) => r.view && truthful(r.view, lines)),
  };
  for (const r of rows) {
    const c = r.check;
    const v = r.view;
    console.log(
      `round ${r.round} ${r.mode}: channel file ${c.files.map((x) => `${x.name.replace(/^.*-ModelArts Job /, '…')} ${(x.bytes / 2 ** 20).toFixed(1)} MiB`).join(' + ')}: lines ${c.first}…${c.last}, ${c.numbered} numbered, ${c.holes} out of place${c.notice ? ', with a left-out notice' : ''}; ` +
        `Output view model: ${v ? `${r.outputDocument.holding.lineCount} lines, numbered ${v.first}…${v.last}${v.holes.length ? `, holes: ${v.holes.map((g) => `${g.missing} after line ${g.afterLine}`).join(', ')}` : ', no hole'}${v.notice ? ', with a left-out notice' : ''}${v.unexpected.length ? `; unexpected lines: ${v.unexpected.join(' | ')}` : ''}` : 'not found in the host'}; ` +
        `during the append only: host RSS ${f(r.host.peakRssMiB, 0)} MiB, lag max ${f(r.host.lagMaxMs, 0)} ms; after the round: RSS ${f(r.after.peakRssMiB, 0)} MiB, heap ${f(r.after.peakHeapMiB, 0)} MiB`,
    );
  }
  // The longest stalls of each side, and what the Output view's model did at that moment: VS Code
  // mirrors it into the extension host as a document, so a big change lands there too.
  const documentEvents = (hostResult.outputDocumentEvents ?? []).filter((e) => e.uri.includes('bench-logs'));
  for (const [r, l] of rows.map((row, i) => [row, launcherRounds[i]])) {
    const until = Number.isFinite(l.viewEnd) ? l.viewEnd : l.end + OUTPUT_VIEW_TIMEOUT_MS;
    const at = (t) => `+${f((t - l.start) / 1000, 1)} s`;
    const near = (t) => documentEvents.find((e) => Math.abs(e.at - t) < 400);
    const hostStalls = (hostResult.stalls ?? []).filter((s) => s.at >= l.start && s.at <= until).sort((a, b) => b.ms - a.ms).slice(0, 4);
    const rendererStalls = renderer.roundTrips.filter((s) => s.at >= l.start && s.at <= until && s.ms > 500).sort((a, b) => b.ms - a.ms).slice(0, 4);
    console.log(
      `round ${r.round}: Output view model in the host: ${documentEvents.filter((e) => e.at >= l.start && e.at <= until).map((e) => `${at(e.at)} ${e.kind} ${e.lineCount} lines`).join(', ') || 'no change seen'}; ` +
        `longest host stalls: ${hostStalls.map((s) => `${f(s.ms, 0)} ms at ${at(s.at)}${near(s.at) ? ` (model → ${near(s.at).lineCount} lines)` : ''}`).join(', ') || 'none'}; ` +
        `renderer round trips over 500 ms: ${rendererStalls.map((s) => `${f(s.ms, 0)} ms at ${at(s.at)}`).join(', ') || 'none'}`,
    );
  }
  console.log(
    `replay median ${f(summary.replayLinesPerS / 1000, 0)} k lines/s vs docker logs ${f(summary.dockerLinesPerS / 1000, 0)} k lines/s (ratio ${f(summary.ratioToDocker, 2)}), api.jobs.log ${f(summary.apiLinesPerS / 1000, 0)} k lines/s; Output view shows the end after ${f(summary.viewSeconds, 1)} s (median); ` +
      `host peak RSS ${f(summary.peakRssMiB, 0)} MiB, heap ${f(summary.peakHeapMiB, 0)} MiB, event-loop lag max ${f(summary.lagMaxMs, 0)} ms (p99 median ${f(summary.lagP99Ms, 0)}); ` +
      `renderer round trip median ${f(summary.rendererMedianMs)} ms (${f(summary.rendererIdleMs)} idle), command palette ${f(summary.paletteMedianMs, 0)} ms (${f(summary.paletteIdleMs, 0)} idle); activation ${f(hostResult.activationMs, 0)} ms; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const out = path.join(ROOT, 'out', 'bench');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'logChannel.json'), JSON.stringify({ name: 'log channel', lines, startedAt: started, summary, rounds: rows, idle: hostResult.idle, rendererSamples: renderer.roundTrips, paletteSamples: renderer.palette, hostMemory: hostResult.memory, hostStalls: hostResult.stalls, outputDocumentEvents: hostResult.outputDocumentEvents }, null, 2));
  const responsive = summary.rendererMaxMs <= RESPONSIVE_MS && summary.lagMaxMs <= RESPONSIVE_MS;
  console.log(
    `Output view truthful (ends with the last line, no hole, a notice if it leaves lines out): ${verdict(summary.viewTruthful)}; every line in the Output view: ${summary.viewComplete ? 'yes' : 'no'}; in the channel's file: ${summary.complete ? 'yes' : 'no'}; ` +
      `responsive (no renderer round trip and no host event-loop stall over ${RESPONSIVE_MS} ms until the view shows the end; longest ${f(summary.rendererMaxMs, 0)} and ${f(summary.lagMaxMs, 0)} ms): ${verdict(responsive)}; results in out/bench/logChannel.json`,
  );
  return { name: 'log channel', ...summary, ok: summary.viewTruthful && responsive };
}

runIfMain(import.meta.url, run);
