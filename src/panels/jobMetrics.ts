/**
 * A panel's metrics: training metrics parsed from worker-0's log as it grows (the whole log first,
 * then live), and the task containers' CPU and memory samples. Posts increments, at most four
 * times a second, so a long log does not flood the webview.
 */
import type * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import { MetricSeriesSet, createMetricParser, type MetricSeries } from '../core/metrics';
import type { ResourceSample } from '../core/resourceSample';
import type { TrainingBackend } from '../backends/trainingBackend';
import type { HostMessage } from './protocol';

const POST_EVERY_MS = 250;
/** Lines of the log the overview shows. */
const TAIL_LINES = 12;

type ResourceSeries = Extract<HostMessage, { type: 'metrics' }>['resources'][number];

export class JobMetrics implements vscode.Disposable {
  private readonly series = new MetricSeriesSet();
  private readonly resources = new Map<string, ResourceSeries>();
  /** Points of each metric and samples of each task already posted since the last reset. */
  private readonly sent = new Map<string, number>();
  private tail: string[] = [];
  private tailChanged = false;
  private flushedOnce = false;
  private following: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: vscode.Disposable | undefined;
  private readonly parse: (line: string) => ReturnType<ReturnType<typeof createMetricParser>>;

  constructor(
    private readonly engine: TrainingBackend,
    private readonly jobId: string,
    pattern: string | undefined,
    private readonly post: (message: HostMessage) => void,
    private readonly log: vscode.LogOutputChannel,
  ) {
    let parse: (line: string) => ReturnType<ReturnType<typeof createMetricParser>>;
    try {
      parse = createMetricParser(pattern ? { pattern } : {});
    } catch (error) {
      log.warn(`Metrics of job ${jobId}: ${errorMessage(error)}; the built-in line formats are used`);
      parse = createMetricParser();
    }
    this.parse = parse;
  }

  /** Starts following (once); every later call re-sends everything (the webview was recreated). */
  start(): void {
    this.sent.clear();
    const all = this.series.series();
    this.post({ type: 'metrics', series: all, resources: [...this.resources.values()], reset: true });
    if (this.tail.length) this.post({ type: 'logTail', lines: this.tail });
    this.markAllSent(all);
    if (this.following) return;
    this.following = new AbortController();
    void this.followLog(this.following.signal);
    void this.followResources();
  }

  private async followLog(signal: AbortSignal): Promise<void> {
    try {
      for await (const lines of this.engine.followLog(this.jobId, 'worker-0', { signal })) {
        for (const line of lines) {
          const points = this.parse(line);
          if (points.length) this.series.add(points);
        }
        this.tail = this.tail.concat(lines.slice(-TAIL_LINES)).slice(-TAIL_LINES);
        this.tailChanged = true;
        this.schedule();
      }
    } catch (error) {
      if (!signal.aborted) this.log.warn(`Metrics of job ${this.jobId}: reading the log failed: ${errorMessage(error)}`);
    }
  }

  private async followResources(): Promise<void> {
    // Live samples that arrive while the listing is read wait for it, so none is lost or doubled.
    let early: ResourceSample[] | undefined = [];
    this.unsubscribe = this.engine.onDidAddResourceSample(({ jobId, sample }) => {
      if (jobId !== this.jobId) return;
      if (early) {
        early.push(sample);
        return;
      }
      this.addSample(sample);
      this.schedule();
    });
    try {
      for (const sample of await this.engine.listResourceSamples(this.jobId)) this.addSample(sample);
    } catch (error) {
      this.log.warn(`Resource samples of job ${this.jobId}: ${errorMessage(error)}`);
    }
    for (const sample of early) this.addSample(sample);
    early = undefined;
    this.schedule();
  }

  private addSample(sample: ResourceSample): void {
    let series = this.resources.get(sample.task);
    if (!series) {
      series = { task: sample.task, times: [], cpuPercent: [], memoryBytes: [] };
      this.resources.set(sample.task, series);
    }
    const last = series.times[series.times.length - 1];
    if (last !== undefined && sample.time <= last) return; // the listing and the live event overlap
    series.times.push(sample.time);
    series.cpuPercent.push(sample.cpuPercent);
    series.memoryBytes.push(sample.memoryBytes);
  }

  /** The first batch goes at once (a finished job's whole log); later ones at most every POST_EVERY_MS. */
  private schedule(): void {
    if (this.timer) return;
    const delay = this.flushedOnce ? POST_EVERY_MS : 0;
    this.flushedOnce = true;
    this.timer = setTimeout(() => this.flush(), delay);
  }

  /** Only what is new since the last post: the tail of each series. */
  private flush(): void {
    this.timer = undefined;
    // series() copies every point: take it once per flush.
    const all = this.series.series();
    const series: MetricSeries[] = [];
    for (const each of all) {
      const from = this.sent.get(`m:${each.metric}`) ?? 0;
      if (each.steps.length > from) series.push({ metric: each.metric, steps: each.steps.slice(from), values: each.values.slice(from), stepName: each.stepName });
    }
    const resources: ResourceSeries[] = [];
    for (const each of this.resources.values()) {
      const from = this.sent.get(`r:${each.task}`) ?? 0;
      if (each.times.length > from) {
        resources.push({ task: each.task, times: each.times.slice(from), cpuPercent: each.cpuPercent.slice(from), memoryBytes: each.memoryBytes.slice(from) });
      }
    }
    this.markAllSent(all);
    if (series.length || resources.length) this.post({ type: 'metrics', series, resources, reset: false });
    if (this.tailChanged) {
      this.tailChanged = false;
      this.post({ type: 'logTail', lines: this.tail });
    }
  }

  private markAllSent(all: readonly MetricSeries[]): void {
    for (const each of all) this.sent.set(`m:${each.metric}`, each.steps.length);
    for (const each of this.resources.values()) this.sent.set(`r:${each.task}`, each.times.length);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.following?.abort();
    this.unsubscribe?.dispose();
  }
}
