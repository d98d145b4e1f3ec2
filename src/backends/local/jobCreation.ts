/**
 * Creating a local job: the request checked against this machine (nothing made when it fails), the
 * record written, inputs staged (a local folder bound read-only, or a store location downloaded
 * into the input cache), outputs prepared (pre-downloaded for incremental training), the job's
 * network and one container per task created and the code copied in; then the job waits for its
 * share of the capacity. A creation cancelled or failed half-way removes everything it made; one
 * stopped by the user stays, Terminated.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { MA_JOB_DIR, MA_USER_UID, codeFolderName, containerCodeDir } from '../../core/contract';
import { CancelledError } from '../../core/errors';
import { formatBytes } from '../../core/format';
import { parseJobCreateRequest, withLiveDuration, type TrainingJob } from '../../core/job';
import { makeEvent } from '../../core/jobEvent';
import { openUpForContainerUser, readableByContainerUser } from '../../storage/fileModes';
import type { StoreLocation, TransferProgress } from '../../storage/objectStore';
import { downloadPrefix } from '../../storage/transfer';
import { setPhase } from '../shared/jobLedger';
import type { CreateJobOptions } from '../trainingBackend';
import { packCodeFolder } from './codeArchive';
import { jobNetworkName, taskContainerSpec } from './containerSpec';
import { LABELS, MANAGED_BY, dockerErrorMessage, isDockerStatus } from './docker';
import type { LocalJobPlan } from './jobPlanner';
import type { JobRecord } from './jobStore';
import type { LocalRuntime } from './localRuntime';

/** The abort reason of a creation the user stopped (as opposed to cancelled). */
export const STOP = Symbol('stop');

export class JobCreation {
  constructor(private readonly runtime: LocalRuntime) {}

  async create(request: unknown, options: CreateJobOptions = {}): Promise<TrainingJob> {
    const { runtime } = this;
    const valid = parseJobCreateRequest(request);
    await runtime.ensureAvailable();
    await runtime.parts.follower.requireWriter();
    const progress = options.onProgress ?? (() => undefined);
    progress('Checking the job spec');
    const plan = await runtime.planJob(valid, randomUUID());
    throwIfCancelled(options.signal);

    const job = plan.job;
    const id = job.metadata.id;
    const record: JobRecord = { version: 1, job, local: { containers: {}, outputDirs: {}, inputDirs: {}, admitted: false, attempt: 0 } };
    const creation = new AbortController();
    const cancel = () => creation.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', cancel, { once: true });
    runtime.creations.set(id, creation);
    try {
      await runtime.store.save(record);
      await runtime.ledger.addEvents(id, [makeEvent('Info', 'Job', `Training job ${job.metadata.name} created.`)]);
      runtime.ledger.announce({ kind: 'created', job: structuredClone(job) });
      await this.prepare(record, plan, creation.signal, progress);
    } catch (error) {
      if (creation.signal.reason === STOP) {
        // Stopped by the user while it was being created: it stays, Terminated.
        await runtime.ledger.queue(id, () => runtime.parts.exits.finish(id, { phase: 'Terminated', secondary: 'Terminated', message: 'Training job stopped while it was being created.' }));
        return this.current(id, job);
      }
      await this.discard(record);
      if (options.signal?.aborted) throw new CancelledError('Creating the training job');
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', cancel);
      runtime.creations.delete(id);
    }

    // The job exists from here on: it waits for its share of the capacity.
    await runtime.ledger.queue(id, () =>
      runtime.ledger.update(id, (draft) => {
        if (draft.status.phase !== 'Creating') return [];
        setPhase(draft, 'Pending', 'Pending');
        return [makeEvent('Info', 'Job', 'Training job is pending: waiting for resources.')];
      }),
    );
    await runtime.parts.scheduler.schedule();
    progress('Started');
    return this.current(id, job);
  }

  private current(id: string, job: TrainingJob): TrainingJob {
    return withLiveDuration(this.runtime.store.get(id)?.job ?? structuredClone(job), Date.now());
  }

  /** Downloads a store input into the input cache (or finds it there); the caller releases it when done with it. */
  async stageStoreInput(
    name: string,
    location: StoreLocation,
    signal: AbortSignal | undefined,
    progress: (message: string) => void,
  ): Promise<{ readonly dir: string; readonly release: () => void; readonly message: string }> {
    const started = Date.now();
    progress(`Downloading input ${name} from ${location.url}`);
    const staged = await this.runtime.inputCache.stage(location, {
      ...(signal ? { signal } : {}),
      onProgress: (p) => progress(`Downloading input ${name}: ${describeProgress(p)}`),
    });
    const size = `${staged.objects} files, ${formatBytes(staged.bytes)}`;
    const message = staged.hit
      ? `Input ${name}: ${location.url} is in the input cache (${size}); nothing downloaded.`
      : `Input ${name}: downloaded ${size} from ${location.url} in ${((Date.now() - started) / 1000).toFixed(1)} s.`;
    return { dir: staged.dir, release: staged.release, message };
  }

