/**
 * After the editor or the Docker daemon restarts: every live job is brought in line with its
 * containers — a running task picked up again (its log resumes where it stopped), an exit missed
 * while away read and applied, a vanished container making the job Abnormal, an admitted task that
 * never started started — and containers of this store that belong to no job are removed.
 */
import { isTerminalPhase } from '../../core/lifecycle';
import { containerSummarySchema, dockerTime, parseDocker, LABELS } from './docker';
import type { LocalRuntime } from './localRuntime';

export class Reconciliation {
  constructor(private readonly runtime: LocalRuntime) {}

  async reconcile(): Promise<void> {
    const { runtime } = this;
    const containers = parseDocker(containerSummarySchema.array(), await runtime.docker.listContainers({ all: true, filters: { label: runtime.ownLabels } }), 'GET /containers/json');
    for (const container of containers) {
      const jobId = container.Labels?.[LABELS.jobId];
      if (jobId && !runtime.store.get(jobId)) {
        // Left by a creation that was interrupted before its record was written.
        runtime.logger.info(`Removing orphan container ${container.Id.slice(0, 12)} of unknown job ${jobId}`);
        await runtime.docker.getContainer(container.Id).remove({ force: true, v: true }).catch(() => undefined);
      }
    }
    await Promise.all(
      runtime.store
        .list()
        .filter((record) => !isTerminalPhase(record.job.status.phase))
        .map((record) => runtime.ledger.queue(record.job.metadata.id, () => this.reconcileJob(record.job.metadata.id))),
    );
    runtime.connectionLostAt = undefined;
  }

  private async reconcileJob(id: string): Promise<void> {
    const { runtime } = this;
    const { exits, creation, stopping } = runtime.parts;
    const record = runtime.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase) || runtime.creations.has(id)) return;
    if (record.job.status.phase === 'Creating') {
      await exits.finish(id, { phase: 'Failed', secondary: 'CreateFailed', message: 'Creating the job was interrupted (the engine stopped); create it again.' });
      return;
    }
    for (const task of record.job.status.tasks) {
      const containerId = record.local.containers[task];
      const inspect = containerId ? await runtime.inspect(containerId) : undefined;
      if (!inspect) {
        await exits.markAbnormal(id, task, `[${task}] The container of this task no longer exists.`);
        return;
      }
      const state = inspect.State;
      const started = dockerTime(state.StartedAt);
      if (state.Running) {
        await exits.onTaskStarted(id, task, inspect.Id, started ?? Date.now());
      } else if (started !== undefined && runtime.store.get(id)?.job.status.phase !== 'Pending') {
        await exits.onTaskStarted(id, task, inspect.Id, started);
        await exits.onTaskExited(id, task, inspect.Id);
      } else if (runtime.store.get(id)?.local.admitted && runtime.store.get(id)?.job.status.phase === 'Pending') {
        // Admitted but not started yet (or restarting after a fault): start it now.
        await creation.startTask(id, task);
      }
    }
    if (runtime.store.get(id)?.job.status.phase === 'Terminating') await stopping.terminate(id);
  }
}
