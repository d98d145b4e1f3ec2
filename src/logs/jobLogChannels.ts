/**
 * One output channel per followed job task. A channel replays the task's whole log, then follows it
 * live until the job ends, and says how it ended. Lines are batched into few appends (each append
 * crosses to the renderer) and only one batch is held at a time, so large logs stay cheap.
 */
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import { formatDuration } from '../core/format';
import type { TrainingJob } from '../core/job';
import { isTerminalPhase } from '../core/lifecycle';
import { stripAnsi } from '../core/lines';
import type { TrainingEngine } from '../engine/trainingEngine';

const FLUSH_MS = 50;
const FLUSH_BYTES = 256 * 1024;

export class JobLogChannel implements vscode.Disposable {
  readonly channel: vscode.OutputChannel;
  private readonly abort = new AbortController();
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: TrainingEngine,
    readonly job: TrainingJob,
    readonly task: string,
    readonly name: string,
  ) {
    this.channel = vscode.window.createOutputChannel(name);
    void this.follow();
  }

  private async follow(): Promise<void> {
    const id = this.job.metadata.id;
    try {
      for await (const batch of this.engine.followLog(id, this.task, { signal: this.abort.signal })) {
        this.push(batch);
      }
    } catch (error) {
      if (!this.abort.signal.aborted) this.push([`[ModelArts] The log stopped: ${errorMessage(error)}`]);
    }
    this.flush();
    if (this.abort.signal.aborted) return;
    const job = await this.engine.getJob(id).catch(() => undefined);
    if (job && !this.abort.signal.aborted) this.channel.appendLine(`[ModelArts] ${summary(job, this.task)}`);
  }

  private push(lines: string[]): void {
    for (const line of lines) {
      const clean = stripAnsi(line) + '\n';
      this.pending.push(clean);
      this.pendingBytes += clean.length;
    }
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pending.length || this.abort.signal.aborted) return;
    this.channel.append(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  dispose(): void {
    this.abort.abort();
    clearTimeout(this.flushTimer);
    this.channel.dispose();
  }
}

function summary(job: TrainingJob, task: string): string {
  const status = job.status.task_statuses.find((s) => s.task === task);
  const exit = status?.exit_code !== undefined ? `, exit code ${status.exit_code}` : '';
  const took = job.status.duration ? ` after ${formatDuration(job.status.duration)}` : '';
  return `Training job ${job.metadata.name} ${job.status.phase.toLowerCase()}${took}${exit}.`;
}

const FOLLOWED_KEY = 'modelarts.followedLogs';

interface Followed {
  readonly jobId: string;
  readonly task: string;
}

export class JobLogChannels implements vscode.Disposable {
  private readonly channels = new Map<string, JobLogChannel>();

  constructor(
    private readonly engine: TrainingEngine,
    /** Remembers which logs this window follows, so a reload picks them up again. */
    private readonly memento: vscode.Memento,
  ) {}

  /** Opens (or reveals) the channel following `task` of `job`. */
  show(job: TrainingJob, task: string, preserveFocus: boolean): JobLogChannel {
    const channel = this.open(job, task);
    channel.channel.show(preserveFocus);
    return channel;
  }

  private open(job: TrainingJob, task: string): JobLogChannel {
    const key = `${job.metadata.id}/${task}`;
    let channel = this.channels.get(key);
    if (!channel) {
      const suffix = job.status.tasks.length > 1 ? ` (${task})` : '';
      channel = new JobLogChannel(this.engine, job, task, `ModelArts Job: ${job.metadata.name}${suffix}`);
      this.channels.set(key, channel);
      void this.remember();
    }
    return channel;
  }

  /** After a window reload: follows again the logs of jobs that still run, from their first line. */
  async restore(): Promise<number> {
    const followed = this.memento.get<Followed[]>(FOLLOWED_KEY, []);
    let restored = 0;
    for (const { jobId, task } of followed) {
      const job = await this.engine.getJob(jobId).catch(() => undefined);
      if (job && !isTerminalPhase(job.status.phase) && !this.channels.has(`${jobId}/${task}`)) {
        this.open(job, task);
        restored++;
      }
    }
    await this.remember();
    return restored;
  }

  /** Closes the channels of a job (it is being deleted). */
  close(jobId: string): void {
    for (const [key, channel] of this.channels) {
      if (key.startsWith(`${jobId}/`)) {
        channel.dispose();
        this.channels.delete(key);
      }
    }
    void this.remember();
  }

  /** Names of the open channels, for tests and the API. */
  get names(): string[] {
    return [...this.channels.values()].map((channel) => channel.name);
  }

  private remember(): Thenable<void> {
    const followed: Followed[] = [...this.channels.values()].map((channel) => ({ jobId: channel.job.metadata.id, task: channel.task }));
    return this.memento.update(FOLLOWED_KEY, followed);
  }

  dispose(): void {
    for (const channel of this.channels.values()) channel.dispose();
    this.channels.clear();
  }
}
