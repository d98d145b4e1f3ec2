/**
 * The extension-host half of bench/logChannel.mjs, loaded by code-server as extensionTestsPath (the
 * same run() convention as test/editor/index.ts). It drives the real extension through its API
 * and commands: creates a job that prints N numbered lines, then runs modelarts.jobs.showLogs and
 * times until the output channel holds every line, while it samples this host's memory (every
 * 100 ms) and event-loop lag (drift of a 10 ms interval).
 *
 * "The channel holds every line": VS Code's extension host writes each OutputChannel.append to the
 * channel's backing file (<logs>/exthost*\/output_logging_*\/<n>-<name>.log, through spdlog), which
 * the Output view reads. The host polls that file's tail every 25 ms for the extension's closing
 * "[ModelArts] Training job <name> …" line, appended after the last log line. The launcher counts
 * the file's lines afterwards, off the clock.
 *
 * Rounds: "replay" waits for the job to end, times the baselines (`docker logs` and api.jobs.log of
 * the finished job), then opens the channel on the complete log; "live" opens the channel right
 * after creating the job and follows it while it prints.
 *
 * Configuration (env MODELARTS_BENCH_CONFIG, JSON): lines, codeDir, home (code-server's user data,
 * searched for the backing file), progressFile (JSON lines for the launcher; it answers each round
 * with `<progressFile>.ack<round>`), resultFile, rounds.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelArtsApi, TrainingJob } from '../../src/api';

interface Config {
  readonly lines: number;
  readonly codeDir: string;
  readonly home: string;
  readonly progressFile: string;
  readonly resultFile: string;
  readonly rounds: ReadonlyArray<'replay' | 'live'>;
}

interface Window {
  readonly start: number;
  readonly end: number;
}

const EXTENSION_ID = 'modelarts-training.modelarts-training';
const TERMINAL = new Set(['Completed', 'Failed', 'Terminated', 'Abnormal']);
const LAG_INTERVAL_MS = 10;
const MEMORY_INTERVAL_MS = 100;
const POLL_MS = 25;

const wallNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Memory and event-loop lag of this extension host, sampled for the whole run. */
class Samplers {
  readonly memory: Array<{ at: number; rss: number; heapUsed: number; external: number }> = [];
  readonly lag: Array<{ at: number; ms: number }> = [];
  private readonly timers: NodeJS.Timeout[] = [];

