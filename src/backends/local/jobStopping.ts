/**
 * Stopping and deleting local jobs with the console's rules: stop only while Creating, Pending or
 * Running (a creation is aborted; running tasks get SIGTERM, then a kill after the grace period),
 * delete only once ended (containers, network, staging and logs; delivered outputs stay unless
 * asked). The end of a stop arrives as a job change.
 */
import { InvalidStateError } from '../../core/errors';
import { makeEvent } from '../../core/jobEvent';
import { actionRefusal, isTerminalPhase, type JobAction } from '../../core/lifecycle';
import { deletePrefix } from '../../storage/transfer';
import { setPhase } from '../shared/jobLedger';
import type { DeleteJobOptions } from '../trainingBackend';
import { STOP } from './jobCreation';
import { dockerErrorMessage, isDockerStatus } from './docker';
import type { JobRecord } from './jobStore';
import type { LocalRuntime } from './localRuntime';

export class JobStopping {
  constructor(private readonly runtime: LocalRuntime) {}

  /** The job, once this window may change it and its phase allows `action` (the console's rules). */
  async recordAllowing(action: JobAction, id: string): Promise<JobRecord> {
    const { runtime } = this;
    await runtime.ensureLoaded();
    await runtime.parts.follower.requireWriter();
    const record = runtime.requireRecord(id);
    const refusal = actionRefusal(action, record.job.status.phase, record.job.metadata.name);
    if (refusal) throw new InvalidStateError(refusal);
    return record;
  }

  async stop(id: string): Promise<void> {
    await this.recordAllowing('stop', id);
    const creation = this.runtime.creations.get(id);
    if (creation) creation.abort(STOP);
    else void this.runtime.ledger.queue(id, () => this.terminate(id));
  }

  /** SIGTERM to every running task, a kill after the grace period; Terminated once all have exited. */
  async terminate(id: string): Promise<void> {
    const { runtime } = this;
    const record = runtime.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase)) return;
    const grace = runtime.options.stopGraceSeconds ?? 15;
    if (record.job.status.phase !== 'Terminating') {
      await runtime.ledger.update(id, (draft) => {
        setPhase(draft, 'Terminating', 'Terminating');
        return [makeEvent('Info', 'Job', `Stopping the training job: SIGTERM to its processes, a kill after ${grace} s.`)];
      });
    }
    const running: string[] = [];
    for (const task of record.job.status.tasks) {
      const containerId = record.local.containers[task];
      const inspect = containerId ? await runtime.inspect(containerId) : undefined;
      if (inspect?.State.Running) running.push(task);
    }
    if (running.length === 0) {
      await runtime.parts.exits.finish(id, { phase: 'Terminated', secondary: 'Terminated', message: 'Training job terminated.' });
      return;
    }
    await Promise.all(running.map((task) => this.stopTask(id, task, grace)));
  }

  async stopTask(id: string, task: string, graceSeconds: number): Promise<void> {
    const { runtime } = this;
    const containerId = runtime.store.get(id)?.local.containers[task];
    if (!containerId) return;
    runtime.engineStops.add(`${id}/${task}`);
    try {
      await runtime.docker.getContainer(containerId).stop({ t: graceSeconds });
    } catch (error) {
      if (!isDockerStatus(error, 304) && !isDockerStatus(error, 404)) runtime.logger.warn(`Could not stop ${task} of job ${id}: ${dockerErrorMessage(error)}`);
    }
  }

  async delete(id: string, options: DeleteJobOptions = {}): Promise<void> {
    const { runtime } = this;
    await this.recordAllowing('delete', id);
    await runtime.ledger.queue(id, async () => {
      const current = runtime.store.get(id);
      if (!current) return;
      if (options.deleteOutputs) {
        for (const output of current.job.algorithm.outputs) {
          if (!output.remote) continue;
          const location = runtime.resolver.resolve(output.remote.obs.obs_url, `algorithm.outputs.${output.name}.remote.obs.obs_url`);
          await deletePrefix(location, { signal: runtime.shutdown.signal });
        }
      }
      for (const task of current.job.status.tasks) runtime.parts.captures.stop(id, task);
      await runtime.parts.stats.remove(id);
      await runtime.removeDockerObjects(current.local);
      runtime.releaseInputs(id);
      await runtime.store.remove(id);
      runtime.ledger.announce({ kind: 'deleted', job: structuredClone(current.job) });
    });
  }
}
