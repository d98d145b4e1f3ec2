/**
 * CPU and memory of running task containers, from Docker's stats stream (one JSON object a
 * second), appended to `stats.jsonl` in the job's folder so the samples go with the job. Only the
 * engine that writes the data folder samples; a following window tails the file.
 *
 * Every stream is closed when its task exits, its job ends or the engine goes: each one is an open
 * HTTP connection to Docker.
 */
import type Docker from 'dockerode';
import * as fs from 'node:fs';
import { z } from 'zod';
import { errorMessage } from '../../core/errors';
import type { Disposable } from '../../core/events';
import { LineSplitter, parseJsonLines } from '../../core/lines';
import type { Logger } from '../../core/logger';
import { resourceSampleSchema, type ResourceSample, type ResourceSampleAdded } from '../../core/resourceSample';
import { dockerErrorMessage, dockerTime } from './docker';
import { countLines } from './logCapture';

// ---- Docker's payload -----------------------------------------------------------------------

const cpuStatsSchema = z.looseObject({
  cpu_usage: z.looseObject({
    total_usage: z.number().optional(),
    percpu_usage: z.array(z.number()).nullish(),
  }).optional(),
  system_cpu_usage: z.number().optional(),
  online_cpus: z.number().optional(),
});

/** GET /containers/{id}/stats, the parts a sample needs. A stopped container's frames are zeroed. */
export const dockerStatsSchema = z.looseObject({
  read: z.string(),
  cpu_stats: cpuStatsSchema,
  precpu_stats: cpuStatsSchema,
  memory_stats: z.looseObject({
    usage: z.number().optional(),
    limit: z.number().optional(),
    stats: z.record(z.string(), z.number()).optional(),
  }),
});
export type DockerStats = z.output<typeof dockerStatsSchema>;

/**
 * A sample as `docker stats` computes it, or undefined for a frame that says nothing: the first of
 * a stream (no earlier CPU reading to compare with) and those of a stopped container.
 */
export function sampleFromDockerStats(stats: DockerStats, task: string): ResourceSample | undefined {
  const time = dockerTime(stats.read);
  const usage = stats.memory_stats.usage;
  const before = stats.precpu_stats;
  if (time === undefined || usage === undefined || !before.system_cpu_usage) return undefined;
  const cpuDelta = (stats.cpu_stats.cpu_usage?.total_usage ?? 0) - (before.cpu_usage?.total_usage ?? 0);
  const systemDelta = (stats.cpu_stats.system_cpu_usage ?? 0) - before.system_cpu_usage;
  const cpus = stats.cpu_stats.online_cpus || stats.cpu_stats.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  return {
    time,
    task,
    cpuPercent: Math.round(cpuPercent * 10) / 10,
    memoryBytes: usage - reclaimableCache(usage, stats.memory_stats.stats ?? {}),
    memoryLimitBytes: stats.memory_stats.limit ?? 0,
  };
}

/** The page cache the kernel can drop, which the docker CLI leaves out of "MEM USAGE". */
function reclaimableCache(usage: number, stats: Record<string, number>): number {
  const v1 = stats['total_inactive_file'];
  if (v1 !== undefined && v1 < usage) return v1;
  const v2 = stats['inactive_file'];
  if (v2 !== undefined && v2 < usage) return v2;
  return 0;
}

/**
 * Halves each task's samples (every other one, keeping the first and the last) until at most `max`
 * are left: a long job keeps its whole span, at a lower resolution the older a sample is.
 */
export function thinSamples(samples: readonly ResourceSample[], max: number): ResourceSample[] {
  let kept = [...samples];
  while (kept.length > Math.max(max, 1)) {
    const last = new Map<string, number>();
    kept.forEach((sample, index) => last.set(sample.task, index));
    const seen = new Map<string, number>();
    const before = kept.length;
    kept = kept.filter((sample, index) => {
      const n = seen.get(sample.task) ?? 0;
      seen.set(sample.task, n + 1);
      return n % 2 === 0 || last.get(sample.task) === index;
    });
    if (kept.length === before) break; // one or two samples per task: nothing left to thin
  }
  return kept;
}

// ---- Sampling -------------------------------------------------------------------------------

export interface ResourceStatsOptions {
  readonly docker: Docker;
  /** The job's samples file, in the job's folder (removed with it). */
  readonly file: (jobId: string) => string;
  readonly logger: Logger;
  readonly onSample: (added: ResourceSampleAdded) => void;
  /** Fewest milliseconds between two samples of a task. */
  readonly minIntervalMs?: number;
  /** Samples wait at most this long before they are written… */
  readonly flushMs?: number;
  /** …or until this many are waiting for a job. */
  readonly flushSamples?: number;
  /** Most samples kept per job; past it, older ones are thinned out. */
  readonly maxSamples?: number;
}