  start(): void {
    const sampleMemory = () => {
      const { rss, heapUsed, external } = process.memoryUsage();
      this.memory.push({ at: wallNow(), rss, heapUsed, external });
    };
    sampleMemory();
    this.timers.push(setInterval(sampleMemory, MEMORY_INTERVAL_MS));
    let last = performance.now();
    this.timers.push(
      setInterval(() => {
        const now = performance.now();
        this.lag.push({ at: performance.timeOrigin + now, ms: Math.max(0, now - last - LAG_INTERVAL_MS) });
        last = now;
      }, LAG_INTERVAL_MS),
    );
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  /** Peaks and lag figures within a window (and the memory just before it). */
  summary(window: Window) {
    const memory = this.memory.filter((s) => s.at >= window.start && s.at <= window.end);
    const before = [...this.memory].reverse().find((s) => s.at < window.start) ?? memory[0];
    const lag = this.lag.filter((s) => s.at >= window.start && s.at <= window.end).map((s) => s.ms);
    const sorted = [...lag].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
    return {
      rssBeforeMiB: (before?.rss ?? NaN) / 2 ** 20,
      heapBeforeMiB: (before?.heapUsed ?? NaN) / 2 ** 20,
      peakRssMiB: Math.max(...memory.map((s) => s.rss)) / 2 ** 20,
      peakHeapMiB: Math.max(...memory.map((s) => s.heapUsed)) / 2 ** 20,
      peakExternalMiB: Math.max(...memory.map((s) => s.external)) / 2 ** 20,
      lagSamples: lag.length,
      lagMaxMs: sorted.at(-1) ?? NaN,
      lagP99Ms: at(0.99),
      lagP50Ms: at(0.5),
      // Time the loop was late by more than 50 ms in total: how long the host could not answer promptly.
      lagOver50MsTotal: lag.filter((ms) => ms > 50).reduce((a, b) => a + b, 0),
    };
  }
}

async function activate(): Promise<ModelArtsApi> {
  const extension = vscode.extensions.getExtension<ModelArtsApi>(EXTENSION_ID);
  if (!extension) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  const api = await extension.activate();
  const deadline = Date.now() + 30_000;
  while (api.engine.state.kind !== 'available') {
    if (Date.now() > deadline) throw new Error(`the engine did not become available: ${JSON.stringify(api.engine.state)}`);
    await sleep(100);
  }
  return api;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

function countLines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** `docker logs` of the finished container, piped into a newline counter. */
function dockerLogs(jobId: string): Promise<{ ms: number; lines: number }> {
  const found = spawnSync('docker', ['ps', '-aq', '--filter', `label=org.modelarts-training.job-id=${jobId}`], { encoding: 'utf8' });
  const containerId = found.stdout.trim().split('\n')[0];
  if (!containerId) throw new Error(`no container of job ${jobId}`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('docker', ['logs', containerId], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    const onData = (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', () => resolve({ ms: performance.now() - started, lines }));
  });
}

/**
 * The output channel's backing file: `<n>-<name without \\/:*?"<>|>.log` in the host's
 * output_logging_* folder under the logs. The newest (highest n) when a channel of that name was
 * made again. The folder is found once, then only it is listed.
 */
let outputFolder: string | undefined;
function findBackingFile(root: string, channelName: string): string | undefined {
  const suffix = `-${channelName.replace(/[\\/:*?"<>|]/g, '')}.log`;
  const newestIn = (dir: string) => {
    let best: { n: number; file: string } | undefined;
    for (const name of fs.readdirSync(dir)) {
      const n = Number(/^(\d+)-/.exec(name)?.[1]);
      if (name.endsWith(suffix) && n >= (best?.n ?? 0)) best = { n, file: path.join(dir, name) };
    }
    return best?.file;
  };
  if (outputFolder) return newestIn(outputFolder);
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop() as string;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.isDirectory() && !['extensions', 'globalStorage', 'workspaceStorage', 'CachedData', 'xdg-cache'].includes(entry.name)) {
        stack.push(path.join(dir, entry.name));
      } else if (entry.isFile() && entry.name.endsWith(suffix) && /^\d+-/.test(entry.name)) {
        outputFolder = dir;
        return newestIn(dir);
      }
    }
  }
  return undefined;
}

/** The last `bytes` of a file (empty if it does not exist yet). */
async function tail(file: string, bytes: number): Promise<{ size: number; text: string }> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(file, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return { size, text: buffer.toString('utf8') };
  } catch {
    return { size: 0, text: '' };
  } finally {
    await handle?.close();
  }
}

async function waitForAck(config: Config, round: number): Promise<string> {
  const file = `${config.progressFile}.ack${round}`;
  return waitFor(`the launcher's answer to round ${round}`, 180_000, () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined), 100);
}

/**
 * The Output view's text model as this host sees it: VS Code syncs every model under its size limit
 * to the extension host, output channels' included, so each document's line count here is what
 * the Output view holds.
 */
class OutputDocuments {
  readonly events: Array<{ at: number; uri: string; kind: 'open' | 'change' | 'close'; lineCount: number }> = [];
  private readonly subscriptions: vscode.Disposable[] = [];
  private markers = new Map<string, number>();