  /** Stages the inputs, prepares the outputs, creates the network and containers, and copies the code. */
  private async prepare(record: JobRecord, plan: LocalJobPlan, signal: AbortSignal, progress: (message: string) => void): Promise<void> {
    const { runtime } = this;
    const { job, local } = record;
    const id = job.metadata.id;
    const pins: Array<() => void> = [];
    runtime.inputPins.set(id, pins);

    for (const input of plan.inputs) {
      throwIfCancelled(signal);
      if (input.source.kind === 'folder') {
        local.inputDirs[input.name] = input.source.hostDir;
        const events = [makeEvent('Info', 'Job', `Input ${input.name}: folder ${input.source.hostDir}, mounted read-only at ${input.localDir}.`)];
        if (!(await readableByContainerUser(input.source.hostDir))) {
          events.push(makeEvent('Warning', 'Job', `Input ${input.name}: ${input.source.hostDir} is not readable by others; the training code runs as ma-user (UID ${MA_USER_UID}) and may not read it.`));
        }
        await runtime.ledger.addEvents(id, events);
        continue;
      }
      const staged = await this.stageStoreInput(input.name, input.source.location, signal, progress);
      pins.push(staged.release);
      local.inputDirs[input.name] = staged.dir;
      await runtime.ledger.addEvents(id, [makeEvent('Info', 'Job', staged.message)]);
    }

    for (const output of job.algorithm.outputs) {
      throwIfCancelled(signal);
      const dir = await prepareOutputDir(runtime.store.outputDir(id, output.name));
      local.outputDirs[output.name] = dir;
      if (output.predownload && output.remote) {
        const location = runtime.resolver.resolve(output.remote.obs.obs_url, `algorithm.outputs.${output.name}.remote.obs.obs_url`);
        progress(`Pre-downloading output ${output.name} from ${location.url}`);
        const result = await downloadPrefix(location, dir, { signal, onProgress: (p) => progress(`Pre-downloading ${output.name}: ${describeProgress(p)}`) });
        await openUpForContainerUser(dir);
        await runtime.ledger.addEvents(id, [
          makeEvent('Info', 'Job', `Output ${output.name}: pre-downloaded ${result.objects} files (${formatBytes(result.bytes)}) from ${location.url} for incremental training.`),
        ]);
      }
    }
    await runtime.store.save(record);

    if (job.spec.resource.node_count > 1) {
      progress('Creating the job network');
      const network = await runtime.docker.createNetwork({
        Name: jobNetworkName(id),
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.jobId]: id, [LABELS.store]: runtime.storeId },
      });
      local.network = network.id;
      await runtime.store.save(record);
    }

    for (const [index, task] of job.status.tasks.entries()) {
      throwIfCancelled(signal);
      progress(`Creating the container of ${task}`);
      const container = await runtime.docker.createContainer(taskContainerSpec({ job, local, flavor: plan.flavor, task, index, storeId: runtime.storeId }));
      local.containers[task] = container.id;
      await runtime.store.save(record);
      if (plan.codeDir === undefined) continue;
      throwIfCancelled(signal);
      progress(`Copying the code of ${task}`);
      const archive = packCodeFolder(plan.codeDir, codeFolderName(job.algorithm.code_dir));
      const abort = () => (archive.stream as NodeJS.ReadableStream & { destroy?: (e?: Error) => void }).destroy?.(new CancelledError('Copying the code'));
      signal.addEventListener('abort', abort, { once: true });
      try {
        await container.putArchive(archive.stream, { path: MA_JOB_DIR });
      } finally {
        signal.removeEventListener('abort', abort);
      }
      throwIfCancelled(signal);
      await runtime.ledger.addEvents(id, [
        makeEvent('Info', 'Task', `[${task}] Code copied to ${containerCodeDir(job.algorithm.code_dir)} (${archive.stats.files} files, ${formatBytes(archive.stats.bytes)}).`),
      ]);
    }
  }

  /** Removes everything a failed creation made: containers, network, files, the record. */
  private async discard(record: JobRecord): Promise<void> {
    const { runtime } = this;
    const id = record.job.metadata.id;
    await runtime.removeDockerObjects(record.local);
    runtime.releaseInputs(id);
    const existed = runtime.store.get(id) !== undefined;
    await runtime.store.remove(id);
    if (existed) runtime.ledger.announce({ kind: 'deleted', job: structuredClone(record.job) });
  }

  async startTask(id: string, task: string): Promise<void> {
    const { runtime } = this;
    const containerId = runtime.store.get(id)?.local.containers[task];
    if (!containerId) return;
    try {
      await runtime.docker.getContainer(containerId).start();
    } catch (error) {
      if (isDockerStatus(error, 304)) return; // already started
      if (!hasHttpStatus(error)) {
        // Docker itself is gone (it is restarting): reconciliation starts the task when it is back.
        runtime.logger.warn(`Could not reach Docker to start ${task} of job ${id}: ${dockerErrorMessage(error)}`);
        return;
      }
      await runtime.parts.exits.finish(id, { phase: 'Failed', secondary: 'CreateFailed', message: `[${task}] The container could not start: ${dockerErrorMessage(error)}` });
    }
  }
}

/** Output folders are written by ma-user (UID 1000) inside the container. */
async function prepareOutputDir(dir: string): Promise<string> {
  await fs.promises.mkdir(dir, { recursive: true });
  await openUpForContainerUser(dir);
  return dir;
}

export function describeProgress(progress: TransferProgress): string {
  const total = progress.totalBytes ? ` of ${formatBytes(progress.totalBytes)}` : '';
  return `${formatBytes(progress.bytes)}${total} (${progress.objects}${progress.totalObjects ? `/${progress.totalObjects}` : ''} files)`;
}

/** Whether Docker answered (with an error status), as opposed to not being reachable at all. */
function hasHttpStatus(error: unknown): boolean {
  return typeof (error as { statusCode?: unknown } | undefined)?.statusCode === 'number';
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('Creating the training job');
}
