/**
 * The runs of the in-memory backend's jobs: timed steps through the job's ledger queue, as the
 * local backend's Docker events are. Creating → Pending → Running one step apart; each task then
 * prints its script's lines one per step, holds on, and exits; once every task has exited the job
 * ends Completed or Failed, or restarts (fault-tolerance/job-retry-num). A stop sends SIGTERM:
 * Terminating, each running task exits with 143 a step later, then Terminated.
 */
import { Emitter, type Event } from '../../src/core/events';
import { retryLimit } from '../../src/core/job';
import { makeEvent } from '../../src/core/jobEvent';
import { isTerminalPhase, type JobPhase } from '../../src/core/lifecycle';
import type { ResourceSampleAdded } from '../../src/core/resourceSample';
import { setPhase, type JobLedger } from '../../src/backends/shared/jobLedger';
import { sampleAt, taskProgram, type TaskProgram } from './memoryBackendProgram';
import { logKey, type MemoryJobState, type MemoryStore } from './memoryBackendStore';

type Fault = NonNullable<MemoryJobState['fault']>;

export class MemoryRuns {
  /** Fires the logKey() of a task whose log grew. */
  private readonly logEmitter = new Emitter<string>();
  private readonly sampleEmitter = new Emitter<ResourceSampleAdded>();
  readonly onDidAppendLog: Event<string> = this.logEmitter.event;
  readonly onDidAddSample: Event<ResourceSampleAdded> = this.sampleEmitter.event;
  /** Steps scheduled per job; a stop cancels them. */
  private readonly timers = new Map<string, Set<NodeJS.Timeout>>();
  /** Tasks of each job whose script still runs. */
  private readonly live = new Map<string, Set<string>>();
  private idleWaiters: Array<() => void> = [];
  private disposed = false;

  constructor(
    private readonly store: MemoryStore,
    private readonly ledger: JobLedger<MemoryJobState>,
    private readonly stepMs: number,
  ) {}

  /** A job just created: Pending a step later, then Running. */
  begin(id: string): void {
    this.later(id, () => this.toPending(id));
  }

  /** Whether any step is scheduled. */
  get scheduled(): boolean {
    return this.timers.size > 0;
  }

