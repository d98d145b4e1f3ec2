/**
 * The local training engine: runs ModelArts training jobs as containers on a Docker engine.
 *
 * Phases follow Docker's event stream (no polling). Each job's changes run one after another
 * through a per-job queue, and every handler is idempotent, because Docker's events may be
 * replayed after a reconnect and reconciliation may see the same exit again.
 */
import type Docker from 'dockerode';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  MA_JOB_DIR,
  MA_USER_GID,
  MA_USER_UID,
  bootCommand,
  codeFolderName,
  containerCodeDir,
  containerEnvironment,
  containerWorkingDir,
  taskHostName,
} from '../../core/contract';
import { CancelledError, EngineUnavailableError, NotFoundError, errorMessage } from '../../core/errors';
import { formatBytes } from '../../core/format';
import { DisposableStore, Emitter, type Event } from '../../core/events';
import { defaultFlavor, flavorsThatFit, type Flavor, type MachineResources } from '../../core/flavors';
import { parseJobCreateRequest, withLiveDuration, type JobChange, type TrainingJob } from '../../core/job';
import { makeEvent, type JobEvent, type JobEventAdded } from '../../core/jobEvent';
import { canTransition, isTerminalPhase, type JobPhase, type SecondaryPhase } from '../../core/lifecycle';
import type { Logger } from '../../core/logger';
import { ENGINE_LABELS, type PresetEngine } from '../../core/presetEngines';
import type { CreateJobOptions, EngineState, FollowLogOptions, TrainingEngine } from '../trainingEngine';
import { packCodeFolder } from './codeArchive';
import {
  LABELS,
  MANAGED_BY,
  containerInspectSchema,
  containerSummarySchema,
  createDockerClient,
  describeDockerHost,
  dockerErrorMessage,
  dockerInfoSchema,
  dockerTime,
  dockerVersionSchema,
  imageSummarySchema,
  isDockerStatus,
  parseDocker,
  type ContainerInspect,
  type DockerEvent,
} from './docker';
import { DockerEventStream } from './dockerEvents';
import { JobStore, type JobRecord } from './jobStore';
import { TaskLogCapture } from './logCapture';
import { followLogFile } from './logFollower';
import { planLocalJob } from './jobPlanner';

export interface LocalEngineOptions {
  /** Folder holding the engine's job records, logs and outputs. */
  readonly dataDir: string;
  /** As in DOCKER_HOST; empty for Docker's defaults. */
  readonly dockerHost: string;
  readonly logger: Logger;
  /** How long a die event may wait for the log stream to drain before the phase is final. */
  readonly logDrainMs?: number;
  /** Reconnect back-off bounds. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
}

const GIB = 1024 ** 3;

export class LocalEngine implements TrainingEngine {
  readonly kind = 'local' as const;
  readonly displayName = 'local Docker engine';

  private readonly disposables = new DisposableStore();
  private readonly stateEmitter = this.disposables.register(new Emitter<EngineState>());
  private readonly jobEmitter = this.disposables.register(new Emitter<JobChange>());
  private readonly eventEmitter = this.disposables.register(new Emitter<JobEventAdded>());
  /** Fires `<job id>/<task>` when a task's log file grew. */
  private readonly logEmitter = this.disposables.register(new Emitter<string>());
  readonly onDidChangeState: Event<EngineState> = this.stateEmitter.event;
  readonly onDidChangeJob: Event<JobChange> = this.jobEmitter.event;
  readonly onDidAddEvent: Event<JobEventAdded> = this.eventEmitter.event;

  private readonly docker: Docker;
  private readonly dockerEvents: DockerEventStream;
  private readonly store: JobStore;
  /** Labels this engine's containers, so engines with other data folders never touch them. */
  readonly storeId: string;
  private readonly endpoint: string;
  private readonly captures = new Map<string, CaptureHandle>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Jobs this engine is creating right now: reconciliation leaves them to their creator. */
  private readonly creating = new Set<string>();
  /** Tasks whose container got a kill signal the engine did not send (`docker kill`, `docker rm -f`). */
  private readonly externalKills = new Map<string, string>();
  private currentState: EngineState;
  private machine: MachineResources | undefined;
  private loaded: Promise<void> | undefined;
  private connecting: Promise<EngineState> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay: number;
  private disposed = false;