  start(): void {
    const record = (kind: 'open' | 'change' | 'close', document: vscode.TextDocument) => {
      if (document.uri.scheme !== 'output') return;
      const last = this.events.at(-1);
      const at = wallNow();
      // One event per document per 100 ms is enough for a curve.
      if (kind === 'change' && last && last.uri === document.uri.toString() && last.kind === 'change' && at - last.at < 100) {
        Object.assign(last, { lineCount: document.lineCount });
      } else {
        this.events.push({ at, uri: document.uri.toString(), kind, lineCount: document.lineCount });
      }
    };
    this.subscriptions.push(
      vscode.workspace.onDidOpenTextDocument((document) => record('open', document)),
      vscode.workspace.onDidCloseTextDocument((document) => record('close', document)),
      vscode.workspace.onDidChangeTextDocument(({ document, contentChanges }) => {
        record('change', document);
        for (const marker of this.markers.keys()) {
          if (this.markers.get(marker) === 0 && contentChanges.some((change) => change.text.includes(marker))) this.markers.set(marker, wallNow());
        }
      }),
    );
  }

  /** Times the first change that brings `marker` into an output document. */
  watch(marker: string): void {
    this.markers.set(marker, 0);
  }

  seen(marker: string): number | undefined {
    return this.markers.get(marker) || undefined;
  }

  /** The open output document whose text ends with `marker`'s line, with its first line. */
  holding(marker: string) {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output' && d.lineCount > 1 && d.lineAt(Math.max(0, d.lineCount - 2)).text.startsWith(marker));
    return document && { uri: document.uri.toString(), lineCount: document.lineCount, firstLine: document.lineAt(0).text, numbered: numberedLines(document) };
  }

