/**
 * The extension-host half of bench/panelRender.mjs, loaded by code-server as extensionTestsPath (the
 * same run() convention as test/editor/index.ts). The launcher wrote two finished jobs into the
 * local engine's data folder before the editor started (a big one: 10,000 events and a worker-0 log
 * of 25,000 metric lines; a small one: 10 events, 25 lines). This half:
 *
 * - activates the extension and checks the fixture through its API (api.jobs.get, api.jobs.events,
 *   api.jobs.log): a job missing, not Completed, or with another number of events or log lines
 *   fails the run before anything is timed;
 * - per step (one opening of one job's panel): notes t0 (wall clock, Date.now(), the clock the
 *   webview's marks use), runs `modelarts.jobs.showDetails` with `{jobId}`, and waits for the
 *   launcher's answer (it times the webview in Chromium); then closes the panel
 *   (workbench.action.closeAllEditors), waits until no webview tab is left and lets the host settle;
 * - the blank step opens a page of its own instead (no bundle, no data, the same ready → job
 *   handshake): what any webview panel costs in this editor;
 * - samples this host's event-loop lag (drift of a 10 ms interval) and memory (100 ms) for the
 *   whole run, summarised per step from t0 until the launcher saw the last figure;
 * - after the rounds, off the clock: baselines of the host's part on the big job (api.jobs.events,
 *   api.jobs.log, JSON.stringify of the events message, the metric parser over the log), and
 *   VS Code's part: webview.postMessage of the same events and metrics messages to a blank page.
 *
 * Configuration (env MODELARTS_BENCH_CONFIG, JSON): jobs ({key: {id, name, events, lines}}), steps
 * ([{round, warmup, job}]), progressFile (JSON lines for the launcher; it answers step i with
 * `<progressFile>.ack<i>`, and the idle window with `.ack-idle`), resultFile.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { ModelArtsApi } from '../../src/api';
import { createMetricParser, MetricSeriesSet } from '../../src/core/metrics';
import { activateApi } from '../../test/support/editor';

interface JobFixture {
  /** Absent for the blank page, which is no job. */
  readonly id?: string;
  readonly name: string;
  readonly events: number;
  readonly lines: number;
  /** Not the job panel: a page of the bench's own with the same handshake and no bundle. */
  readonly blank?: boolean;
}

interface Step {
  readonly round: number;
  readonly warmup: boolean;
  readonly job: string;
}

interface Config {
  readonly jobs: Record<string, JobFixture>;
  readonly steps: readonly Step[];
  readonly progressFile: string;
  readonly resultFile: string;
}

const LAG_INTERVAL_MS = 10;
const MEMORY_INTERVAL_MS = 100;
const SETTLE_MS = 1000;
const ACK_TIMEOUT_MS = 180_000;

/** Wall-clock ms: Date.now(), the clock Chromium's marks in the webview use too. */
const wallNow = (): number => Date.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Event-loop lag (drift of a 10 ms interval) and memory of this extension host. */
class Samplers {
  readonly memory: Array<{ at: number; rss: number; heapUsed: number }> = [];
  readonly lag: Array<{ at: number; ms: number }> = [];
  private readonly timers: NodeJS.Timeout[] = [];