  constructor(private readonly options: LocalEngineOptions) {
    this.endpoint = describeDockerHost(options.dockerHost);
    this.currentState = { kind: 'connecting' };
    this.docker = createDockerClient(options.dockerHost);
    this.store = new JobStore(options.dataDir, (file, error) =>
      options.logger.warn(`Ignoring a damaged job record ${file}: ${errorMessage(error)}`),
    );
    this.storeId = createHash('sha256').update(path.resolve(options.dataDir)).digest('hex').slice(0, 16);
    this.reconnectDelay = options.reconnectMinMs ?? 1000;
    this.dockerEvents = this.disposables.register(
      new DockerEventStream(this.docker, (line, error) =>
        options.logger.warn(`Ignoring a malformed Docker event (${errorMessage(error)}): ${line.slice(0, 200)}`),
      ),
    );
    this.disposables.register(this.dockerEvents.onEvent((event) => this.onDockerEvent(event)));
    this.disposables.register(
      this.dockerEvents.onEnd((error) => {
        this.setState({ kind: 'unavailable', reason: `lost the connection to Docker (${error.message})`, endpoint: this.endpoint });
        this.scheduleReconnect();
      }),
    );
  }

  get state(): EngineState {
    return this.currentState;
  }

  // ---- Connection and reconciliation ---------------------------------------------------------

  connect(): Promise<EngineState> {
    this.connecting ??= this.doConnect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async doConnect(): Promise<EngineState> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    try {
      this.loaded ??= this.store.load();
      await this.loaded;
      const version = parseDocker(dockerVersionSchema, await this.docker.version(), 'GET /version');
      const info = parseDocker(dockerInfoSchema, await this.docker.info(), 'GET /info');
      this.machine = { cpus: info.NCPU, memoryBytes: info.MemTotal };
      // Listen before reconciling, so no exit falls between the two.
      await this.dockerEvents.connect();
      await this.reconcile();
      this.reconnectDelay = this.options.reconnectMinMs ?? 1000;
      this.setState({ kind: 'available', version: version.Version, endpoint: this.endpoint });
    } catch (error) {
      if (this.disposed) return this.currentState;
      const reason = dockerErrorMessage(error);
      const before = this.currentState;
      // Said once per outage, not at every retry.
      if (before.kind !== 'unavailable' || before.reason !== reason) {
        this.options.logger.warn(`Docker engine at ${this.endpoint} is not reachable: ${reason}`);
      }
      this.setState({ kind: 'unavailable', reason, endpoint: this.endpoint });
      this.scheduleReconnect();
    }
    return this.currentState;
  }

