/**
 * Docker's events turned into ModelArts phases: a task's start makes the job Running, its exit is
 * read (exit code, OOM, a kill nobody here sent, the daemon stopping) and recorded, and once every
 * task has exited the job ends — Completed, Failed, Terminated or Abnormal — or restarts when it
 * asked for it (fault-tolerance/job-retry-num). Ending delivers the outputs first (also after a
 * failure or a stop), then removes the containers once their logs are read.
 */
import { errorMessage } from '../../core/errors';
import { waitForEvent } from '../../core/events';
import { findFlavor } from '../../core/flavors';
import { formatBytes } from '../../core/format';
import { retryLimit } from '../../core/job';
import { makeEvent } from '../../core/jobEvent';
import { isTerminalPhase, type SecondaryPhase } from '../../core/lifecycle';
import { uploadFolder } from '../../storage/transfer';
import { setPhase } from '../shared/jobLedger';
import { LABELS, dockerTime, type DockerEvent } from './docker';
import type { JobRecord } from './jobStore';
import type { LocalRuntime } from './localRuntime';

/**
 * How long after an outside SIGTERM the connection may drop for the kill to count as the daemon
 * stopping: its containers' stop timeout (10 s) and some slack.
 */
const DAEMON_STOP_WINDOW_MS = 15_000;

export interface Outcome {
  readonly phase: 'Completed' | 'Failed' | 'Terminated' | 'Abnormal';
  readonly secondary: SecondaryPhase;
  readonly message: string;
  /** When it ended (epoch ms); now if left out. */
  readonly at?: number;
}

export class TaskExits {
  constructor(private readonly runtime: LocalRuntime) {}

  onDockerEvent(event: DockerEvent): void {
    const { runtime } = this;
    const id = event.Actor.Attributes[LABELS.jobId];
    const task = event.Actor.Attributes[LABELS.task];
    if (!id || !task || !runtime.store.get(id)) return;
    const at = event.timeNano ? Math.round(event.timeNano / 1e6) : event.time * 1000;
    const queue = (work: () => Promise<unknown>) => void runtime.ledger.queue(id, work);
    switch (event.Action) {
      case 'start':
        queue(() => this.onTaskStarted(id, task, event.Actor.ID, at));
        break;
      case 'die':
        queue(() => this.onTaskExited(id, task, event.Actor.ID));
        break;
      case 'kill':
        queue(async () => {
          const phase = runtime.store.get(id)?.job.status.phase;
          const key = `${id}/${task}`;
          if (phase && phase !== 'Terminating' && !isTerminalPhase(phase) && !runtime.engineStops.has(key)) {
            runtime.externalKills.set(key, { signal: event.Actor.Attributes['signal'] ?? 'unknown', at: Date.now() });
          }
        });
        break;
      case 'oom':
        queue(() => runtime.ledger.addEvents(id, [makeEvent('Warning', 'Docker', `[${task}] Out of memory: the flavor's memory limit was reached.`, new Date(at))]));
        break;
      case 'destroy':
        queue(() => this.markAbnormal(id, task, `[${task}] The container was removed while the job was live.`));
        break;
      default:
        break;
    }
  }