  start(): void {
    this.timers.push(
      setInterval(() => {
        const { rss, heapUsed } = process.memoryUsage();
        this.memory.push({ at: wallNow(), rss, heapUsed });
      }, MEMORY_INTERVAL_MS),
    );
    let last = performance.now();
    this.timers.push(
      setInterval(() => {
        const now = performance.now();
        this.lag.push({ at: wallNow(), ms: Math.max(0, now - last - LAG_INTERVAL_MS) });
        last = now;
      }, LAG_INTERVAL_MS),
    );
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  summary(start: number, end: number) {
    const lag = this.lag.filter((s) => s.at >= start && s.at <= end).map((s) => s.ms);
    const sorted = [...lag].sort((a, b) => a - b);
    const memory = this.memory.filter((s) => s.at >= start && s.at <= end);
    return {
      lagSamples: lag.length,
      lagMaxMs: sorted.at(-1) ?? NaN,
      lagP99Ms: sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? NaN,
      lagOver50MsTotal: lag.filter((ms) => ms > 50).reduce((a, b) => a + b, 0),
      peakRssMiB: Math.max(...memory.map((s) => s.rss)) / 2 ** 20,
      peakHeapMiB: Math.max(...memory.map((s) => s.heapUsed)) / 2 ** 20,
      // The longest stalls, with their time, for the launcher's timeline.
      stalls: this.lag.filter((s) => s.at >= start && s.at <= end && s.ms > 50).sort((a, b) => b.ms - a.ms).slice(0, 5),
    };
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Fails loudly when the jobs the launcher wrote are not what the extension reads. */
async function checkFixture(api: ModelArtsApi, jobs: Record<string, JobFixture>) {
  const checked: Record<string, unknown> = {};
  for (const [key, fixture] of Object.entries(jobs)) {
    if (!fixture.id) continue;
    const job = await api.jobs.get(fixture.id);
    if (!job) throw new Error(`fixture ${key}: api.jobs.get(${fixture.id}) found no job: the record was not loaded (wrong data folder or a record the schema refused)`);
    if (job.metadata.name !== fixture.name || job.status.phase !== 'Completed') {
      throw new Error(`fixture ${key}: the job reads as ${job.metadata.name} ${job.status.phase}, not ${fixture.name} Completed`);
    }
    const events = await api.jobs.events(fixture.id);
    if (events.length !== fixture.events) throw new Error(`fixture ${key}: api.jobs.events gives ${events.length} events, ${fixture.events} were written`);
    const lines = countLines(await api.jobs.log(fixture.id));
    if (lines !== fixture.lines) throw new Error(`fixture ${key}: api.jobs.log gives ${lines} lines, ${fixture.lines} were written`);
    checked[key] = { name: job.metadata.name, phase: job.status.phase, events: events.length, lines, levels: countBy(events.map((e) => e.level)) };
  }
  return checked;
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

async function waitForFile(file: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no answer from the launcher (${file}) within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
  return fs.readFileSync(file, 'utf8');
}

const webviewTabs = () => vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => tab.input instanceof vscode.TabInputWebview);

/** Closes every editor (the panel is the only one) and waits until no webview tab is left. */
async function closePanels(): Promise<number> {
  const started = wallNow();
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  const deadline = Date.now() + 10_000;
  while (webviewTabs().length) {
    if (Date.now() > deadline) throw new Error(`the job panel did not close: ${webviewTabs().map((t) => t.label).join(', ')}`);
    await sleep(50);
  }
  return wallNow() - started;
}

/**
 * The floor VS Code sets for any webview panel: a page of the bench's own that says `ready` and
 * shows the name and phase in an h1 and a .phase when the host answers with a `job` message, as
 * the job panel does, without its bundle, toolkit or data.
 */
function openBlankPanel(name: string): { panel: vscode.WebviewPanel; ready: Promise<void> } {
  const panel = vscode.window.createWebviewPanel('modelartsBench.blank', `Job: ${name}`, vscode.ViewColumn.Active, { enableScripts: true });
  const nonce = Math.random().toString(36).slice(2);
  panel.webview.html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'">
<title>blank</title></head>
<body><main id="app"></main>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
window.addEventListener('message', (event) => {
  if (event.data.type !== 'job') return;
  const h1 = document.createElement('h1');
  h1.textContent = event.data.name;
  const phase = document.createElement('span');
  phase.className = 'phase';
  phase.textContent = event.data.phase;
  document.getElementById('app').append(h1, phase);
});
vscode.postMessage({ type: 'ready' });
</script></body></html>`;
  const ready = new Promise<void>((resolve) =>
    panel.webview.onDidReceiveMessage((message: { type?: string }) => {
      if (message.type !== 'ready') return;
      void panel.webview.postMessage({ type: 'job', name, phase: 'Completed' });
      resolve();
    }),
  );
  return { panel, ready };
}

/** min / median of `n` timings of `fn` (ms). */
async function timeIt<T>(n: number, fn: () => Promise<T> | T): Promise<{ medianMs: number; minMs: number; value: T }> {
  const times: number[] = [];
  let value!: T;
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    value = await fn();
    times.push(performance.now() - started);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)] as number, minMs: sorted[0] as number, value };
}

/** The host's part for the big job, measured alone after the rounds. */
async function baselines(api: ModelArtsApi, fixture: JobFixture & { id: string }, samplersOf: Samplers) {
  const events = await timeIt(3, () => api.jobs.events(fixture.id));
  const message = { type: 'events', events: events.value, reset: true };
  const stringify = await timeIt(3, () => JSON.stringify(message));
  const log = await timeIt(3, () => api.jobs.log(fixture.id));
  const lines = log.value.split('\n').filter(Boolean);
  const parse = await timeIt(3, () => {
    const parser = createMetricParser();
    const set = new MetricSeriesSet();
    for (const line of lines) set.add(parser(line));
    return set.series();
  });
  const metricsMessage = { type: 'metrics', series: parse.value, resources: [], reset: false };
  // VS Code's part of a message: webview.postMessage of the same messages to the blank page (which
  // ignores them) resolves once the workbench has it; with the event-loop lag meanwhile.
  const { panel, ready } = openBlankPanel('bench-postmessage');
  await ready;
  const post = async (value: unknown) => {
    const times: number[] = [];
    let lagMaxMs = 0;
    for (let i = 0; i < 3; i++) {
      await sleep(300);
      const before = wallNow();
      const started = performance.now();
      await panel.webview.postMessage(value);
      times.push(performance.now() - started);
      await sleep(200);
      lagMaxMs = Math.max(lagMaxMs, samplersOf.summary(before, wallNow()).lagMaxMs);
    }
    return { medianMs: [...times].sort((a, b) => a - b)[1] as number, lagMaxMs };
  };
  const postSmall = await post({ type: 'ping' });
  const postEvents = await post(message);
  const postMetrics = await post(metricsMessage);
  panel.dispose();
  return {
    postSmallMs: postSmall.medianMs,
    postEventsMs: postEvents.medianMs,
    postEventsLagMaxMs: postEvents.lagMaxMs,
    postMetricsMs: postMetrics.medianMs,
    postMetricsLagMaxMs: postMetrics.lagMaxMs,
    eventsMs: events.medianMs,
    eventsMessageBytes: stringify.value.length,
    stringifyEventsMs: stringify.medianMs,
    logMs: log.medianMs,
    logBytes: Buffer.byteLength(log.value),
    parseMetricsMs: parse.medianMs,
    metrics: parse.value.map((s) => ({ metric: s.metric, points: s.steps.length })),
    metricsMessageBytes: JSON.stringify(metricsMessage).length,
  };
}

export async function run(): Promise<void> {
  const config = JSON.parse(process.env.MODELARTS_BENCH_CONFIG ?? '{}') as Config;
  const progress = (event: string, data: Record<string, unknown> = {}) => fs.appendFileSync(config.progressFile, JSON.stringify({ event, at: wallNow(), ...data }) + '\n');
  const samplers = new Samplers();
  samplers.start();
  const result: Record<string, unknown> = { steps: [] as unknown[] };
  try {
    const activationStarted = performance.now();
    const api = await activateApi();
    result.activationMs = performance.now() - activationStarted;
    result.fixture = await checkFixture(api, config.jobs);
    const readyAt = wallNow();
    progress('ready', { fixture: result.fixture, activationMs: result.activationMs });
    await waitForFile(`${config.progressFile}.ack-idle`, ACK_TIMEOUT_MS); // the launcher samples the idle renderer first
    result.idle = samplers.summary(readyAt, wallNow());

    for (const [index, step] of config.steps.entries()) {
      const fixture = config.jobs[step.job];
      if (!fixture) throw new Error(`step ${index}: no job ${step.job}`);
      await sleep(SETTLE_MS); // each opening starts from a quiet host
      const entry: Record<string, unknown> = { index, ...step };
      (result.steps as unknown[]).push(entry);
      const t0 = wallNow();
      progress('open', { step: index, job: step.job, t0 });
      try {
        if (fixture.blank) {
          entry.title = openBlankPanel(fixture.name).panel.title;
        } else {
          const shown = (await vscode.commands.executeCommand('modelarts.jobs.showDetails', { jobId: fixture.id })) as { jobId: string; title: string };
          entry.title = shown.title;
        }
        entry.commandMs = wallNow() - t0;
        progress('opened', { step: index, commandMs: entry.commandMs });
      } catch (error) {
        entry.error = messageOf(error);
        progress('error', { step: index, message: entry.error });
      }
      const answer = JSON.parse(await waitForFile(`${config.progressFile}.ack${index}`, ACK_TIMEOUT_MS)) as { end?: number };
      const end = typeof answer.end === 'number' ? answer.end : wallNow();
      entry.t0 = t0;
      entry.host = samplers.summary(t0, end);
      entry.closeMs = await closePanels();
      fs.writeFileSync(config.resultFile, JSON.stringify(result, null, 2));
    }
    const big = Object.values(config.jobs).reduce((a, b) => (b.events > a.events ? b : a));
    if (!big.id) throw new Error('no job in the fixture');
    await sleep(SETTLE_MS);
    result.baselines = await baselines(api, { ...big, id: big.id }, samplers);
  } catch (error) {
    result.error = error instanceof Error ? `${error.message}\n${error.stack}` : String(error);
    progress('error', { message: messageOf(error) });
    throw error;
  } finally {
    samplers.stop();
    fs.writeFileSync(config.resultFile, JSON.stringify(result, null, 2));
    progress('done');
  }
}
