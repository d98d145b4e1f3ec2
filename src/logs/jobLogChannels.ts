/**
 * One output channel per followed job task. A channel replays the task's whole log, then follows it
 * live until the job ends, and says how it ended. Lines are batched into few appends (each append
 * crosses to the renderer) and only one batch is held at a time, so large logs stay cheap.
 *
 * A channel shows the newest lines of a long or fast log, not all of it: VS Code keeps an output
 * channel in a file that it rotates at 30 MiB, after which the Output view silently loses lines,
 * and it loads every append into the view's text model and into the extension host's copy of it,
 * which stalls the window for seconds on tens of MiB. So at most PENDING_MAX_BYTES wait for a
 * flush (older lines are left out and counted), and a channel that would pass CHANNEL_MAX_BYTES,
 * or would have a hole where lines were left out, starts afresh: notice first, then the newest lines.
 */
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import { formatDuration } from '../core/format';
import type { TrainingJob } from '../core/job';
import { isTerminalPhase } from '../core/lifecycle';
import { stripAnsi } from '../core/lines';
import type { BackendRegistry } from '../backends/backendRegistry';
import { jobKey, LOCAL_BACKEND_ID, type JobRef } from '../backends/jobRef';
import { FOLLOWED_KEY, followedRef, parseFollowed, type Followed } from './followedLogs';
import type { TrainingBackend } from '../backends/trainingBackend';

const FLUSH_MS = 50;
const FLUSH_BYTES = 256 * 1024;
/** Lines waiting for a flush; beyond this the oldest of them are left out of the channel. */
const PENDING_MAX_BYTES = 1024 * 1024;
/** A channel starts afresh before it holds more than this (VS Code rotates its file at 30 MiB). */
const CHANNEL_MAX_BYTES = 8 * 1024 * 1024;
/** While lines are being left out, the channel starts afresh at most this often. */
const RESTART_MS = 1000;

export class JobLogChannel implements vscode.Disposable {
  private current: vscode.OutputChannel;
  private readonly abort = new AbortController();
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private channelBytes = 0;
  /** Lines left out since the channel last started afresh, and in all. */
  private skipped = 0;
  private skippedTotal = 0;
  private lastRestart = 0;
  private shown: boolean | undefined;
  /** The log is complete (its job ended and every line is in the channel). */
  ended = false;

  constructor(
    private readonly engine: TrainingBackend,
    readonly ref: JobRef,
    readonly job: TrainingJob,
    readonly task: string,
    readonly name: string,
  ) {
    this.current = vscode.window.createOutputChannel(name);
    void this.follow();
  }

  get channel(): vscode.OutputChannel {
    return this.current;
  }

  show(preserveFocus: boolean): void {
    this.shown = true;
    this.current.show(preserveFocus);
  }

  /** Whether the Output view shows this channel now (its document is in a visible editor). */
  get visible(): boolean {
    return vscode.window.visibleTextEditors.some((editor) => editor.document.uri.scheme === 'output' && decodeURIComponent(editor.document.uri.path).endsWith(this.name));
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
    this.flush(true);
    this.ended = true;
    if (this.abort.signal.aborted) return;
    const job = await this.engine.getJob(id).catch(() => undefined);
    const left = this.skippedTotal ? ` ${this.skippedTotal.toLocaleString('en-US')} lines of its log are not shown here.` : '';
    if (job && !this.abort.signal.aborted) this.current.appendLine(`[ModelArts] ${summary(job, this.task)}${left}`);
  }