  async onTaskStarted(id: string, task: string, containerId: string, at: number): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record || record.local.containers[task] !== containerId || isTerminalPhase(record.job.status.phase)) return;
    runtime.parts.captures.ensure(id, task, containerId);
    runtime.parts.stats.start(id, task, containerId);
    if (record.job.status.phase !== 'Pending' || !record.local.admitted) return;
    const restarted = record.local.attempt > 0;
    await runtime.ledger.update(id, (draft) => {
      setPhase(draft, 'Running', 'Running');
      draft.status.start_time ||= at;
      draft.status.running_records.push({ start_at: Math.floor(at / 1000), start_type: restarted ? 'restarted' : 'init_or_rescheduled' });
      return [
        makeEvent('Info', 'Job', restarted ? `Training job is running again (restart ${record.local.attempt}).` : 'Training job is running.', new Date(at)),
        makeEvent('Info', 'Task', `[${task}] Training started.`, new Date(at)),
      ];
    });
  }

  async onTaskExited(id: string, task: string, containerId: string): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record || record.local.containers[task] !== containerId || isTerminalPhase(record.job.status.phase)) return;
    if (record.job.status.phase === 'Pending' || record.job.status.phase === 'Creating') return; // an exit of an earlier attempt
    const inspect = await runtime.inspect(containerId);
    if (!inspect) {
      await this.markAbnormal(id, task, `[${task}] The container vanished before its exit could be read.`);
      return;
    }
    const state = inspect.State;
    if (state.Running) return;
    void runtime.parts.stats.stop(id, task);
    await runtime.parts.captures.drain(id, task);
    const killedWith = await this.outsideKill(id, task);
    const key = `${id}/${task}`;
    const stoppedByEngine = runtime.engineStops.delete(key);
    const exitCode = state.ExitCode;
    const finishedAt = dockerTime(state.FinishedAt) ?? Date.now();
    const stopping = record.job.status.phase === 'Terminating';
    // Docker stops its containers when the daemon stops; an exit by signal while the connection was lost is that.
    const daemonStopped =
      !stopping && !stoppedByEngine && killedWith.signal === undefined && !state.OOMKilled && exitCode >= 128 &&
      (killedWith.daemonStopping || (runtime.connectionLostAt !== undefined && finishedAt >= runtime.connectionLostAt - 5000));

    if (!record.job.status.task_statuses.some((s) => s.task === task)) {
      const message = state.OOMKilled
        ? `Killed: out of memory (the flavor ${record.job.spec.resource.flavor_id} allows ${findFlavor(record.job.spec.resource.flavor_id)?.memory_gib ?? '?'} GiB)`
        : killedWith.signal !== undefined
          ? `Killed from outside the engine (signal ${killedWith.signal})`
          : daemonStopped
            ? 'Stopped with the Docker engine'
            : exitCode === 0
              ? 'Succeeded'
              : stoppedByEngine && !stopping
                ? 'Stopped because another task failed'
                : state.Error || `Exited with code ${exitCode}`;
      await runtime.ledger.update(id, (draft, local) => {
        draft.status.task_statuses = [...draft.status.task_statuses.filter((s) => s.task !== task), { task, exit_code: exitCode, message }];
        if (!stopping && !local.fault) {
          if (killedWith.signal !== undefined) local.fault = { kind: 'abnormal', task, reason: `[${task}] The container was killed from outside (signal ${killedWith.signal}, exit code ${exitCode}).` };
          else if (daemonStopped) local.fault = { kind: 'abnormal', task, reason: `[${task}] The Docker engine stopped while the task ran (exit code ${exitCode}).` };
          else if (exitCode !== 0) local.fault = { kind: 'failed', task, reason: `${task} exited with code ${exitCode}${state.OOMKilled ? ' (out of memory)' : ''}` };
        }
        return [makeEvent(exitCode === 0 ? 'Info' : 'Error', 'Task', `[${task}] Training finished. Exit code ${exitCode}.`, new Date(finishedAt))];
      });
    }
    await this.afterExit(id, finishedAt);
  }

  /**
   * Whether the task was killed from outside (the signal), or by the daemon stopping: a daemon that
   * shuts down sends the same SIGTERM as `docker stop`, and drops the connection right after.
   */
  private async outsideKill(id: string, task: string): Promise<{ readonly signal: string | undefined; readonly daemonStopping: boolean }> {
    const { runtime } = this;
    const key = `${id}/${task}`;
    const kill = runtime.externalKills.get(key);
    runtime.externalKills.delete(key);
    if (kill && !kill.daemonStopping) {
      if (runtime.connectionLostAt === undefined) {
        // dockerd stops every container (SIGTERM, up to its 10 s stop timeout each) before it lets go.
        const window = kill.signal === '15' ? DAEMON_STOP_WINDOW_MS : 2000;
        await waitForEvent(runtime.parts.dockerEvents.onEnd, () => true, AbortSignal.timeout(window)).catch(() => undefined);
      }
      if (runtime.connectionLostAt !== undefined) kill.daemonStopping = true;
    }
    return { signal: kill && !kill.daemonStopping ? kill.signal : undefined, daemonStopping: kill?.daemonStopping === true };
  }

  /** Once every task has exited: the job's end, or a restart; while others run, a failure stops them. */
  private async afterExit(id: string, finishedAt: number): Promise<void> {
    const { runtime } = this;
    const current = runtime.store.get(id);
    if (!current) return;
    const { job, local } = current;
    const live = job.status.tasks.filter((t) => !job.status.task_statuses.some((s) => s.task === t));
    if (live.length) {
      // A distributed job fails as a whole: stop the other tasks once one has failed.
      if (local.fault && job.status.phase !== 'Terminating') await Promise.all(live.map((t) => runtime.parts.stopping.stopTask(id, t, 5)));
      return;
    }
    if (job.status.phase === 'Terminating') {
      await this.finish(id, { phase: 'Terminated', secondary: 'Terminated', message: 'Training job terminated.', at: finishedAt });
    } else if (!local.fault) {
      await this.finish(id, { phase: 'Completed', secondary: 'Completed', message: 'Training job completed.', at: finishedAt });
    } else if (local.attempt < retryLimit(job)) {
      await this.restart(id, local.fault.reason, finishedAt);
    } else if (local.fault.kind === 'abnormal') {
      await this.finish(id, { phase: 'Abnormal', secondary: 'Lost', message: `Training job is abnormal: ${local.fault.reason}`, at: finishedAt });
    } else {
      await this.finish(id, { phase: 'Failed', secondary: 'Failed', message: `Training job failed: ${local.fault.reason}.`, at: finishedAt });
    }
  }

  /** High reliability: a failed job starts again (fault-tolerance/job-retry-num), recorded in running_records. */
  private async restart(id: string, reason: string, at: number): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record) return;
    const attempt = record.local.attempt + 1;
    const limit = retryLimit(record.job);
    await runtime.ledger.update(id, (draft, local) => {
      const last = draft.status.running_records.at(-1);
      if (last && last.end_at === undefined) {
        last.end_at = Math.floor(at / 1000);
        last.end_reason = reason;
        if (local.fault) last.end_related_task = local.fault.task;
        last.end_recover = 'restarted';
      }
      local.attempt = attempt;
      local.fault = undefined;
      draft.status.task_statuses = [];
      setPhase(draft, 'Pending', 'Pending');
      return [makeEvent('Warning', 'Job', `Training job failed (${reason}); restarting it automatically (restart ${attempt} of ${limit}, fault-tolerance/job-retry-num).`, new Date(at))];
    });
    for (const task of record.job.status.tasks) await runtime.parts.creation.startTask(id, task);
  }

  async markAbnormal(id: string, task: string, reason: string): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase)) return;
    runtime.parts.captures.stop(id, task);
    void runtime.parts.stats.stop(id, task);
    await runtime.ledger.update(id, (draft) => {
      draft.status.task_statuses = [...draft.status.task_statuses.filter((s) => s.task !== task), { task, message: reason }];
      return [];
    });
    // The other tasks cannot go on without this one.
    for (const other of record.job.status.tasks) if (other !== task) await runtime.parts.stopping.stopTask(id, other, 5);
    await this.finish(id, { phase: 'Abnormal', secondary: 'Lost', message: `Training job is abnormal: ${reason}` });
  }

  /**
   * Ends the job: delivers its outputs (also after a failure or a stop), then sets the final phase.
   * Idempotent: an end seen again after a restart of the backend delivers again and changes nothing twice.
   */
  async finish(id: string, outcome: Outcome): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase)) return;
    await runtime.parts.stats.stopJob(id);
    // A job that never started wrote nothing to deliver.
    const uploadProblem = record.job.status.start_time ? await this.deliverOutputs(record) : undefined;
    const final: Outcome = uploadProblem && outcome.phase === 'Completed' ? { phase: 'Failed', secondary: 'Failed', message: `Training job failed: ${uploadProblem}` } : outcome;
    const at = final.at ?? Date.now();
    await runtime.ledger.update(id, (draft, local) => {
      const last = draft.status.running_records.at(-1);
      if (last && last.end_at === undefined) {
        last.end_at = Math.floor(at / 1000);
        last.end_reason = final.phase;
        if (local.fault) last.end_related_task = local.fault.task;
      }
      if (draft.status.start_time) draft.status.duration = Math.max(0, at - draft.status.start_time);
      setPhase(draft, final.phase, final.secondary);
      const level = final.phase === 'Completed' || final.phase === 'Terminated' ? 'Info' : 'Error';
      return [makeEvent(level, 'Job', final.message, new Date(at))];
    });
    runtime.releaseInputs(id);
    void runtime.parts.scheduler.schedule();
    await this.removeEndedContainers(id);
  }

  /**
   * An ended job's containers and network go once every task's log is on disk (its exit code and
   * state are in the record already), so `docker ps -a` does not fill up with exited jobs. A log
   * still being read keeps its container until the read is done.
   */
  private async removeEndedContainers(id: string): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record || !isTerminalPhase(record.job.status.phase)) return;
    const reading = runtime.parts.captures.pending(id, record.job.status.tasks);
    if (reading.length) {
      void Promise.allSettled(reading).then(() => runtime.ledger.queue(id, () => this.removeEndedContainers(id)));
      return;
    }
    await runtime.removeDockerObjects(record.local);
  }

  /** Uploads every output that has a store location; returns what went wrong, if anything. */
  private async deliverOutputs(record: JobRecord): Promise<string | undefined> {
    const { runtime } = this;
    const id = record.job.metadata.id;
    const problems: string[] = [];
    for (const output of record.job.algorithm.outputs) {
      const dir = record.local.outputDirs[output.name];
      if (!output.remote || !dir) continue;
      const url = output.remote.obs.obs_url;
      try {
        const location = runtime.resolver.resolve(url, `algorithm.outputs.${output.name}.remote.obs.obs_url`);
        await runtime.ledger.addEvents(id, [makeEvent('Info', 'Job', `Uploading training output (parameter name: ${output.name}) to ${url}.`)]);
        const started = Date.now();
        const result = await uploadFolder(dir, location, { signal: runtime.shutdown.signal });
        await runtime.ledger.addEvents(id, [
          makeEvent('Info', 'Job', `Upload training output(parameter name: ${output.name}) finished: ${result.objects} files, ${formatBytes(result.bytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s.`),
        ]);
      } catch (error) {
        if (runtime.shutdown.signal.aborted) throw error;
        problems.push(`the output ${output.name} could not be uploaded to ${url}: ${errorMessage(error)}`);
        await runtime.ledger.addEvents(id, [makeEvent('Error', 'Job', `Upload training output(parameter name: ${output.name}) failed: ${errorMessage(error)}`)]);
      }
    }
    return problems.length ? problems.join('; ') : undefined;
  }
}