interface TaskSampler {
  /** Resolves once the stream is closed (or could not be opened). */
  readonly closed: Promise<void>;
  stop(): void;
}

interface JobSamples {
  pending: ResourceSample[];
  /** Samples in the file, once known. */
  count: number | undefined;
  /** Writes to the job's file, one after another. */
  writes: Promise<void>;
}

/** What a following window has read of a job's file. */
interface Tail {
  ino: number;
  offset: number;
  /** The newest sample announced per task: none is announced twice. */
  readonly newest: Map<string, number>;
  /** Samples of a task not seen yet are announced from this time on. */
  readonly since: number;
  reading: Promise<void>;
}

export class ResourceStats implements Disposable {
  private readonly samplers = new Map<string, TaskSampler>();
  private readonly jobs = new Map<string, JobSamples>();
  private readonly tails = new Map<string, Tail>();
  private flushTimer: NodeJS.Timeout | undefined;
  private openStreams = 0;
  private disposed = false;

  constructor(private readonly options: ResourceStatsOptions) {}

  /** Stats streams open right now (each is a connection to Docker). */
  get streamCount(): number {
    return this.openStreams;
  }

  /** Samples the task's container until stop(); idempotent while it samples. */
  start(jobId: string, task: string, containerId: string): void {
    const key = `${jobId}/${task}`;
    if (this.disposed || this.samplers.has(key)) return;
    const abort = new AbortController();
    let stream: NodeJS.ReadableStream | undefined;
    const sampler: TaskSampler = {
      closed: this.sample(jobId, task, containerId, abort.signal, (opened) => (stream = opened)).finally(() => {
        if (this.samplers.get(key) === sampler) this.samplers.delete(key);
      }),
      stop: () => {
        abort.abort();
        destroy(stream);
      },
    };
    this.samplers.set(key, sampler);
  }