  private push(lines: string[]): void {
    for (const line of lines) {
      const clean = stripAnsi(line) + '\n';
      this.pending.push(clean);
      this.pendingBytes += clean.length;
    }
    if (this.pendingBytes > PENDING_MAX_BYTES) {
      let drop = 0;
      while (this.pendingBytes > PENDING_MAX_BYTES && drop < this.pending.length - 1) this.pendingBytes -= (this.pending[drop++] as string).length;
      this.pending.splice(0, drop);
      this.skipped += drop;
      this.skippedTotal += drop;
    }
    // Lines are being left out: flush (start afresh) only every RESTART_MS, not per batch.
    if (this.pendingBytes >= FLUSH_BYTES && !this.skipped) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), this.skipped ? Math.max(FLUSH_MS, this.lastRestart + RESTART_MS - Date.now()) : FLUSH_MS);
  }

  private flush(final = false): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pending.length || this.abort.signal.aborted) return;
    if (this.skipped && !final && Date.now() - this.lastRestart < RESTART_MS) {
      this.flushTimer = setTimeout(() => this.flush(), this.lastRestart + RESTART_MS - Date.now());
      return;
    }
    const text = this.pending.join('');
    if (this.skipped || this.channelBytes + text.length > CHANNEL_MAX_BYTES) this.restart();
    this.current.append(text);
    this.channelBytes += text.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** A fresh channel (a fresh file and view), headed by how much of the log it leaves out. */
  private restart(): void {
    const notice = `[ModelArts] The log is too long or too fast to show whole: this channel shows its newest lines${this.skippedTotal ? ` (${this.skippedTotal.toLocaleString('en-US')} lines left out so far)` : ''}. "ModelArts: Open Full Log" opens all of it.\n`;
    this.current.dispose();
    this.current = vscode.window.createOutputChannel(this.name);
    this.current.append(notice);
    this.channelBytes = notice.length;
    this.skipped = 0;
    this.lastRestart = Date.now();
    if (this.shown) this.current.show(true);
  }

  dispose(): void {
    this.abort.abort();
    clearTimeout(this.flushTimer);
    this.current.dispose();
  }
}

function summary(job: TrainingJob, task: string): string {
  const status = job.status.task_statuses.find((s) => s.task === task);
  const exit = status?.exit_code !== undefined ? `, exit code ${status.exit_code}` : '';
  const took = job.status.duration ? ` after ${formatDuration(job.status.duration)}` : '';
  return `Training job ${job.metadata.name} ${job.status.phase.toLowerCase()}${took}${exit}.`;
}

/** Channels kept open at most; beyond it the channels of ended jobs close, the oldest first. */
export const MAX_OPEN_CHANNELS = 10;


/**
 * A channel's name puts what tells it apart first, because the Output view's list cuts names short:
 * `digits-lr01 · ModelArts`, `ddp · worker-1 · ModelArts`, and the id's start when two jobs share a name.
 */
export function channelName(job: TrainingJob, task: string, nameShared: boolean): string {
  const parts = [job.metadata.name, ...(nameShared ? [`#${job.metadata.id.slice(0, 8)}`] : []), ...(job.status.tasks.length > 1 ? [task] : []), 'ModelArts'];
  return parts.join(' · ');
}

export interface JobLogChannelsOptions {
  /** Whether another job of the backend carries the same name (its channel then names the id too). */
  readonly nameShared: (backend: string, job: TrainingJob) => boolean;
  /** A log is being followed (a person opened it, or it opened by itself). */
  readonly onDidOpen?: () => void;
}

