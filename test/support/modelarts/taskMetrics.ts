/**
 * Running metrics of a task from Docker's stats stream: CPU and memory usage in percent of the
 * task's limits, averaged over each sample interval (-1 for an interval without data), like the
 * per-minute values of ModelArts' metrics API.
 */
import type Docker from 'dockerode';
import type { TaskRecord } from './jobModel';

interface StatsFrame {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

interface Usage {
  /** Undefined for the first frame of a stream, which has no earlier reading to compare with. */
  readonly cpu: number | undefined;
  readonly mem: number;
}

/** CPU % of the task's cores and memory % of its limit, or undefined for a frame without data. */
export function usageOf(frame: StatsFrame, cores: number): Usage | undefined {
  const cpu = frame.cpu_stats;
  const before = frame.precpu_stats;
  const memory = frame.memory_stats;
  if (!memory?.usage || !memory.limit) return undefined;
  const cache = memory.stats?.['inactive_file'] ?? memory.stats?.['total_inactive_file'] ?? 0;
  const mem = round(((memory.usage - (cache < memory.usage ? cache : 0)) / memory.limit) * 100);
  if (!cpu?.system_cpu_usage || !before?.system_cpu_usage) return { cpu: undefined, mem };
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (before.cpu_usage?.total_usage ?? 0);
  const systemDelta = cpu.system_cpu_usage - before.system_cpu_usage;
  const online = cpu.online_cpus || 1;
  const percentOfOneCore = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
  return { cpu: round(Math.min(100, percentOfOneCore / Math.max(1, cores))), mem };
}

export class TaskSampler {
  private stream: NodeJS.ReadableStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending: Usage[] = [];
  private buffered = '';
  private stopped = false;

  constructor(
    private readonly container: Docker.Container,
    private readonly task: TaskRecord,
    private readonly intervalMs: number,
    private readonly cores: number,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    try {
      const stream = await this.container.stats({ stream: true });
      if (this.stopped) {
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        return;
      }
      this.stream = stream;
      stream.on('data', (chunk: Buffer) => this.read(chunk.toString('utf8')));
      stream.on('error', () => undefined);
    } catch {
      // No stats (the container is already gone): the intervals stay at -1.
    }
  }

  /** Stops sampling; what arrived since the last interval becomes one last (shorter) value. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending.length) this.flush();
    (this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
    this.stream = undefined;
  }

  private read(text: string): void {
    this.buffered += text;
    let newline = this.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffered.slice(0, newline).trim();
      this.buffered = this.buffered.slice(newline + 1);
      if (line) {
        try {
          const usage = usageOf(JSON.parse(line) as StatsFrame, this.cores);
          if (usage) this.pending.push(usage);
        } catch {
          // A torn frame: skip it.
        }
      }
      newline = this.buffered.indexOf('\n');
    }
  }

  private flush(): void {
    const samples = this.pending.splice(0);
    const average = (values: number[]) => (values.length ? round(values.reduce((sum, v) => sum + v, 0) / values.length) : -1);
    this.task.cpu.push(average(samples.flatMap((s) => (s.cpu === undefined ? [] : [s.cpu]))));
    this.task.mem.push(average(samples.map((s) => s.mem)));
  }
}

const NO_DATA_METRICS = ['gpuUtil', 'gpuMemUsage', 'npuUtil', 'npuMemUsage'] as const;

/** The documented metrics answer; accelerators are absent here, so their values are all -1. */
export function metricsView(task: TaskRecord) {
  const length = task.cpu.length;
  return {
    metrics: [
      { metric: 'cpuUsage', value: [...task.cpu] },
      { metric: 'memUsage', value: [...task.mem] },
      ...NO_DATA_METRICS.map((metric) => ({ metric, value: Array.from({ length }, () => -1) })),
    ],
  };
}