  private async sample(
    jobId: string,
    task: string,
    containerId: string,
    signal: AbortSignal,
    opened: (stream: NodeJS.ReadableStream) => void,
  ): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.options.docker.getContainer(containerId).stats({ stream: true, abortSignal: signal } as { stream: true });
    } catch (error) {
      if (!signal.aborted) this.options.logger.warn(`Cannot sample the CPU and memory of ${task} of job ${jobId}: ${dockerErrorMessage(error)}`);
      return;
    }
    opened(stream);
    this.openStreams += 1;
    try {
      await new Promise<void>((resolve) => {
        const readable = stream as NodeJS.ReadableStream & { destroyed?: boolean; closed?: boolean };
        stream.on('close', resolve);
        // Ended or failed: make sure the connection goes too.
        stream.on('end', () => destroy(stream));
        stream.on('error', (error: unknown) => {
          if (!signal.aborted) this.options.logger.debug(`The stats stream of ${task} of job ${jobId} ended: ${errorMessage(error)}`);
          destroy(stream);
        });
        if (signal.aborted || readable.destroyed || readable.closed) {
          destroy(stream);
          if (readable.closed) resolve();
          return;
        }
        const lines = new LineSplitter();
        let newest = 0;
        let warned = false;
        stream.on('data', (chunk: Buffer) => {
          if (signal.aborted) return;
          for (const line of lines.push(chunk)) {
            if (!line.trim()) continue;
            let sample: ResourceSample | undefined;
            try {
              sample = sampleFromDockerStats(dockerStatsSchema.parse(JSON.parse(line)), task);
            } catch (error) {
              // Said once per stream: a Docker that answers in another shape would say it every second.
              if (!warned) this.options.logger.warn(`Skipping malformed Docker stats of ${task} of job ${jobId} (${errorMessage(error)}): ${line.slice(0, 200)}`);
              warned = true;
              continue;
            }
            if (!sample || sample.time - newest < (this.options.minIntervalMs ?? 1000)) continue;
            newest = sample.time;
            this.add(jobId, sample);
          }
        });
      });
    } finally {
      this.openStreams -= 1;
    }
  }

  /** Stops sampling the task; resolves once its stream is closed. */
  stop(jobId: string, task: string): Promise<void> {
    const key = `${jobId}/${task}`;
    const sampler = this.samplers.get(key);
    if (!sampler) return Promise.resolve();
    this.samplers.delete(key);
    sampler.stop();
    return sampler.closed;
  }

  /** Stops sampling every task of the job (it ended) and writes what is waiting. */
  async stopJob(jobId: string): Promise<void> {
    await this.stopTasks(jobId);
    await this.flushJob(jobId);
  }

  private async stopTasks(jobId: string): Promise<void> {
    const prefix = `${jobId}/`;
    const tasks = [...this.samplers.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length));
    await Promise.all(tasks.map((task) => this.stop(jobId, task)));
  }

  /** Stops every stream (the connection to Docker is gone; reconciliation starts them again). */
  stopAll(): void {
    for (const sampler of this.samplers.values()) sampler.stop();
    this.samplers.clear();
  }

  private add(jobId: string, sample: ResourceSample): void {
    let job = this.jobs.get(jobId);
    if (!job) {
      job = { pending: [], count: undefined, writes: Promise.resolve() };
      this.jobs.set(jobId, job);
    }
    job.pending.push(sample);
    this.options.onSample({ jobId, sample });
    if (job.pending.length >= (this.options.flushSamples ?? 50)) void this.flushJob(jobId);
    else this.flushTimer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 2000).unref();
  }

  /** Writes every job's waiting samples. */
  async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await Promise.all([...this.jobs.keys()].map((jobId) => this.flushJob(jobId)));
  }

  private flushJob(jobId: string): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job) return Promise.resolve();
    job.writes = job.writes.then(() => this.write(jobId, job)).catch((error: unknown) =>
      this.options.logger.warn(`Could not save the CPU and memory samples of job ${jobId}: ${errorMessage(error)}`),
    );
    return job.writes;
  }

  private async write(jobId: string, job: JobSamples): Promise<void> {
    const batch = job.pending.splice(0);
    if (batch.length === 0) return;
    const file = this.options.file(jobId);
    job.count ??= await countLines(file);
    try {
      // No mkdir: the job's folder exists while the job does; a deleted job's samples go with it.
      await fs.promises.appendFile(file, batch.map((sample) => JSON.stringify(sample) + '\n').join(''));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    job.count += batch.length;
    const max = this.options.maxSamples ?? 20_000;
    if (job.count <= max) return;
    const kept = thinSamples(await readSamples(file), max);
    const temporary = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(temporary, kept.map((sample) => JSON.stringify(sample) + '\n').join(''));
    await fs.promises.rename(temporary, file);
    job.count = kept.length;
  }

  /** The job's samples, oldest first (with those still waiting to be written). */
  async read(jobId: string): Promise<ResourceSample[]> {
    await this.flushJob(jobId);
    return readSamples(this.options.file(jobId));
  }

  /** Stops sampling the job and removes its samples (the job is being deleted). */
  async remove(jobId: string): Promise<void> {
    await this.stopTasks(jobId);
    const job = this.jobs.get(jobId);
    this.jobs.delete(jobId);
    this.tails.delete(jobId);
    if (job) {
      job.pending = [];
      await job.writes;
    }
    await fs.promises.rm(this.options.file(jobId), { force: true });
  }

  /**
   * The writer in another window appended to (or thinned) the job's file: announces the samples not
   * seen yet. The first time, only the last few seconds' samples are announced, not the whole past.
   */
  tail(jobId: string): Promise<void> {
    let tail = this.tails.get(jobId);
    if (!tail) {
      tail = { ino: -1, offset: 0, newest: new Map(), since: Date.now() - 5 * (this.options.flushMs ?? 2000), reading: Promise.resolve() };
      this.tails.set(jobId, tail);
    }
    const current = tail;
    current.reading = current.reading.then(() => this.readTail(jobId, current)).catch((error: unknown) =>
      this.options.logger.debug(`Reading the CPU and memory samples of job ${jobId}: ${errorMessage(error)}`),
    );
    return current.reading;
  }

  private async readTail(jobId: string, tail: Tail): Promise<void> {
    const file = this.options.file(jobId);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let text: string;
    try {
      const stat = await handle.stat();
      // Thinned: a new file replaced the old one.
      if (stat.ino !== tail.ino || stat.size < tail.offset) tail.offset = 0;
      tail.ino = stat.ino;
      if (stat.size === tail.offset) return;
      const buffer = Buffer.alloc(stat.size - tail.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, tail.offset);
      // Only whole lines: the rest of a line being appended comes with the next change.
      const end = buffer.subarray(0, bytesRead).lastIndexOf(10) + 1;
      text = buffer.subarray(0, end).toString('utf8');
      tail.offset += end;
    } finally {
      await handle.close();
    }
    for (const sample of parseSamples(text)) {
      if (sample.time <= (tail.newest.get(sample.task) ?? tail.since - 1)) continue;
      tail.newest.set(sample.task, sample.time);
      this.options.onSample({ jobId, sample });
    }
  }

  dispose(): void {
    this.disposed = true;
    this.stopAll();
    // What was sampled until now is kept.
    void this.flush();
  }
}

async function readSamples(file: string): Promise<ResourceSample[]> {
  try {
    return parseSamples(await fs.promises.readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Samples in JSON lines; a torn last line (a crash mid-append) is skipped. */
function parseSamples(text: string): ResourceSample[] {
  return parseJsonLines(text, resourceSampleSchema);
}

function destroy(stream: NodeJS.ReadableStream | undefined): void {
  (stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
}
