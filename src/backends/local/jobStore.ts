/**
 * The local engine's on-disk store: one folder per job with its record (atomic writes: write a
 * temporary file, then rename), its events (appended JSON lines), its task logs and its outputs.
 * Records are validated with zod when read back; a damaged record is reported, not fatal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { trainingJobSchema, type JobChange } from '../../core/job';
import { jobEventSchema, type JobEvent } from '../../core/jobEvent';
import { parseJsonLines } from '../../core/lines';

/** Freezes an object and everything it holds; changes go through copies (see LocalBackend.update). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** What the local engine keeps beside the ModelArts job: its containers, one per task. */
export const localStateSchema = z.object({
  containers: z.record(z.string(), z.string()).default({}),
  /** The host folder each output is bound to. */
  outputDirs: z.record(z.string(), z.string()).default({}),
  /** The host folder each input is bound to (read-only): a local folder or a staged copy in the input cache. */
  inputDirs: z.record(z.string(), z.string()).default({}),
  /** The job's own network (distributed jobs), so its tasks resolve each other by host name. */
  network: z.string().optional(),
  /** The scheduler let the job start: it holds its share of the local capacity until it ends. */
  admitted: z.boolean().default(false),
  /** Automatic restarts so far (fault-tolerance/job-retry-num). */
  attempt: z.number().int().nonnegative().default(0),
  /** The first fault of the current attempt; the job ends (or restarts) once every task has exited. */
  fault: z.object({ kind: z.enum(['failed', 'abnormal']), task: z.string(), reason: z.string() }).optional(),
});
export type LocalState = z.output<typeof localStateSchema>;

export const jobRecordSchema = z.object({
  version: z.literal(1),
  job: trainingJobSchema,
  local: localStateSchema,
});
export type JobRecord = z.output<typeof jobRecordSchema>;

export class JobStore {
  private readonly records = new Map<string, JobRecord>();
  /** Writes to one job's files run one after another. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly root: string,
    private readonly onDamaged: (file: string, error: unknown) => void,
  ) {}

  jobDir(id: string): string {
    return path.join(this.root, 'jobs', id);
  }

  logFile(id: string, task: string): string {
    return path.join(this.jobDir(id), 'logs', `${task}.log`);
  }

  outputDir(id: string, name: string): string {
    return path.join(this.jobDir(id), 'outputs', `${name}_0`);
  }

  private recordFile(id: string): string {
    return path.join(this.jobDir(id), 'job.json');
  }

  private eventsFile(id: string): string {
    return path.join(this.jobDir(id), 'events.jsonl');
  }

  /** Reads every job record into memory. */
  async load(): Promise<void> {
    const jobsDir = path.join(this.root, 'jobs');
    await fs.promises.mkdir(jobsDir, { recursive: true });
    const ids = await fs.promises.readdir(jobsDir);
    const loaded = await Promise.all(
      ids.map(async (id) => {
        const file = this.recordFile(id);
        try {
          return jobRecordSchema.parse(JSON.parse(await fs.promises.readFile(file, 'utf8')));
        } catch (error) {
          // A folder without a record is a job whose creation was interrupted.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.onDamaged(file, error);
          return undefined;
        }
      }),
    );
    this.records.clear();
    for (const record of loaded) {
      if (record) this.records.set(record.job.metadata.id, { ...record, job: deepFreeze(record.job) });
    }
  }

  /** Reads one job's record again (another window wrote it); says what changed. */
  async refresh(id: string): Promise<JobChange | undefined> {
    const before = this.records.get(id);
    let record: JobRecord | undefined;
    try {
      record = jobRecordSchema.parse(JSON.parse(await fs.promises.readFile(this.recordFile(id), 'utf8')));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined; // mid-write: the next change reads it
    }
    if (!record) {
      if (!before) return undefined;
      this.records.delete(id);
      return { kind: 'deleted', job: before.job };
    }
    if (before && JSON.stringify(before.job) === JSON.stringify(record.job)) return undefined;
    const job = deepFreeze(record.job);
    this.records.set(id, { ...record, job });
    return { kind: before ? 'updated' : 'created', job };
  }

  /** Every record, newest first. */
  list(): JobRecord[] {
    return [...this.records.values()].sort((a, b) => b.job.metadata.create_time - a.job.metadata.create_time);
  }

  get(id: string): JobRecord | undefined {
    return this.records.get(id);
  }

  /** Saves the record (in memory at once, on disk in order). */
  save(record: JobRecord): Promise<void> {
    const id = record.job.metadata.id;
    // Jobs are immutable once stored, so readers share them instead of copying 10,000 of them per list.
    this.records.set(id, { ...record, job: deepFreeze(record.job) });
    const snapshot = JSON.stringify(record, null, 1);
    return this.enqueue(id, async () => {
      const file = this.recordFile(id);
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await fs.promises.writeFile(temporary, snapshot);
      await fs.promises.rename(temporary, file);
    });
  }

  appendEvents(id: string, events: readonly JobEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const text = events.map((event) => JSON.stringify(event) + '\n').join('');
    return this.enqueue(id, async () => {
      await fs.promises.mkdir(this.jobDir(id), { recursive: true });
      await fs.promises.appendFile(this.eventsFile(id), text);
    });
  }

  /** The job's events, oldest first; a torn last line (a crash mid-append) is skipped. */
  async readEvents(id: string): Promise<JobEvent[]> {
    await this.queues.get(id);
    let text: string;
    try {
      text = await fs.promises.readFile(this.eventsFile(id), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return parseJsonLines(text, jobEventSchema);
  }

  /** Forgets the job and removes its folder. */
  async remove(id: string): Promise<void> {
    this.records.delete(id);
    await this.enqueue(id, () => fs.promises.rm(this.jobDir(id), { recursive: true, force: true }));
    this.queues.delete(id);
  }

  private enqueue(id: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(id, next);
    return next;
  }

  /** Resolves when every queued write has reached the disk. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
  }
}