  /** Resolves at the next scheduled step (or cancellation). */
  nextStep(): Promise<void> {
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs `work` through the job's queue after `ms`, unless the job's steps are cancelled first. */
  private later(id: string, work: () => Promise<void>, ms = this.stepMs): void {
    if (this.disposed) return;
    const timers = this.timers.get(id) ?? new Set<NodeJS.Timeout>();
    this.timers.set(id, timers);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!timers.size && this.timers.get(id) === timers) this.timers.delete(id);
      void this.ledger.queue(id, work).catch(() => undefined); // the ledger logs it
      this.wakeIdle();
    }, ms);
    timers.add(timer);
  }

  cancel(id: string): void {
    for (const timer of this.timers.get(id) ?? []) clearTimeout(timer);
    this.timers.delete(id);
    this.live.delete(id);
    this.wakeIdle();
  }

  private wakeIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private phaseOf(id: string): JobPhase | undefined {
    return this.store.get(id)?.job.status.phase;
  }

  private async toPending(id: string): Promise<void> {
    if (this.phaseOf(id) !== 'Creating') return;
    await this.ledger.update(id, (draft) => {
      setPhase(draft, 'Pending', 'Pending');
      return [makeEvent('Info', 'Job', 'Training job is pending: waiting for resources.')];
    });
    this.later(id, () => this.start(id));
  }

  private async start(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || record.job.status.phase !== 'Pending') return;
    const { attempt } = record.local;
    const now = Date.now();
    await this.ledger.update(id, (draft) => {
      setPhase(draft, 'Running', 'Running');
      draft.status.start_time ||= now;
      draft.status.running_records.push({ start_at: Math.floor(now / 1000), start_type: attempt > 0 ? 'restarted' : 'init_or_rescheduled' });
      return [
        makeEvent('Info', 'Job', attempt > 0 ? `Training job is running again (restart ${attempt}).` : 'Training job is running.'),
        ...draft.status.tasks.map((task) => makeEvent('Info', 'Task', `[${task}] Training started.`)),
      ];
    });
    const program = taskProgram(record.job.algorithm, attempt);
    this.live.set(id, new Set(record.job.status.tasks));
    for (const task of record.job.status.tasks) this.later(id, () => this.step(id, task, program, 0, program.holdMs));
  }

  /** One step of a task: its next line, a while of holding on after the last, or its exit. */
  private async step(id: string, task: string, program: TaskProgram, index: number, holdLeft: number): Promise<void> {
    const job = this.store.get(id)?.job;
    if (!job || job.status.phase !== 'Running' || !this.live.get(id)?.has(task)) return;
    const sample = sampleAt(job, task, index);
    this.store.addSample(id, sample);
    this.sampleEmitter.fire({ jobId: id, sample });
    const line = program.lines[index];
    if (line !== undefined) {
      this.append(id, task, line);
      this.later(id, () => this.step(id, task, program, index + 1, holdLeft));
    } else if (holdLeft > 0) {
      const wait = Math.min(holdLeft, Math.max(this.stepMs, 250));
      this.later(id, () => this.step(id, task, program, index, holdLeft - wait), wait);
    } else {
      await this.taskExited(id, task, program.exitCode);
    }
  }

  private append(id: string, task: string, line: string): void {
    this.store.logs.get(logKey(id, task))?.push(line);
    this.logEmitter.fire(logKey(id, task));
  }

  private async taskExited(id: string, task: string, exitCode: number): Promise<void> {
    const live = this.live.get(id);
    if (!live?.delete(task)) return;
    await this.ledger.update(id, (draft, local) => {
      draft.status.task_statuses = [...draft.status.task_statuses.filter((s) => s.task !== task), { task, exit_code: exitCode, message: exitCode === 0 ? 'Succeeded' : `Exited with code ${exitCode}` }];
      if (draft.status.phase !== 'Terminating' && exitCode !== 0) local.fault ??= { task, reason: `${task} exited with code ${exitCode}` };
      return [makeEvent(exitCode === 0 ? 'Info' : 'Error', 'Task', `[${task}] Training finished. Exit code ${exitCode}.`)];
    });
    if (live.size) return;
    this.live.delete(id);
    const record = this.store.get(id);
    if (!record) return;
    const { job, local } = record;
    if (job.status.phase === 'Terminating') await this.finish(id, 'Terminated', 'Training job terminated.');
    else if (!local.fault) await this.finish(id, 'Completed', 'Training job completed.');
    else if (local.attempt < retryLimit(job)) await this.restart(id, local.fault, retryLimit(job));
    else await this.finish(id, 'Failed', `Training job failed: ${local.fault.reason}.`);
  }

  /** High reliability: a failed run starts again, recorded in running_records. */
  private async restart(id: string, fault: Fault, limit: number): Promise<void> {
    const now = Date.now();
    await this.ledger.update(id, (draft, local) => {
      const last = draft.status.running_records.at(-1);
      if (last && last.end_at === undefined) Object.assign(last, { end_at: Math.floor(now / 1000), end_reason: fault.reason, end_related_task: fault.task, end_recover: 'restarted' });
      local.attempt += 1;
      local.fault = undefined;
      draft.status.task_statuses = [];
      setPhase(draft, 'Pending', 'Pending');
      return [makeEvent('Warning', 'Job', `Training job failed (${fault.reason}); restarting it automatically (restart ${local.attempt} of ${limit}, fault-tolerance/job-retry-num).`)];
    });
    this.later(id, () => this.start(id));
  }

  private async finish(id: string, phase: 'Completed' | 'Failed' | 'Terminated', message: string): Promise<void> {
    const current = this.phaseOf(id);
    if (!current || isTerminalPhase(current)) return;
    this.cancel(id);
    const now = Date.now();
    await this.ledger.update(id, (draft, local) => {
      const last = draft.status.running_records.at(-1);
      if (last && last.end_at === undefined) {
        last.end_at = Math.floor(now / 1000);
        last.end_reason = phase;
        if (local.fault) last.end_related_task = local.fault.task;
      }
      if (draft.status.start_time) draft.status.duration = Math.max(0, now - draft.status.start_time);
      setPhase(draft, phase, phase);
      return [makeEvent(phase === 'Failed' ? 'Error' : 'Info', 'Job', message)];
    });
  }

  /** Run through the job's queue: a job being created just ends; running tasks get SIGTERM and exit with 143 a step later. */
  async stop(id: string): Promise<void> {
    const phase = this.phaseOf(id);
    if (!phase || phase === 'Terminating' || isTerminalPhase(phase)) return;
    const live = [...(this.live.get(id) ?? [])];
    this.cancel(id);
    if (phase === 'Creating') return this.finish(id, 'Terminated', 'Training job stopped while it was being created.');
    await this.ledger.update(id, (draft) => {
      setPhase(draft, 'Terminating', 'Terminating');
      return [makeEvent('Info', 'Job', 'Stopping the training job: SIGTERM to its processes.')];
    });
    if (!live.length) return this.finish(id, 'Terminated', 'Training job terminated.');
    this.live.set(id, new Set(live));
    for (const task of live) {
      this.append(id, task, 'received SIGTERM: stopping');
      this.later(id, () => this.taskExited(id, task, 143));
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const id of [...this.timers.keys()]) this.cancel(id);
    this.live.clear();
    this.logEmitter.dispose();
    this.sampleEmitter.dispose();
  }
}