  stop(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}

/**
 * What a document holds of the numbered lines ("line <n> …", n = 0 … lines − 1): the first and
 * last, runs missing in between (holes), lines that are neither numbered nor the extension's own
 * "[ModelArts] …" lines, and whether one of those says that lines were left out. One pass, after
 * the round (off the clock).
 */
function numberedLines(document: vscode.TextDocument) {
  const holes: Array<{ afterLine: number; missing: number }> = [];
  const unexpected: string[] = [];
  let first: number | undefined;
  let next = 0;
  let notice = false;
  for (let i = 0; i < document.lineCount; i++) {
    const text = document.lineAt(i).text;
    const match = /^line (\d+) x+$/.exec(text);
    if (!match) {
      if (text.startsWith('[ModelArts]')) notice ||= first === undefined && /left out|not shown|newest lines/.test(text);
      else if (text && unexpected.length < 5) unexpected.push(`${i}: ${text.slice(0, 60)}`);
      continue;
    }
    const n = Number(match[1]);
    if (first === undefined) first = n;
    else if (n !== next && holes.length < 20) holes.push({ afterLine: next - 1, missing: n - next });
    next = n + 1;
  }
  return { first: first ?? -1, last: next - 1, holes, unexpected, notice };
}

export async function run(): Promise<void> {
  const config = JSON.parse(process.env.MODELARTS_BENCH_CONFIG ?? '{}') as Config;
  const progress = (event: string, data: Record<string, unknown> = {}) => fs.appendFileSync(config.progressFile, JSON.stringify({ event, at: wallNow(), ...data }) + '\n');
  const samplers = new Samplers();
  samplers.start();
  const outputDocuments = new OutputDocuments();
  outputDocuments.start();
  const result: Record<string, unknown> = { lines: config.lines, rounds: [] as unknown[] };
  try {
    const activationStarted = performance.now();
    const api = await activate();
    result.activationMs = performance.now() - activationStarted;
    progress('ready');
    await waitForAck(config, 0); // the launcher samples the idle renderer first
    for (const [index, mode] of config.rounds.entries()) {
      const round = index + 1;
      const name = `bench-logs-${Date.now().toString(36)}-${round}`;
      const request = {
        kind: 'job' as const,
        metadata: { name },
        algorithm: { code_dir: config.codeDir, boot_file: 'spam.py', engine: { engine_name: 'PyTorch', engine_version: '1.13-cpu' }, parameters: [{ name: 'lines', value: config.lines }] },
      };
      const entry: Record<string, unknown> = { round, mode, name };
      (result.rounds as unknown[]).push(entry);
      let job: TrainingJob;
      let start: number;
      if (mode === 'replay') {
        job = await api.jobs.create(request);
        const id = job.metadata.id;
        progress('job-created', { round, jobId: id });
        const ended = await waitFor('the job to end', 120_000, async () => {
          const current = await api.jobs.get(id);
          return current && TERMINAL.has(current.status.phase) ? current : undefined;
        });
        entry.phase = ended.status.phase;
        // Baselines on the finished job: docker logs, then our engine's whole-log read (retried
        // until complete: the phase turns final a little before the log capture ends).
        entry.dockerLogs = await dockerLogs(id);
        entry.apiLog = await waitFor('the complete log through api.jobs.log', 30_000, async () => {
          const started = performance.now();
          const text = await api.jobs.log(id);
          const ms = performance.now() - started;
          const lines = countLines(text);
          return lines >= config.lines ? { ms, lines } : undefined;
        }, 500);
        await sleep(1000); // let the host settle: the window starts from a quiet loop
        progress('append-start', { round, mode, name, jobId: id });
        start = wallNow();
      } else {
        await sleep(1000);
        progress('append-start', { round, mode, name });
        start = wallNow();
        job = await api.jobs.create(request);
        progress('job-created', { round, jobId: job.metadata.id });
      }
      entry.jobId = job.metadata.id;
      const marker = `[ModelArts] Training job ${name} `;
      outputDocuments.watch(marker);
      const shown = (await vscode.commands.executeCommand('modelarts.jobs.showLogs', job.metadata.id)) as { channel: string };
      const commandMs = wallNow() - start;
      let file = await waitFor('the output channel file', 30_000, () => findBackingFile(config.home, shown.channel), POLL_MS);
      let reported = start;
      const growth: Array<[seconds: number, bytes: number]> = [];
      await waitFor(
        'the closing line in the channel',
        170_000,
        async () => {
          file = findBackingFile(config.home, shown.channel) ?? file; // a channel made afresh has a new file
          const { size, text } = await tail(file, 512);
          if (wallNow() - reported >= 1000) {
            reported = wallNow();
            growth.push([(reported - start) / 1000, size]);
            progress('channel', { round, bytes: size });
          }
          return text.includes(marker) ? true : undefined;
        },
        POLL_MS,
      );
      entry.growth = growth;
      const end = wallNow();
      progress('append-end', { round, file, channel: shown.channel });
      Object.assign(entry, { start, end, seconds: (end - start) / 1000, commandMs, channel: shown.channel, file, host: samplers.summary({ start, end }) });
      if (mode === 'live') entry.phase = (await api.jobs.get(job.metadata.id))?.status.phase;
      entry.launcher = JSON.parse(await waitForAck(config, round)) as unknown;
      entry.outputDocument = { seenAt: outputDocuments.seen(marker), holding: outputDocuments.holding(marker) };
      // From showLogs until the Output view showed the end (or the launcher gave up on it).
      const viewEnd = (entry.launcher as { viewEndS?: number | null }).viewEndS;
      entry.untilView = samplers.summary({ start, end: typeof viewEnd === 'number' ? start + viewEnd * 1000 : wallNow() });
      // What the host holds once the round is over (the channel stays open, as a person leaves it).
      await sleep(1000);
      entry.after = samplers.summary({ start: wallNow() - 900, end: wallNow() });
      fs.writeFileSync(config.resultFile, JSON.stringify(result, null, 2));
    }
  } catch (error) {
    result.error = error instanceof Error ? `${error.message}\n${error.stack}` : String(error);
    progress('error', { message: String(result.error) });
    throw error;
  } finally {
    samplers.stop();
    outputDocuments.stop();
    result.memory = samplers.memory;
    result.stalls = samplers.lag.filter((s) => s.ms > 100);
    result.outputDocumentEvents = outputDocuments.events;
    fs.writeFileSync(config.resultFile, JSON.stringify(result, null, 2));
    progress('done');
  }
}