export class JobLogChannels implements vscode.Disposable {
  private readonly channels = new Map<string, JobLogChannel>();
  /** Keys in the order their channels were last shown, oldest first. */
  private readonly shownOrder: string[] = [];
  /** Backends whose followed logs were restored after the reload. */
  private readonly restoredBackends = new Set<string>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly registry: BackendRegistry,
    /** Remembers which logs this window follows, so a reload picks them up again. */
    private readonly memento: vscode.Memento,
    private readonly options: JobLogChannelsOptions,
  ) {
    // A job deleted anywhere (a command, another window, the API) takes its channels with it.
    this.subscription = toVscodeDisposable(registry.onDidChangeJob(({ backend, kind, job }) => kind === 'deleted' && this.close({ backend, id: job.metadata.id })));
  }

  /** Opens (or reveals) the channel following `task` of a job. */
  show(ref: JobRef, job: TrainingJob, task: string, preserveFocus: boolean): JobLogChannel {
    const channel = this.open(ref, job, task);
    channel.show(preserveFocus);
    this.touch(`${jobKey(ref)}/${task}`);
    return channel;
  }

  private open(ref: JobRef, job: TrainingJob, task: string): JobLogChannel {
    const key = `${jobKey(ref)}/${task}`;
    let channel = this.channels.get(key);
    if (!channel) {
      channel = new JobLogChannel(this.registry.require(ref.backend), ref, job, task, channelName(job, task, this.options.nameShared(ref.backend, job)));
      this.channels.set(key, channel);
      this.touch(key);
      this.trim();
      void this.remember();
      this.options.onDidOpen?.();
    }
    return channel;
  }

  private touch(key: string): void {
    const at = this.shownOrder.indexOf(key);
    if (at >= 0) this.shownOrder.splice(at, 1);
    this.shownOrder.push(key);
  }

  /** Closes the channels of ended jobs, least recently shown first, while more than the cap are open. */
  private trim(): void {
    for (const key of [...this.shownOrder]) {
      if (this.channels.size <= MAX_OPEN_CHANNELS) return;
      const channel = this.channels.get(key);
      if (channel && channel.ended) this.closeChannel(key);
    }
  }

  /**
   * After a window reload: follows again the logs of a backend's jobs that still run, from their
   * first line. What other backends' channels were is kept until their backend is back.
   */
  async restore(backendId: string): Promise<number> {
    const followed = parseFollowed(this.memento.get(FOLLOWED_KEY));
    const backend = this.registry.get(backendId);
    this.restoredBackends.add(backendId);
    let restored = 0;
    for (const entry of followed) {
      const { jobId, task } = entry;
      const ref = followedRef(entry);
      if (ref.backend !== backendId || !backend) continue;
      const job = await backend.getJob(jobId).catch(() => undefined);
      if (job && !isTerminalPhase(job.status.phase) && !this.channels.has(`${jobKey(ref)}/${task}`)) {
        this.open(ref, job, task);
        restored++;
      }
    }
    await this.remember(followed.filter((entry) => (entry.backend ?? LOCAL_BACKEND_ID) !== backendId));
    return restored;
  }

  /**
   * Closes the channels of a job (it was deleted). When one of them was on show, the Output view
   * shows the job channel shown before it rather than whatever channel VS Code picks.
   */
  close(ref: JobRef): void {
    let wasVisible = false;
    const prefix = `${jobKey(ref)}/`;
    for (const key of [...this.channels.keys()]) {
      if (!key.startsWith(prefix)) continue;
      wasVisible ||= this.channels.get(key)?.visible === true;
      this.closeChannel(key);
    }
    if (wasVisible) {
      const previous = this.shownOrder.at(-1);
      if (previous) this.channels.get(previous)?.show(true);
    }
    void this.remember();
  }

  private closeChannel(key: string): void {
    this.channels.get(key)?.dispose();
    this.channels.delete(key);
    const at = this.shownOrder.indexOf(key);
    if (at >= 0) this.shownOrder.splice(at, 1);
  }

  /** Names of the open channels, for tests and the API. */
  get names(): string[] {
    return [...this.channels.values()].map((channel) => channel.name);
  }

  /** Saves what this window follows, with `kept`: saved entries of backends not restored yet. */
  private remember(kept: readonly Followed[] = this.pendingRestore()): Thenable<void> {
    const followed: Followed[] = [...this.channels.values()].map((channel) => ({ backend: channel.ref.backend, jobId: channel.ref.id, task: channel.task }));
    const known = new Set(followed.map((entry) => `${entry.backend}/${entry.jobId}/${entry.task}`));
    return this.memento.update(FOLLOWED_KEY, [...followed, ...kept.filter((entry) => !known.has(`${entry.backend ?? LOCAL_BACKEND_ID}/${entry.jobId}/${entry.task}`))]);
  }

  /** Saved entries of backends not restored yet (not connected, not signed in): kept for when they come. */
  private pendingRestore(): Followed[] {
    return parseFollowed(this.memento.get(FOLLOWED_KEY)).filter((entry) => !this.restoredBackends.has(entry.backend ?? LOCAL_BACKEND_ID));
  }

  dispose(): void {
    this.subscription.dispose();
    for (const channel of this.channels.values()) channel.dispose();
    this.channels.clear();
  }
}

function toVscodeDisposable(disposable: { dispose(): void }): vscode.Disposable {
  return { dispose: () => disposable.dispose() };
}