  private scheduleReconnect(): void {
    if (this.disposed || this.reconnectTimer !== undefined) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(delay * 2, this.options.reconnectMaxMs ?? 30_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
    // Retrying must never keep a process alive on its own.
    this.reconnectTimer.unref();
  }

  private setState(state: EngineState): void {
    const before = this.currentState;
    this.currentState = state;
    const same =
      before.kind === state.kind &&
      (before.kind !== 'unavailable' || (state.kind === 'unavailable' && before.reason === state.reason));
    if (!same) this.stateEmitter.fire(state);
  }

  /** Brings every live job in line with its containers, and removes this store's orphan containers. */
  private async reconcile(): Promise<void> {
    const containers = parseDocker(
      containerSummarySchema.array(),
      await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.managedBy}=${MANAGED_BY}`, `${LABELS.store}=${this.storeId}`] },
      }),
      'GET /containers/json',
    );
    for (const container of containers) {
      const jobId = container.Labels?.[LABELS.jobId];
      if (jobId && !this.store.get(jobId)) {
        // Left by a creation that was interrupted before its record was written.
        this.options.logger.info(`Removing orphan container ${container.Id.slice(0, 12)} of unknown job ${jobId}`);
        await this.docker.getContainer(container.Id).remove({ force: true, v: true }).catch(() => undefined);
      }
    }
    await Promise.all(
      this.store
        .list()
        .filter((record) => !isTerminalPhase(record.job.status.phase))
        .map((record) => this.queue(record.job.metadata.id, () => this.reconcileJob(record.job.metadata.id))),
    );
  }

  private async reconcileJob(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase) || this.creating.has(id)) return;
    for (const task of record.job.status.tasks) {
      const containerId = record.local.containers[task];
      const inspect = containerId ? await this.inspect(containerId) : undefined;
      if (!inspect) {
        if (record.job.status.phase === 'Creating') {
          await this.fail(id, 'CreateFailed', `[${task}] Creating the job was interrupted before its container existed.`);
        } else {
          await this.markAbnormal(id, task, `[${task}] The container of this task no longer exists.`);
        }
        return;
      }
      const state = inspect.State;
      if (state.Running) {
        await this.onTaskStarted(id, task, inspect.Id, dockerTime(state.StartedAt) ?? Date.now());
      } else if (dockerTime(state.StartedAt) !== undefined) {
        await this.onTaskStarted(id, task, inspect.Id, dockerTime(state.StartedAt) ?? Date.now());
        await this.onTaskExited(id, task, inspect.Id);
      } else if (record.job.status.phase === 'Pending') {
        await this.startTask(id, task);
      } else {
        await this.fail(id, 'CreateFailed', `[${task}] Creating the job was interrupted; create it again.`);
      }
    }
  }

  private async inspect(containerId: string): Promise<ContainerInspect | undefined> {
    try {
      return parseDocker(containerInspectSchema, await this.docker.getContainer(containerId).inspect(), 'GET /containers/{id}/json');
    } catch (error) {
      if (isDockerStatus(error, 404)) return undefined;
      throw error;
    }
  }

  // ---- Queries --------------------------------------------------------------------------------

  async listJobs(): Promise<TrainingJob[]> {
    await this.ensureLoaded();
    const now = Date.now();
    return this.store.list().map((record) => withLiveDuration(structuredClone(record.job), now));
  }

  async getJob(id: string): Promise<TrainingJob | undefined> {
    await this.ensureLoaded();
    const record = this.store.get(id);
    return record ? withLiveDuration(structuredClone(record.job), Date.now()) : undefined;
  }

  async listEvents(id: string): Promise<JobEvent[]> {
    await this.ensureLoaded();
    this.requireRecord(id);
    return this.store.readEvents(id);
  }

  async readLog(id: string, task: string): Promise<string> {
    await this.ensureLoaded();
    this.requireTask(id, task);
    try {
      return await fs.promises.readFile(this.store.logFile(id, task), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    }
  }

  async *followLog(id: string, task: string, options: FollowLogOptions = {}): AsyncGenerator<string[]> {
    await this.ensureLoaded();
    this.requireTask(id, task);
    const key = `${id}/${task}`;
    const changes: Event<unknown> = (listener, thisArgs, disposables) => {
      const store = new DisposableStore();
      store.register(this.logEmitter.event((changed) => changed === key && listener(changed)));
      store.register(this.jobEmitter.event((change) => change.job.metadata.id === id && listener(change)));
      disposables?.push(store);
      return store;
    };
    yield* followLogFile(this.store.logFile(id, task), {
      isComplete: () => {
        const record = this.store.get(id);
        return !record || (isTerminalPhase(record.job.status.phase) && !this.captures.has(key));
      },
      changes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async listPresetEngines(): Promise<PresetEngine[]> {
    const images = parseDocker(
      imageSummarySchema.array(),
      await this.docker.listImages({ filters: { label: [ENGINE_LABELS.id] } } as Docker.ListImagesOptions),
      'GET /images/json',
    );
    const engines = new Map<string, PresetEngine>();
    for (const image of images) {
      const labels = image.Labels ?? {};
      const id = labels[ENGINE_LABELS.id];
      const tag = image.RepoTags?.find((t) => t !== '<none>:<none>');
      if (!id || !tag || engines.has(id)) continue;
      engines.set(id, {
        engine_id: id,
        engine_name: labels[ENGINE_LABELS.name] ?? id,
        engine_version: labels[ENGINE_LABELS.version] ?? tag.split(':').pop() ?? '',
        v1_compatible: false,
        run_user: String(MA_USER_UID),
        image_info: { cpu_image_url: tag, image_version: labels[ENGINE_LABELS.recipe] ?? image.Id.slice(7, 19) },
      });
    }
    return [...engines.values()].sort((a, b) => a.engine_id.localeCompare(b.engine_id));
  }

  async listFlavors(): Promise<Flavor[]> {
    return flavorsThatFit(await this.machineResources());
  }

  outputLocation(id: string, output: string): string | undefined {
    return this.store.get(id)?.local.outputDirs[output];
  }

  private async machineResources(): Promise<MachineResources> {
    if (!this.machine) {
      const info = parseDocker(dockerInfoSchema, await this.docker.info(), 'GET /info');
      this.machine = { cpus: info.NCPU, memoryBytes: info.MemTotal };
    }
    return this.machine;
  }

  // ---- Create ---------------------------------------------------------------------------------

  async createJob(request: unknown, options: CreateJobOptions = {}): Promise<TrainingJob> {
    const valid = parseJobCreateRequest(request);
    await this.ensureLoaded();
    if (this.currentState.kind !== 'available') {
      const state = await this.connect();
      if (state.kind !== 'available') throw new EngineUnavailableError(this.displayName, state.kind === 'unavailable' ? state.reason : 'connecting');
    }
    const progress = options.onProgress ?? (() => undefined);
    const signal = options.signal;
    progress('Checking the job spec');
    const [engines, machine] = await Promise.all([this.listPresetEngines(), this.machineResources()]);
    const plan = await planLocalJob(valid, {
      id: randomUUID(),
      now: Date.now(),
      engines,
      flavors: flavorsThatFit(machine),
      defaultFlavor: defaultFlavor(machine),
    });
    throwIfCancelled(signal);

    const job = plan.job;
    const id = job.metadata.id;
    const record: JobRecord = { version: 1, job, local: { containers: {}, outputDirs: {} } };
    this.creating.add(id);
    try {
      for (const output of job.algorithm.outputs) {
        record.local.outputDirs[output.name] = await this.prepareOutputDir(this.store.outputDir(id, output.name));
      }
      await this.store.save(record);
      await this.addEvents(id, [makeEvent('Info', 'Job', `Training job ${job.metadata.name} created.`)]);
      this.jobEmitter.fire({ kind: 'created', job: structuredClone(job) });

      for (const [index, task] of job.status.tasks.entries()) {
        throwIfCancelled(signal);
        progress(`Creating the container of ${task}`);
        const container = await this.docker.createContainer(this.containerSpec(record, plan.flavor, task, index));
        record.local.containers[task] = container.id;
        await this.store.save(record);
        throwIfCancelled(signal);
        progress(`Copying the code of ${task}`);
        const archive = packCodeFolder(plan.codeDir, codeFolderName(job.algorithm.code_dir));
        const abort = () => (archive.stream as NodeJS.ReadableStream & { destroy?: (e?: Error) => void }).destroy?.(new CancelledError('Copying the code'));
        signal?.addEventListener('abort', abort, { once: true });
        try {
          await container.putArchive(archive.stream, { path: MA_JOB_DIR });
        } finally {
          signal?.removeEventListener('abort', abort);
        }
        throwIfCancelled(signal);
        await this.addEvents(id, [
          makeEvent(
            'Info',
            'Task',
            `[${task}] Code copied to ${containerCodeDir(job.algorithm.code_dir)} (${archive.stats.files} files, ${formatBytes(archive.stats.bytes)}).`,
          ),
        ]);
      }
    } catch (error) {
      await this.discard(record);
      if (signal?.aborted) throw new CancelledError('Creating the training job');
      throw error;
    } finally {
      this.creating.delete(id);
    }

    // The job exists from here on: a failure to start is the job's CreateFailed, not the caller's error.
    await this.queue(id, async () => {
      await this.update(id, (draft) => {
        setPhase(draft, 'Pending', 'Pending');
        return [makeEvent('Info', 'Job', 'Training job is pending: starting its containers.')];
      });
      for (const task of job.status.tasks) await this.startTask(id, task);
    });
    progress('Started');
    return (await this.getJob(id)) ?? structuredClone(job);
  }

  private containerSpec(record: JobRecord, flavor: Flavor, task: string, index: number): Docker.ContainerCreateOptions {
    const { job } = record;
    const id = job.metadata.id;
    const hostName = taskHostName(id, task);
    const env = containerEnvironment(job, { jobId: id, task, index, nodeCount: job.spec.resource.node_count, gpus: flavor.gpu_count });
    const memory = flavor.memory_gib * GIB;
    return {
      name: hostName,
      Hostname: hostName,
      Image: job.algorithm.engine.image_url,
      User: `${MA_USER_UID}:${MA_USER_GID}`,
      Cmd: bootCommand(job.algorithm),
      WorkingDir: containerWorkingDir(job.algorithm),
      Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      Tty: false,
      OpenStdin: false,
      Labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.jobId]: id,
        [LABELS.task]: task,
        [LABELS.store]: this.storeId,
      },
      HostConfig: {
        Binds: job.algorithm.outputs.map((output) => `${record.local.outputDirs[output.name]}:${output.local_dir}`),
        NanoCpus: flavor.cpu_cores * 1e9,
        Memory: memory,
        // PyTorch data loaders share tensors through /dev/shm; Docker's 64 MB default is too small.
        ShmSize: Math.min(memory / 2, 8 * GIB),
        // An init process forwards SIGTERM to the training process and reaps its children.
        Init: true,
        // json-file keeps the whole log, which lets a capture resume exactly after a restart.
        LogConfig: { Type: 'json-file', Config: {} },
      },
    };
  }

  /** Output folders are written by ma-user (UID 1000) inside the container. */
  private async prepareOutputDir(dir: string): Promise<string> {
    await fs.promises.mkdir(dir, { recursive: true });
    if (typeof process.getuid === 'function' && process.getuid() !== MA_USER_UID) {
      await fs.promises.chmod(dir, 0o777);
    }
    return dir;
  }

  /** Removes everything a failed creation made: containers, files, the record. */
  private async discard(record: JobRecord): Promise<void> {
    const id = record.job.metadata.id;
    for (const containerId of Object.values(record.local.containers)) {
      await this.docker
        .getContainer(containerId)
        .remove({ force: true, v: true })
        .catch((error: unknown) => {
          if (!isDockerStatus(error, 404)) this.options.logger.warn(`Could not remove container ${containerId}: ${dockerErrorMessage(error)}`);
        });
    }
    const existed = this.store.get(id) !== undefined;
    await this.store.remove(id);
    if (existed) this.jobEmitter.fire({ kind: 'deleted', job: structuredClone(record.job) });
  }

  private async startTask(id: string, task: string): Promise<void> {
    const containerId = this.store.get(id)?.local.containers[task];
    if (!containerId) return;
    try {
      await this.docker.getContainer(containerId).start();
    } catch (error) {
      if (isDockerStatus(error, 304)) return; // already started
      await this.fail(id, 'CreateFailed', `[${task}] The container could not start: ${dockerErrorMessage(error)}`);
    }
  }

  // ---- Docker events --------------------------------------------------------------------------

  private onDockerEvent(event: DockerEvent): void {
    const id = event.Actor.Attributes[LABELS.jobId];
    const task = event.Actor.Attributes[LABELS.task];
    if (!id || !task || !this.store.get(id)) return;
    const at = event.timeNano ? Math.round(event.timeNano / 1e6) : event.time * 1000;
    switch (event.Action) {
      case 'start':
        void this.queue(id, () => this.onTaskStarted(id, task, event.Actor.ID, at));
        break;
      case 'die':
        void this.queue(id, () => this.onTaskExited(id, task, event.Actor.ID));
        break;
      case 'kill':
        void this.queue(id, async () => {
          const phase = this.store.get(id)?.job.status.phase;
          if (phase && phase !== 'Terminating' && !isTerminalPhase(phase)) {
            this.externalKills.set(`${id}/${task}`, event.Actor.Attributes['signal'] ?? 'unknown');
          }
        });
        break;
      case 'oom':
        void this.queue(id, () =>
          this.addEvents(id, [makeEvent('Warning', 'Docker', `[${task}] Out of memory: the flavor's memory limit was reached.`, new Date(at))]),
        );
        break;
      case 'destroy':
        void this.queue(id, () => this.markAbnormal(id, task, `[${task}] The container was removed while the job was live.`));
        break;
      default:
        break;
    }
  }

  private async onTaskStarted(id: string, task: string, containerId: string, at: number): Promise<void> {
    const record = this.store.get(id);
    if (!record || record.local.containers[task] !== containerId || isTerminalPhase(record.job.status.phase)) return;
    this.ensureCapture(id, task, containerId);
    if (record.job.status.phase !== 'Creating' && record.job.status.phase !== 'Pending') return;
    await this.update(id, (draft) => {
      setPhase(draft, 'Running', 'Running');
      draft.status.start_time ||= at;
      draft.status.running_records.push({ start_at: Math.floor(at / 1000), start_type: 'init_or_rescheduled' });
      return [
        makeEvent('Info', 'Job', 'Training job is running.', new Date(at)),
        makeEvent('Info', 'Task', `[${task}] Training started.`, new Date(at)),
      ];
    });
  }

  private async onTaskExited(id: string, task: string, containerId: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || record.local.containers[task] !== containerId || isTerminalPhase(record.job.status.phase)) return;
    const inspect = await this.inspect(containerId);
    if (!inspect) {
      await this.markAbnormal(id, task, `[${task}] The container vanished before its exit could be read.`);
      return;
    }
    const state = inspect.State;
    if (state.Running) return;
    await this.drainCapture(id, task);
    const killedWith = this.externalKills.get(`${id}/${task}`);
    if (killedWith !== undefined) {
      this.externalKills.delete(`${id}/${task}`);
      await this.markAbnormal(id, task, `[${task}] The container was killed from outside (signal ${killedWith}, exit code ${state.ExitCode}).`);
      return;
    }

    const exitCode = state.ExitCode;
    const finishedAt = dockerTime(state.FinishedAt) ?? Date.now();
    const stopping = record.job.status.phase === 'Terminating';
    const message = state.OOMKilled
      ? `Killed: out of memory (the flavor allows ${record.job.spec.resource.flavor_id})`
      : exitCode === 0
        ? 'Succeeded'
        : state.Error || `Exited with code ${exitCode}`;
    await this.update(id, (draft) => {
      const events: JobEvent[] = [];
      draft.status.task_statuses = [
        ...draft.status.task_statuses.filter((s) => s.task !== task),
        { task, exit_code: exitCode, message },
      ];
      events.push(makeEvent(exitCode === 0 ? 'Info' : 'Error', 'Task', `[${task}] Training finished. Exit code ${exitCode}.`, new Date(finishedAt)));
      const finished = draft.status.tasks.every((t) => draft.status.task_statuses.some((s) => s.task === t));
      if (!finished) return events;
      const failedTask = draft.status.task_statuses.find((s) => s.exit_code !== 0);
      const lastRecord = draft.status.running_records.at(-1);
      if (lastRecord && lastRecord.end_at === undefined) {
        lastRecord.end_at = Math.floor(finishedAt / 1000);
        lastRecord.end_reason = stopping ? 'Terminated' : failedTask ? `Exit code ${failedTask.exit_code}` : 'Completed';
        if (failedTask) lastRecord.end_related_task = failedTask.task;
      }
      if (draft.status.start_time) draft.status.duration = Math.max(0, finishedAt - draft.status.start_time);
      if (stopping) {
        setPhase(draft, 'Terminated', 'Terminated');
        events.push(makeEvent('Info', 'Job', 'Training job terminated.', new Date(finishedAt)));
      } else if (!failedTask) {
        setPhase(draft, 'Completed', 'Completed');
        events.push(makeEvent('Info', 'Job', 'Training job completed.', new Date(finishedAt)));
      } else {
        setPhase(draft, 'Failed', 'Failed');
        events.push(makeEvent('Error', 'Job', `Training job failed: ${failedTask.task} exited with code ${failedTask.exit_code}.`, new Date(finishedAt)));
      }
      return events;
    });
  }

  private async markAbnormal(id: string, task: string, reason: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase)) return;
    this.stopCapture(id, task);
    await this.update(id, (draft) => {
      setPhase(draft, 'Abnormal', 'Lost');
      draft.status.task_statuses = [...draft.status.task_statuses.filter((s) => s.task !== task), { task, message: reason }];
      return [makeEvent('Error', 'Job', `Training job is abnormal: ${reason}`)];
    });
  }

  private async fail(id: string, secondary: SecondaryPhase, reason: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase)) return;
    await this.update(id, (draft) => {
      setPhase(draft, 'Failed', secondary);
      return [makeEvent('Error', 'Job', `Training job failed: ${reason}`)];
    });
  }

  // ---- Logs -----------------------------------------------------------------------------------

  private ensureCapture(id: string, task: string, containerId: string): void {
    const key = `${id}/${task}`;
    if (this.captures.has(key)) return;
    const file = this.store.logFile(id, task);
    // Registered synchronously, so a second start event never opens a second capture.
    let capture: TaskLogCapture | undefined;
    let stopped = false;
    const starting = fs.promises.mkdir(path.dirname(file), { recursive: true }).then(() =>
      TaskLogCapture.start(this.docker.getContainer(containerId), file, {
        onAppend: () => this.logEmitter.fire(key),
        onError: (error) => this.options.logger.warn(`Log capture of ${key} failed: ${errorMessage(error)}`),
      }),
    );
    this.captures.set(key, {
      done: starting.then(
        (started) => {
          capture = started;
          if (stopped) started.stop();
          return started.done;
        },
        (error: unknown) => this.options.logger.warn(`Could not read the log of ${key}: ${dockerErrorMessage(error)}`),
      ),
      stop: () => {
        stopped = true;
        capture?.stop();
      },
    });
  }

  /** Waits (bounded) until the task's log is fully on disk, then forgets its capture. */
  private async drainCapture(id: string, task: string): Promise<void> {
    const key = `${id}/${task}`;
    const capture = this.captures.get(key);
    if (!capture) return;
    const limit = this.options.logDrainMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limit)));
    const outcome = await Promise.race([capture.done.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.options.logger.warn(`The log of ${key} did not end within ${limit} ms of its container's exit.`);
      capture.stop();
    }
    this.captures.delete(key);
    this.logEmitter.fire(key);
  }

  private stopCapture(id: string, task: string): void {
    const key = `${id}/${task}`;
    this.captures.get(key)?.stop();
    this.captures.delete(key);
    this.logEmitter.fire(key);
  }

  // ---- State changes --------------------------------------------------------------------------

  /** Applies `change` to the job, saves it, records its events and tells listeners. */
  private async update(id: string, change: (draft: TrainingJob) => JobEvent[]): Promise<void> {
    const record = this.store.get(id);
    if (!record) return;
    const draft = structuredClone(record.job);
    let events: JobEvent[];
    try {
      events = change(draft);
    } catch (error) {
      this.options.logger.error(`Job ${id}: ${errorMessage(error)}`);
      return;
    }
    await this.store.save({ ...record, job: draft });
    await this.addEvents(id, events);
    this.jobEmitter.fire({ kind: 'updated', job: withLiveDuration(structuredClone(draft), Date.now()) });
  }

  private async addEvents(id: string, events: JobEvent[]): Promise<void> {
    await this.store.appendEvents(id, events);
    for (const event of events) this.eventEmitter.fire({ jobId: id, event });
  }

  /** Runs `work` after every earlier piece of work on the same job. */
  private queue<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch((error: unknown) => this.options.logger.error(`Job ${id}: ${errorMessage(error)}`));
    this.queues.set(id, settled);
    void settled.then(() => {
      if (this.queues.get(id) === settled) this.queues.delete(id);
    });
    return next;
  }

  /** Resolves once every queued job change has been applied (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.queues.size) await Promise.allSettled([...this.queues.values()]);
    await this.store.flush();
  }

  private async ensureLoaded(): Promise<void> {
    this.loaded ??= this.store.load();
    await this.loaded;
  }

  private requireRecord(id: string): JobRecord {
    const record = this.store.get(id);
    if (!record) throw new NotFoundError('job', id);
    return record;
  }

  private requireTask(id: string, task: string): JobRecord {
    const record = this.requireRecord(id);
    if (!record.job.status.tasks.includes(task)) throw new NotFoundError('task', `${task} of job ${id}`);
    return record;
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.reconnectTimer);
    for (const capture of this.captures.values()) capture.stop();
    this.captures.clear();
    this.disposables.dispose();
  }
}

/** A task's log capture, possibly still opening its stream. */
interface CaptureHandle {
  readonly done: Promise<void>;
  stop(): void;
}

function setPhase(job: TrainingJob, to: JobPhase, secondary: SecondaryPhase): void {
  const from = job.status.phase;
  if (from !== to && !canTransition(from, to)) {
    throw new Error(`illegal phase change ${from} → ${to}`);
  }
  job.status.phase = to;
  job.status.secondary_phase = secondary;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('Creating the training job');
}
