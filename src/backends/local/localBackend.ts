/**
 * The local training engine: runs ModelArts training jobs as containers on a Docker engine, with
 * ModelArts' whole life cycle (Creating → Pending/Queuing → Running → Completed, Failed,
 * Terminated or Abnormal), inputs staged from object storage and outputs delivered to it,
 * distributed jobs, automatic restarts, algorithms and custom images.
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
  algorithmRequestFromJob,
  parseAlgorithmCreateRequest,
  type Algorithm,
  type ValidAlgorithmCreateRequest,
} from '../../core/algorithm';
import { MA_JOB_DIR, MA_USER_UID, codeFolderName, containerCodeDir } from '../../core/contract';
import {
  CancelledError,
  EngineUnavailableError,
  InvalidInputError,
  InvalidStateError,
  ModelArtsError,
  NotFoundError,
  errorMessage,
} from '../../core/errors';
import { formatBytes, uniqueName } from '../../core/format';
import { DisposableStore, Emitter, waitForEvent, type Event } from '../../core/events';
import { defaultFlavor, defaultFlavorReason, findFlavor, flavorsThatFit, type Flavor, type MachineResources } from '../../core/flavors';
import {
  parseJobCreateRequest,
  retryLimit,
  toCreateRequest,
  withLiveDuration,
  type JobChange,
  type TrainingJob,
  type ValidJobCreateRequest,
} from '../../core/job';
import { makeEvent, type JobEvent, type JobEventAdded } from '../../core/jobEvent';
import { actionRefusal, canTransition, isTerminalPhase, type JobAction, type JobPhase, type SecondaryPhase } from '../../core/lifecycle';
import type { Logger } from '../../core/logger';
import { ENGINE_LABELS, type PresetEngine } from '../../core/presetEngines';
import type { ResourceSample, ResourceSampleAdded } from '../../core/resourceSample';
import { openUpForContainerUser, readableByContainerUser } from '../../storage/fileModes';
import { FolderStore } from '../../storage/folderStore';
import { InputCache } from '../../storage/inputCache';
import type { StoreLocation, StoreResolver, TransferProgress } from '../../storage/objectStore';
import { createStoreResolver } from '../../storage/storeResolver';
import { deletePrefix, downloadPrefix, uploadFolder } from '../../storage/transfer';
import type {
  AlgorithmChange,
  CopyJobOptions,
  CreateJobOptions,
  DeleteJobOptions,
  BackendState,
  FollowLogOptions,
  StopJobOptions,
  TrainingBackend,
} from '../trainingBackend';
import { decideAdmission } from './admission';
import { AlgorithmStore } from './algorithmStore';
import { packCodeFolder } from './codeArchive';
import { jobNetworkName, taskContainerSpec } from './containerSpec';
import { buildCustomImage, checkTrainingImage, type BuiltImage, type CustomImageBuild } from './customImages';
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
  reportedGpus,
  type ContainerInspect,
  type DockerEvent,
} from './docker';
import { DockerEventStream } from './dockerEvents';
import { LocalDevContainers } from './devContainer';
import { WriterLock, type LockHolder } from './writerLock';
import { checkAlgorithmConfig, planLocalJob, type Capacity, type LocalJobPlan } from './jobPlanner';
import { JobStore, type JobRecord, type LocalState } from './jobStore';
import { TaskLogCapture } from './logCapture';
import { followLogFile } from './logFollower';
import { ResourceStats } from './resourceStats';

export interface LocalBackendOptions {
  /** Folder holding the engine's job records, logs, outputs, algorithms and input cache. */
  readonly dataDir: string;
  /** As in DOCKER_HOST; empty for Docker's defaults. */
  readonly dockerHost: string;
  readonly logger: Logger;
  /** Maps obs:// and s3:// URLs to stores; by default every bucket is a folder under `<dataDir>/object-store`. */
  readonly storeResolver?: StoreResolver;
  /** What may run at once; by default the Docker machine's CPUs and memory. */
  readonly capacity?: Partial<Capacity>;
  /** Seconds between SIGTERM and SIGKILL when a job is stopped. */
  readonly stopGraceSeconds?: number;
  /** Most bytes the input cache keeps (least recently used inputs go first). */
  readonly inputCacheBytes?: number;
  /** How long the final phase waits for the log stream to drain (the log is read to its end regardless). */
  readonly logDrainMs?: number;
  /** Reconnect back-off bounds. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
}

const GIB = 1024 ** 3;
/** The abort reason of a creation the user stopped (as opposed to cancelled). */
const STOP = Symbol('stop');
/**
 * How long after an outside SIGTERM the connection may drop for the kill to count as the daemon
 * stopping: its containers' stop timeout (10 s) and some slack.
 */
const DAEMON_STOP_WINDOW_MS = 15_000;

export class LocalBackend implements TrainingBackend {
  readonly kind = 'local' as const;
  readonly displayName = 'local Docker engine';

  private readonly disposables = new DisposableStore();
  private readonly stateEmitter = this.disposables.register(new Emitter<BackendState>());
  private readonly jobEmitter = this.disposables.register(new Emitter<JobChange>());
  private readonly eventEmitter = this.disposables.register(new Emitter<JobEventAdded>());
  private readonly algorithmEmitter = this.disposables.register(new Emitter<AlgorithmChange>());
  /** Fires `<job id>/<task>` when a task's log file grew. */
  private readonly logEmitter = this.disposables.register(new Emitter<string>());
  readonly onDidChangeState: Event<BackendState> = this.stateEmitter.event;
  readonly onDidChangeJob: Event<JobChange> = this.jobEmitter.event;
  readonly onDidAddEvent: Event<JobEventAdded> = this.eventEmitter.event;
  readonly onDidChangeAlgorithm: Event<AlgorithmChange> = this.algorithmEmitter.event;
  private readonly resourceSampleEmitter = this.disposables.register(new Emitter<ResourceSampleAdded>());
  readonly onDidAddResourceSample: Event<ResourceSampleAdded> = this.resourceSampleEmitter.event;
  readonly devContainers: LocalDevContainers;

  private readonly docker: Docker;
  private readonly dockerEvents: DockerEventStream;
  private readonly store: JobStore;
  private readonly algorithms: AlgorithmStore;
  private readonly resolver: StoreResolver;
  private readonly inputCache: InputCache;
  /** Labels this engine's containers, so engines with other data folders never touch them. */
  readonly storeId: string;
  private readonly endpoint: string;
  private readonly captures = new Map<string, CaptureHandle>();
  /** CPU and memory sampling of running tasks (by the writer only), kept in each job's folder. */
  private readonly resourceStats: ResourceStats;
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Jobs this engine is creating right now, with the controller that stops their creation. */
  private readonly creations = new Map<string, AbortController>();
  /** Tasks whose container got a kill signal the engine did not send (`docker kill`, `docker rm -f`). */
  private readonly externalKills = new Map<string, { readonly signal: string; readonly at: number; daemonStopping?: boolean }>();
  /** Tasks the engine is stopping itself (a stop, or the other tasks of a failed distributed job). */
  private readonly engineStops = new Set<string>();
  /** Input cache entries each live job uses, released when it ends. */
  private readonly inputPins = new Map<string, Array<() => void>>();
  /** Cancels output uploads when the engine is disposed. */
  private readonly shutdown = new AbortController();
  /** When the connection to Docker was lost: exits after it may be the daemon stopping its containers. */
  private connectionLostAt: number | undefined;
  private scheduling: Promise<void> = Promise.resolve();
  private capacityLimit: Partial<Capacity>;
  /** Only the engine holding this lock writes to the data folder; the others follow what it writes. */
  private readonly lock: WriterLock;
  private following: { readonly holder: LockHolder; readonly stop: () => void } | undefined;
  private currentState: BackendState;
  private machine: MachineResources | undefined;
  private loaded: Promise<void> | undefined;
  private connecting: Promise<BackendState> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay: number;
  private disposed = false;

  constructor(private readonly options: LocalBackendOptions) {
    this.endpoint = describeDockerHost(options.dockerHost);
    this.currentState = { kind: 'connecting' };
    this.docker = createDockerClient(options.dockerHost);
    const damaged = (file: string, error: unknown) => options.logger.warn(`Ignoring a damaged record ${file}: ${errorMessage(error)}`);
    this.store = new JobStore(options.dataDir, damaged);
    this.algorithms = new AlgorithmStore(options.dataDir, damaged);
    this.resolver =
      options.storeResolver ?? createStoreResolver({ folderStore: new FolderStore(path.join(options.dataDir, 'object-store')) });
    this.inputCache = new InputCache(path.join(options.dataDir, 'input-cache'), { maxBytes: options.inputCacheBytes ?? 20 * GIB });
    this.lock = new WriterLock(path.join(options.dataDir, 'engine.lock'));
    this.capacityLimit = options.capacity ?? {};
    this.storeId = createHash('sha256').update(path.resolve(options.dataDir)).digest('hex').slice(0, 16);
    this.reconnectDelay = options.reconnectMinMs ?? 1000;
    this.devContainers = new LocalDevContainers({
      docker: this.docker,
      storeId: this.storeId,
      devRoot: path.join(options.dataDir, 'dev'),
      logger: options.logger,
      localDocker: () => remoteDockerReason(options.dockerHost || process.env.DOCKER_HOST || ''),
      ensureAvailable: () => this.ensureAvailable(),
      plan: (valid, id) => this.planJob(valid, id),
      stageStoreInput: (name, location, signal, progress) => this.stageStoreInput(name, location, signal, progress),
    });
    this.resourceStats = this.disposables.register(
      new ResourceStats({
        docker: this.docker,
        file: (id) => path.join(this.store.jobDir(id), 'stats.jsonl'),
        logger: options.logger,
        onSample: (added) => this.resourceSampleEmitter.fire(added),
      }),
    );
    this.dockerEvents = this.disposables.register(
      new DockerEventStream(this.docker, (line, error) =>
        options.logger.warn(`Ignoring a malformed Docker event (${errorMessage(error)}): ${line.slice(0, 200)}`),
      ),
    );
    this.disposables.register(this.dockerEvents.onEvent((event) => this.onDockerEvent(event)));
    this.disposables.register(
      this.dockerEvents.onEnd((error) => {
        this.connectionLostAt ??= Date.now();
        // Kills just before the daemon went away were the daemon stopping its containers, not a user.
        for (const kill of this.externalKills.values()) if (kill.at >= Date.now() - 15_000) kill.daemonStopping = true;
        // Log streams broke with the connection; reconciliation reopens them where they stopped.
        for (const capture of this.captures.values()) capture.stop();
        this.captures.clear();
        this.resourceStats.stopAll();
        this.setState({ kind: 'unavailable', reason: `lost the connection to Docker (${error.message})`, endpoint: this.endpoint });
        this.scheduleReconnect();
      }),
    );
  }

  get state(): BackendState {
    return this.currentState;
  }

  // ---- Connection and reconciliation ---------------------------------------------------------

  connect(): Promise<BackendState> {
    this.connecting ??= this.doConnect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async doConnect(): Promise<BackendState> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    try {
      await this.ensureLoaded();
      const version = parseDocker(dockerVersionSchema, await this.docker.version(), 'GET /version');
      void this.devContainers.sweep().catch((error: unknown) => this.options.logger.warn(`Sweeping dev containers: ${dockerErrorMessage(error)}`));
      // Read again at every connection: the Docker machine may have changed while it was away.
      this.machine = await this.readMachine();
      const claim = this.lock.tryAcquire();
      if (!claim.acquired) {
        this.follow(claim.holder);
        this.setState({ kind: 'available', version: version.Version, endpoint: this.endpoint });
        return this.currentState;
      }
      if (this.following) {
        // Taking over from a window that closed: start from what it wrote last.
        this.following.stop();
        this.following = undefined;
        this.loaded = Promise.all([this.store.load(), this.algorithms.load()]).then(() => undefined);
        await this.loaded;
      }
      // Listen before reconciling, so no exit falls between the two.
      await this.dockerEvents.connect();
      await this.reconcile();
      this.reconnectDelay = this.options.reconnectMinMs ?? 1000;
      this.setState({ kind: 'available', version: version.Version, endpoint: this.endpoint });
      void this.schedule();
    } catch (error) {
      if (this.disposed) return this.currentState;
      const reason = dockerErrorMessage(error);
      const before = this.currentState;
      // Said once per outage, not at every retry.
      if (before.kind !== 'unavailable' || before.reason !== reason) {
        this.options.logger.warn(`Docker engine at ${this.endpoint} is not reachable: ${reason}`);
      }
      this.connectionLostAt ??= Date.now();
      this.setState({ kind: 'unavailable', reason, endpoint: this.endpoint });
      this.scheduleReconnect();
    }
    return this.currentState;
  }

  /**
   * Another window's engine writes this data folder: show what it writes (records, logs,
   * algorithms) as it changes, refuse changes here, and take over once that window is gone.
   */
  private follow(holder: LockHolder): void {
    if (this.following) return;
    this.options.logger.info(`Another window (process ${holder.pid}) runs the local engine for ${this.options.dataDir}; this one follows it.`);
    const pending = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const paths = [...pending];
      pending.clear();
      void this.applyForeignChanges(paths);
    };
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(this.options.dataDir, { recursive: true }, (_event, file) => {
        if (!file) return;
        pending.add(file.toString());
        timer ??= setTimeout(flush, 100);
      });
      watcher.on('error', (error) => this.options.logger.warn(`Watching ${this.options.dataDir} failed: ${errorMessage(error)}`));
    } catch (error) {
      this.options.logger.warn(`Cannot watch ${this.options.dataDir} (${errorMessage(error)}); jobs of the other window show after a refresh.`);
    }
    const takeOver = setInterval(() => {
      if (this.lock.tryAcquire().acquired) void this.connect();
    }, 2000);
    takeOver.unref();
    this.following = {
      holder,
      stop: () => {
        watcher?.close();
        clearTimeout(timer);
        clearInterval(takeOver);
      },
    };
  }

  private async applyForeignChanges(paths: readonly string[]): Promise<void> {
    const jobs = new Set<string>();
    let algorithms = false;
    for (const file of paths) {
      const parts = file.split(path.sep);
      if (parts[0] === 'jobs' && parts[1]) {
        if (parts[2] === 'logs' && parts[3]?.endsWith('.log')) this.logEmitter.fire(`${parts[1]}/${parts[3].slice(0, -4)}`);
        else if (parts[2] === 'stats.jsonl') void this.resourceStats.tail(parts[1]);
        else jobs.add(parts[1]);
      } else if (parts[0] === 'algorithms') {
        algorithms = true;
      }
    }
    for (const id of jobs) {
      const change = await this.store.refresh(id);
      if (change) this.jobEmitter.fire(change);
    }
    if (algorithms) {
      const before = new Map(this.algorithms.list().map((a) => [a.metadata.id, JSON.stringify(a)]));
      await this.algorithms.load();
      for (const algorithm of this.algorithms.list()) {
        const was = before.get(algorithm.metadata.id);
        before.delete(algorithm.metadata.id);
        if (was !== JSON.stringify(algorithm)) this.algorithmEmitter.fire({ kind: was === undefined ? 'created' : 'updated', algorithm });
      }
      for (const gone of before.values()) this.algorithmEmitter.fire({ kind: 'deleted', algorithm: JSON.parse(gone) as Algorithm });
    }
  }

  /** Changes go through the one window that runs the engine for this data folder. */
  private async requireWriter(): Promise<void> {
    if (!this.following) return;
    if (this.lock.tryAcquire().acquired) {
      await this.connect();
      if (!this.following) return;
    }
    throw new ModelArtsError(
      `Another VS Code window (process ${this.following.holder.pid}) runs the local engine for these jobs; do this in that window, or close it and this one takes over.`,
      'ModelArts.OtherWindow',
    );
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

  private setState(state: BackendState): void {
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
    this.connectionLostAt = undefined;
  }

  private async reconcileJob(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase) || this.creations.has(id)) return;
    if (record.job.status.phase === 'Creating') {
      await this.finish(id, { phase: 'Failed', secondary: 'CreateFailed', message: 'Creating the job was interrupted (the engine stopped); create it again.' });
      return;
    }
    for (const task of record.job.status.tasks) {
      const containerId = record.local.containers[task];
      const inspect = containerId ? await this.inspect(containerId) : undefined;
      if (!inspect) {
        await this.markAbnormal(id, task, `[${task}] The container of this task no longer exists.`);
        return;
      }
      const state = inspect.State;
      const started = dockerTime(state.StartedAt);
      if (state.Running) {
        await this.onTaskStarted(id, task, inspect.Id, started ?? Date.now());
      } else if (started !== undefined && this.store.get(id)?.job.status.phase !== 'Pending') {
        await this.onTaskStarted(id, task, inspect.Id, started);
        await this.onTaskExited(id, task, inspect.Id);
      } else if (this.store.get(id)?.local.admitted && this.store.get(id)?.job.status.phase === 'Pending') {
        // Admitted but not started yet (or restarting after a fault): start it now.
        await this.startTask(id, task);
      }
    }
    const after = this.store.get(id);
    if (after?.job.status.phase === 'Terminating') await this.terminate(id);
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
    // Stored jobs are deeply frozen: shared, not copied (a copy of 10,000 jobs costs ~370 ms).
    return this.store.list().map((record) => withLiveDuration(record.job, now));
  }

  async getJob(id: string): Promise<TrainingJob | undefined> {
    await this.ensureLoaded();
    const record = this.store.get(id);
    return record ? withLiveDuration(record.job, Date.now()) : undefined;
  }

  async listEvents(id: string): Promise<JobEvent[]> {
    await this.ensureLoaded();
    this.requireRecord(id);
    return this.store.readEvents(id);
  }

  async listResourceSamples(id: string): Promise<ResourceSample[]> {
    await this.ensureLoaded();
    // A job deleted meanwhile (a chart still open on it) has no samples left.
    if (!this.store.get(id)) return [];
    return this.resourceStats.read(id);
  }

  /** Docker stats streams open now (tests check that none outlives its task). */
  get openStatsStreams(): number {
    return this.resourceStats.streamCount;
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

  /** Flavors that fit the Docker machine; the default one says why it is the default. */
  async listFlavors(): Promise<Flavor[]> {
    const machine = await this.machineResources();
    const preferred = defaultFlavor(machine)?.flavor_id;
    return flavorsThatFit(machine).map((flavor) => (flavor.flavor_id === preferred ? { ...flavor, default_reason: defaultFlavorReason(machine) } : flavor));
  }

  logLocation(id: string, task: string): string | undefined {
    const job = this.store.get(id)?.job;
    return job && (job.status.tasks.includes(task) || task === 'worker-0') ? this.store.logFile(id, task) : undefined;
  }

  outputLocation(id: string, output: string): string | undefined {
    return this.store.get(id)?.local.outputDirs[output];
  }

  private async machineResources(): Promise<MachineResources> {
    this.machine ??= await this.readMachine();
    return this.machine;
  }

  private async readMachine(): Promise<MachineResources> {
    const info = parseDocker(dockerInfoSchema, await this.docker.info(), 'GET /info');
    return { cpus: info.NCPU, memoryBytes: info.MemTotal, gpus: reportedGpus(info) };
  }

  // ---- Create ---------------------------------------------------------------------------------

  async createJob(request: unknown, options: CreateJobOptions = {}): Promise<TrainingJob> {
    const valid = parseJobCreateRequest(request);
    await this.ensureAvailable();
    await this.requireWriter();
    const progress = options.onProgress ?? (() => undefined);
    progress('Checking the job spec');
    const plan = await this.planJob(valid, randomUUID());
    throwIfCancelled(options.signal);

    const job = plan.job;
    const id = job.metadata.id;
    const record: JobRecord = {
      version: 1,
      job,
      local: { containers: {}, outputDirs: {}, inputDirs: {}, admitted: false, attempt: 0 },
    };
    const creation = new AbortController();
    const cancel = () => creation.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', cancel, { once: true });
    this.creations.set(id, creation);
    try {
      await this.store.save(record);
      await this.addEvents(id, [makeEvent('Info', 'Job', `Training job ${job.metadata.name} created.`)]);
      this.jobEmitter.fire({ kind: 'created', job: structuredClone(job) });
      await this.prepare(record, plan, creation.signal, progress);
    } catch (error) {
      if (creation.signal.reason === STOP) {
        // Stopped by the user while it was being created: it stays, Terminated.
        await this.queue(id, () => this.finish(id, { phase: 'Terminated', secondary: 'Terminated', message: 'Training job stopped while it was being created.' }));
        return (await this.getJob(id)) ?? structuredClone(job);
      }
      await this.discard(record);
      if (options.signal?.aborted) throw new CancelledError('Creating the training job');
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', cancel);
      this.creations.delete(id);
    }

    // The job exists from here on: it waits for its share of the capacity.
    await this.queue(id, () =>
      this.update(id, (draft) => {
        if (draft.status.phase !== 'Creating') return [];
        setPhase(draft, 'Pending', 'Pending');
        return [makeEvent('Info', 'Job', 'Training job is pending: waiting for resources.')];
      }),
    );
    await this.schedule();
    progress('Started');
    return (await this.getJob(id)) ?? structuredClone(job);
  }

  /** Checks a valid request against this machine (code, engine, flavor, capacity, data locations); InvalidInputError names each field. */
  private async planJob(valid: ValidJobCreateRequest, id: string): Promise<LocalJobPlan> {
    const [engines, machine] = await Promise.all([this.listPresetEngines(), this.machineResources()]);
    return planLocalJob(valid, {
      id,
      now: Date.now(),
      engines,
      flavors: flavorsThatFit(machine),
      defaultFlavor: defaultFlavor(machine),
      capacity: this.capacity(machine),
      getAlgorithm: (algorithmId) => this.algorithms.get(algorithmId),
      resolveStore: (url, field) => this.resolver.resolve(url, field),
      checkImage: (image) => this.imageProblems(image),
    });
  }

  /** Downloads a store input into the input cache (or finds it there); the caller releases it when done with it. */
  private async stageStoreInput(
    name: string,
    location: StoreLocation,
    signal: AbortSignal | undefined,
    progress: (message: string) => void,
  ): Promise<{ readonly dir: string; readonly release: () => void; readonly message: string }> {
    const started = Date.now();
    progress(`Downloading input ${name} from ${location.url}`);
    const staged = await this.inputCache.stage(location, {
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
    const { job } = record;
    const id = job.metadata.id;
    const local = record.local;
    const pins: Array<() => void> = [];
    this.inputPins.set(id, pins);

    for (const input of plan.inputs) {
      throwIfCancelled(signal);
      if (input.source.kind === 'folder') {
        local.inputDirs[input.name] = input.source.hostDir;
        const events = [makeEvent('Info', 'Job', `Input ${input.name}: folder ${input.source.hostDir}, mounted read-only at ${input.localDir}.`)];
        if (!(await readableByContainerUser(input.source.hostDir))) {
          events.push(makeEvent('Warning', 'Job', `Input ${input.name}: ${input.source.hostDir} is not readable by others; the training code runs as ma-user (UID ${MA_USER_UID}) and may not read it.`));
        }
        await this.addEvents(id, events);
        continue;
      }
      const staged = await this.stageStoreInput(input.name, input.source.location, signal, progress);
      pins.push(staged.release);
      local.inputDirs[input.name] = staged.dir;
      await this.addEvents(id, [makeEvent('Info', 'Job', staged.message)]);
    }

    for (const output of job.algorithm.outputs) {
      throwIfCancelled(signal);
      const dir = await this.prepareOutputDir(this.store.outputDir(id, output.name));
      local.outputDirs[output.name] = dir;
      if (output.predownload && output.remote) {
        const location = this.resolver.resolve(output.remote.obs.obs_url, `algorithm.outputs.${output.name}.remote.obs.obs_url`);
        progress(`Pre-downloading output ${output.name} from ${location.url}`);
        const result = await downloadPrefix(location, dir, { signal, onProgress: (p) => progress(`Pre-downloading ${output.name}: ${describeProgress(p)}`) });
        await openUpForContainerUser(dir);
        await this.addEvents(id, [
          makeEvent('Info', 'Job', `Output ${output.name}: pre-downloaded ${result.objects} files (${formatBytes(result.bytes)}) from ${location.url} for incremental training.`),
        ]);
      }
    }
    await this.store.save(record);

    if (job.spec.resource.node_count > 1) {
      progress('Creating the job network');
      const network = await this.docker.createNetwork({
        Name: jobNetworkName(id),
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.jobId]: id, [LABELS.store]: this.storeId },
      });
      local.network = network.id;
      await this.store.save(record);
    }

    for (const [index, task] of job.status.tasks.entries()) {
      throwIfCancelled(signal);
      progress(`Creating the container of ${task}`);
      const container = await this.docker.createContainer(taskContainerSpec({ job, local, flavor: plan.flavor, task, index, storeId: this.storeId }));
      local.containers[task] = container.id;
      await this.store.save(record);
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
      await this.addEvents(id, [
        makeEvent(
          'Info',
          'Task',
          `[${task}] Code copied to ${containerCodeDir(job.algorithm.code_dir)} (${archive.stats.files} files, ${formatBytes(archive.stats.bytes)}).`,
        ),
      ]);
    }
  }

  /** Output folders are written by ma-user (UID 1000) inside the container. */
  private async prepareOutputDir(dir: string): Promise<string> {
    await fs.promises.mkdir(dir, { recursive: true });
    await openUpForContainerUser(dir);
    return dir;
  }

  /** Removes everything a failed creation made: containers, network, files, the record. */
  private async discard(record: JobRecord): Promise<void> {
    const id = record.job.metadata.id;
    await this.removeDockerObjects(record.local);
    this.releaseInputs(id);
    const existed = this.store.get(id) !== undefined;
    await this.store.remove(id);
    if (existed) this.jobEmitter.fire({ kind: 'deleted', job: structuredClone(record.job) });
  }

  private async removeDockerObjects(local: LocalState): Promise<void> {
    for (const containerId of Object.values(local.containers)) {
      await this.docker
        .getContainer(containerId)
        .remove({ force: true, v: true })
        .catch((error: unknown) => {
          if (!isDockerStatus(error, 404)) this.options.logger.warn(`Could not remove container ${containerId}: ${dockerErrorMessage(error)}`);
        });
    }
    if (local.network) {
      await this.docker
        .getNetwork(local.network)
        .remove()
        .catch((error: unknown) => {
          if (!isDockerStatus(error, 404)) this.options.logger.warn(`Could not remove network ${local.network}: ${dockerErrorMessage(error)}`);
        });
    }
  }

  private async startTask(id: string, task: string): Promise<void> {
    const containerId = this.store.get(id)?.local.containers[task];
    if (!containerId) return;
    try {
      await this.docker.getContainer(containerId).start();
    } catch (error) {
      if (isDockerStatus(error, 304)) return; // already started
      if (!hasHttpStatus(error)) {
        // Docker itself is gone (it is restarting): reconciliation starts the task when it is back.
        this.options.logger.warn(`Could not reach Docker to start ${task} of job ${id}: ${dockerErrorMessage(error)}`);
        return;
      }
      await this.finish(id, { phase: 'Failed', secondary: 'CreateFailed', message: `[${task}] The container could not start: ${dockerErrorMessage(error)}` });
    }
  }

  // ---- Scheduling -----------------------------------------------------------------------------

  /** Local capacity: the option, else the whole Docker machine. */
  private capacity(machine: MachineResources | undefined = this.machine): Capacity {
    return {
      cpus: this.capacityLimit.cpus ?? machine?.cpus ?? 1,
      memoryGib: this.capacityLimit.memoryGib ?? Math.floor((machine?.memoryBytes ?? GIB) / GIB),
    };
  }

  /** Changes what jobs may use at once (a setting changed); waiting jobs start if they now fit. */
  setCapacity(capacity: Partial<Capacity>): void {
    this.capacityLimit = { ...capacity };
    void this.schedule();
  }

  /** Starts waiting jobs, oldest first, while the capacity allows; the first that does not fit queues, and so do those after it. */
  private schedule(): Promise<void> {
    this.scheduling = this.scheduling.then(() => this.admitWaitingJobs()).catch((error: unknown) => this.options.logger.error(`Scheduling: ${errorMessage(error)}`));
    return this.scheduling;
  }

  private async admitWaitingJobs(): Promise<void> {
    if (this.currentState.kind !== 'available' || this.disposed || this.following) return;
    const candidates = this.store.list().map((record) => ({ job: record.job, admitted: record.local.admitted }));
    const decision = decideAdmission(candidates, this.capacity());
    for (const id of decision.start) void this.queue(id, () => this.admit(id));
    for (const id of decision.queue) void this.queue(id, () => this.markQueuing(id, decision.reason ?? ''));
  }

  private async admit(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || record.job.status.phase !== 'Pending' || record.local.admitted) return;
    const wasQueuing = record.job.status.secondary_phase === 'Queuing';
    await this.update(id, (draft, local) => {
      local.admitted = true;
      setPhase(draft, 'Pending', 'Pending');
      return [makeEvent('Info', 'Job', wasQueuing ? 'Resources are free: starting the job.' : 'Resources assigned: starting the job.')];
    });
    for (const task of record.job.status.tasks) await this.startTask(id, task);
  }

  private async markQueuing(id: string, reason: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || record.job.status.phase !== 'Pending' || record.local.admitted || record.job.status.secondary_phase === 'Queuing') return;
    await this.update(id, (draft) => {
      setPhase(draft, 'Pending', 'Queuing');
      return [makeEvent('Info', 'Job', `Queuing: the job ${reason}.`)];
    });
  }

  // ---- Stop, delete, copy ---------------------------------------------------------------------

  async stopJob(id: string, options: StopJobOptions = {}): Promise<TrainingJob> {
    await this.recordAllowing('stop', id);
    // Listening before the stop starts, so its end is not missed.
    const ended = waitForEvent(
      this.onDidChangeJob,
      (change) => change.job.metadata.id === id && (change.kind === 'deleted' || isTerminalPhase(change.job.status.phase)),
      options.signal,
    ).then(
      (change) => withLiveDuration(change.job, Date.now()),
      (error: unknown) => {
        throw options.signal?.aborted ? new CancelledError('Waiting for the job to stop') : error;
      },
    );
    const creation = this.creations.get(id);
    if (creation) creation.abort(STOP);
    else void this.queue(id, () => this.terminate(id));
    return ended;
  }

  /** SIGTERM to every running task, a kill after the grace period; Terminated once all have exited. */
  private async terminate(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase)) return;
    const grace = this.options.stopGraceSeconds ?? 15;
    if (record.job.status.phase !== 'Terminating') {
      await this.update(id, (draft) => {
        setPhase(draft, 'Terminating', 'Terminating');
        return [makeEvent('Info', 'Job', `Stopping the training job: SIGTERM to its processes, a kill after ${grace} s.`)];
      });
    }
    const running: string[] = [];
    for (const task of record.job.status.tasks) {
      const containerId = record.local.containers[task];
      const inspect = containerId ? await this.inspect(containerId) : undefined;
      if (inspect?.State.Running) running.push(task);
    }
    if (running.length === 0) {
      await this.finish(id, { phase: 'Terminated', secondary: 'Terminated', message: 'Training job terminated.' });
      return;
    }
    await Promise.all(running.map((task) => this.stopTask(id, task, grace)));
  }

  private async stopTask(id: string, task: string, graceSeconds: number): Promise<void> {
    const containerId = this.store.get(id)?.local.containers[task];
    if (!containerId) return;
    this.engineStops.add(`${id}/${task}`);
    try {
      await this.docker.getContainer(containerId).stop({ t: graceSeconds });
    } catch (error) {
      if (!isDockerStatus(error, 304) && !isDockerStatus(error, 404)) {
        this.options.logger.warn(`Could not stop ${task} of job ${id}: ${dockerErrorMessage(error)}`);
      }
    }
  }

  async deleteJob(id: string, options: DeleteJobOptions = {}): Promise<void> {
    await this.recordAllowing('delete', id);
    await this.queue(id, async () => {
      const current = this.store.get(id);
      if (!current) return;
      if (options.deleteOutputs) {
        for (const output of current.job.algorithm.outputs) {
          if (!output.remote) continue;
          const location = this.resolver.resolve(output.remote.obs.obs_url, `algorithm.outputs.${output.name}.remote.obs.obs_url`);
          await deletePrefix(location, { signal: this.shutdown.signal });
        }
      }
      for (const task of current.job.status.tasks) this.stopCapture(id, task);
      await this.resourceStats.remove(id);
      await this.removeDockerObjects(current.local);
      this.releaseInputs(id);
      await this.store.remove(id);
      this.jobEmitter.fire({ kind: 'deleted', job: structuredClone(current.job) });
    });
  }

  async copyJob(id: string, options: CopyJobOptions = {}): Promise<TrainingJob> {
    await this.ensureLoaded();
    const record = this.requireRecord(id);
    const request = toCreateRequest(record.job);
    const taken = new Set(this.store.list().map((r) => r.job.metadata.name));
    request.metadata.name = options.name ?? uniqueName(`${record.job.metadata.name}-copy`, (name) => taken.has(name));
    return this.createJob(request, options);
  }

  // ---- Algorithms -----------------------------------------------------------------------------

  async listAlgorithms(): Promise<Algorithm[]> {
    await this.ensureLoaded();
    return this.algorithms.list().map((a) => structuredClone(a));
  }

  async getAlgorithm(id: string): Promise<Algorithm | undefined> {
    await this.ensureLoaded();
    const algorithm = this.algorithms.get(id);
    return algorithm && structuredClone(algorithm);
  }

  async createAlgorithm(request: unknown): Promise<Algorithm> {
    const valid = parseAlgorithmCreateRequest(request);
    await this.ensureLoaded();
    await this.requireWriter();
    const now = Date.now();
    const algorithm = await this.checkedAlgorithm(valid, { id: randomUUID(), create_time: now });
    await this.algorithms.save(algorithm);
    this.algorithmEmitter.fire({ kind: 'created', algorithm: structuredClone(algorithm) });
    return structuredClone(algorithm);
  }

  async updateAlgorithm(id: string, request: unknown): Promise<Algorithm> {
    const valid = parseAlgorithmCreateRequest(request);
    await this.ensureLoaded();
    await this.requireWriter();
    const existing = this.algorithms.get(id);
    if (!existing) throw new NotFoundError('algorithm', id);
    const algorithm = await this.checkedAlgorithm(valid, { id, create_time: existing.metadata.create_time, update_time: Date.now() });
    await this.algorithms.save(algorithm);
    this.algorithmEmitter.fire({ kind: 'updated', algorithm: structuredClone(algorithm) });
    return structuredClone(algorithm);
  }

  async deleteAlgorithm(id: string): Promise<void> {
    await this.ensureLoaded();
    await this.requireWriter();
    const existing = this.algorithms.get(id);
    if (!existing) throw new NotFoundError('algorithm', id);
    await this.algorithms.remove(id);
    this.algorithmEmitter.fire({ kind: 'deleted', algorithm: existing });
  }

  async saveJobAsAlgorithm(jobId: string, options: { readonly name?: string; readonly description?: string } = {}): Promise<Algorithm> {
    await this.ensureLoaded();
    const record = this.requireRecord(jobId);
    const name = options.name ?? uniqueName(record.job.metadata.name, (candidate) => this.algorithms.findByName(candidate) !== undefined);
    return this.createAlgorithm(algorithmRequestFromJob(record.job, name, options.description));
  }

  /** Checks what the schema cannot (unique name, code folder, boot file, engine) and builds the record. */
  private async checkedAlgorithm(
    request: ValidAlgorithmCreateRequest,
    identity: { id: string; create_time: number; update_time?: number },
  ): Promise<Algorithm> {
    const issues: Array<{ field: string; message: string }> = [];
    const clash = this.algorithms.findByName(request.metadata.name);
    if (clash && clash.metadata.id !== identity.id) issues.push({ field: 'metadata.name', message: `an algorithm named ${request.metadata.name} already exists` });
    const config = await checkAlgorithmConfig(request.job_config, {
      engines: await this.listPresetEngines(),
      checkImage: (image) => this.imageProblems(image),
      problem: (field, message) => issues.push({ field: `job_config.${field}`, message }),
    });
    if (issues.length || !config) throw new InvalidInputError('Algorithm', issues.length ? issues : [{ field: 'job_config', message: 'is incomplete' }]);
    return {
      metadata: { ...identity, name: request.metadata.name, description: request.metadata.description ?? '' },
      job_config: {
        ...config,
        parameters: config.parameters ?? [],
        parameters_customization: config.parameters_customization ?? true,
        inputs: config.inputs ?? [],
        outputs: config.outputs ?? [],
        environments: config.environments ?? {},
        code_dir: config.code_dir ?? '',
        boot_file: config.boot_file ?? '',
      },
    };
  }

  // ---- Images ---------------------------------------------------------------------------------

  /** Builds an image from a Dockerfile (typically FROM a preset engine) through the Docker API. */
  async buildCustomImage(build: CustomImageBuild): Promise<BuiltImage> {
    await this.ensureAvailable();
    return buildCustomImage(this.docker, build);
  }

  private async imageProblems(image: string): Promise<string[]> {
    const engines = await this.listPresetEngines();
    if (engines.some((engine) => engine.image_info.cpu_image_url === image)) return [];
    return [...(await checkTrainingImage(this.docker, image)).problems];
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
          const key = `${id}/${task}`;
          if (phase && phase !== 'Terminating' && !isTerminalPhase(phase) && !this.engineStops.has(key)) {
            this.externalKills.set(key, { signal: event.Actor.Attributes['signal'] ?? 'unknown', at: Date.now() });
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
    this.resourceStats.start(id, task, containerId);
    if (record.job.status.phase !== 'Pending' || !record.local.admitted) return;
    const restarted = record.local.attempt > 0;
    await this.update(id, (draft) => {
      setPhase(draft, 'Running', 'Running');
      draft.status.start_time ||= at;
      draft.status.running_records.push({ start_at: Math.floor(at / 1000), start_type: restarted ? 'restarted' : 'init_or_rescheduled' });
      return [
        makeEvent('Info', 'Job', restarted ? `Training job is running again (restart ${record.local.attempt}).` : 'Training job is running.', new Date(at)),
        makeEvent('Info', 'Task', `[${task}] Training started.`, new Date(at)),
      ];
    });
  }

  private async onTaskExited(id: string, task: string, containerId: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || record.local.containers[task] !== containerId || isTerminalPhase(record.job.status.phase)) return;
    if (record.job.status.phase === 'Pending' || record.job.status.phase === 'Creating') return; // an exit of an earlier attempt
    const inspect = await this.inspect(containerId);
    if (!inspect) {
      await this.markAbnormal(id, task, `[${task}] The container vanished before its exit could be read.`);
      return;
    }
    const state = inspect.State;
    if (state.Running) return;
    void this.resourceStats.stop(id, task);
    await this.drainCapture(id, task);
    const key = `${id}/${task}`;
    const kill = this.externalKills.get(key);
    this.externalKills.delete(key);
    if (kill && !kill.daemonStopping) {
      // A daemon that shuts down sends the same SIGTERM as `docker stop`; it drops the connection right after.
      if (this.connectionLostAt === undefined) {
        // dockerd stops every container (SIGTERM, up to its 10 s stop timeout each) before it lets go.
        const window = kill.signal === '15' ? DAEMON_STOP_WINDOW_MS : 2000;
        await waitForEvent(this.dockerEvents.onEnd, () => true, AbortSignal.timeout(window)).catch(() => undefined);
      }
      if (this.connectionLostAt !== undefined) kill.daemonStopping = true;
    }
    const killedWith = kill && !kill.daemonStopping ? kill.signal : undefined;
    const stoppedByEngine = this.engineStops.delete(key);
    const exitCode = state.ExitCode;
    const finishedAt = dockerTime(state.FinishedAt) ?? Date.now();
    const stopping = record.job.status.phase === 'Terminating';
    // Docker stops its containers when the daemon stops; an exit by signal while the connection was lost is that.
    const daemonStopped =
      !stopping && !stoppedByEngine && killedWith === undefined && !state.OOMKilled && exitCode >= 128 &&
      (kill?.daemonStopping === true || (this.connectionLostAt !== undefined && finishedAt >= this.connectionLostAt - 5000));

    if (!record.job.status.task_statuses.some((s) => s.task === task)) {
      const message = state.OOMKilled
        ? `Killed: out of memory (the flavor ${record.job.spec.resource.flavor_id} allows ${findFlavor(record.job.spec.resource.flavor_id)?.memory_gib ?? '?'} GiB)`
        : killedWith !== undefined
          ? `Killed from outside the engine (signal ${killedWith})`
          : daemonStopped
            ? 'Stopped with the Docker engine'
            : exitCode === 0
              ? 'Succeeded'
              : stoppedByEngine && !stopping
                ? 'Stopped because another task failed'
                : state.Error || `Exited with code ${exitCode}`;
      await this.update(id, (draft, local) => {
        draft.status.task_statuses = [...draft.status.task_statuses.filter((s) => s.task !== task), { task, exit_code: exitCode, message }];
        if (!stopping && !local.fault) {
          if (killedWith !== undefined) local.fault = { kind: 'abnormal', task, reason: `[${task}] The container was killed from outside (signal ${killedWith}, exit code ${exitCode}).` };
          else if (daemonStopped) local.fault = { kind: 'abnormal', task, reason: `[${task}] The Docker engine stopped while the task ran (exit code ${exitCode}).` };
          else if (exitCode !== 0) local.fault = { kind: 'failed', task, reason: `${task} exited with code ${exitCode}${state.OOMKilled ? ' (out of memory)' : ''}` };
        }
        return [makeEvent(exitCode === 0 ? 'Info' : 'Error', 'Task', `[${task}] Training finished. Exit code ${exitCode}.`, new Date(finishedAt))];
      });
    }

    const current = this.store.get(id);
    if (!current) return;
    const { job, local } = current;
    const live = job.status.tasks.filter((t) => !job.status.task_statuses.some((s) => s.task === t));
    if (live.length) {
      // A distributed job fails as a whole: stop the other tasks once one has failed.
      if (local.fault && job.status.phase !== 'Terminating') await Promise.all(live.map((t) => this.stopTask(id, t, 5)));
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
    const record = this.store.get(id);
    if (!record) return;
    const attempt = record.local.attempt + 1;
    const limit = retryLimit(record.job);
    await this.update(id, (draft, local) => {
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
    for (const task of record.job.status.tasks) await this.startTask(id, task);
  }

  private async markAbnormal(id: string, task: string, reason: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase)) return;
    this.stopCapture(id, task);
    void this.resourceStats.stop(id, task);
    await this.update(id, (draft) => {
      draft.status.task_statuses = [...draft.status.task_statuses.filter((s) => s.task !== task), { task, message: reason }];
      return [];
    });
    // The other tasks cannot go on without this one.
    for (const other of record.job.status.tasks) if (other !== task) await this.stopTask(id, other, 5);
    await this.finish(id, { phase: 'Abnormal', secondary: 'Lost', message: `Training job is abnormal: ${reason}` });
  }

  /**
   * Ends the job: delivers its outputs (also after a failure or a stop), then sets the final phase.
   * Idempotent: an end seen again after a restart of the engine delivers again and changes nothing twice.
   */
  private async finish(id: string, outcome: Outcome): Promise<void> {
    const record = this.store.get(id);
    if (!record || isTerminalPhase(record.job.status.phase)) return;
    await this.resourceStats.stopJob(id);
    // A job that never started wrote nothing to deliver.
    const uploadProblem = record.job.status.start_time ? await this.deliverOutputs(record) : undefined;
    const final: Outcome =
      uploadProblem && outcome.phase === 'Completed'
        ? { phase: 'Failed', secondary: 'Failed', message: `Training job failed: ${uploadProblem}` }
        : outcome;
    const at = final.at ?? Date.now();
    await this.update(id, (draft, local) => {
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
    this.releaseInputs(id);
    void this.schedule();
    await this.removeEndedContainers(id);
  }

  /**
   * An ended job's containers and network go once every task's log is on disk (its exit code and
   * state are in the record already), so `docker ps -a` does not fill up with exited jobs. A log
   * still being read keeps its container until the read is done.
   */
  private async removeEndedContainers(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || !isTerminalPhase(record.job.status.phase)) return;
    const reading = record.job.status.tasks.flatMap((task) => {
      const capture = this.captures.get(`${id}/${task}`);
      return capture ? [capture.done] : [];
    });
    if (reading.length) {
      void Promise.allSettled(reading).then(() => this.queue(id, () => this.removeEndedContainers(id)));
      return;
    }
    await this.removeDockerObjects(record.local);
  }

  /** Uploads every output that has a store location; returns what went wrong, if anything. */
  private async deliverOutputs(record: JobRecord): Promise<string | undefined> {
    const id = record.job.metadata.id;
    const problems: string[] = [];
    for (const output of record.job.algorithm.outputs) {
      const dir = record.local.outputDirs[output.name];
      if (!output.remote || !dir) continue;
      const url = output.remote.obs.obs_url;
      try {
        const location = this.resolver.resolve(url, `algorithm.outputs.${output.name}.remote.obs.obs_url`);
        await this.addEvents(id, [makeEvent('Info', 'Job', `Uploading training output (parameter name: ${output.name}) to ${url}.`)]);
        const started = Date.now();
        const result = await uploadFolder(dir, location, { signal: this.shutdown.signal });
        await this.addEvents(id, [
          makeEvent(
            'Info',
            'Job',
            `Upload training output(parameter name: ${output.name}) finished: ${result.objects} files, ${formatBytes(result.bytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
          ),
        ]);
      } catch (error) {
        if (this.shutdown.signal.aborted) throw error;
        const problem = `the output ${output.name} could not be uploaded to ${url}: ${errorMessage(error)}`;
        problems.push(problem);
        await this.addEvents(id, [makeEvent('Error', 'Job', `Upload training output(parameter name: ${output.name}) failed: ${errorMessage(error)}`)]);
      }
    }
    return problems.length ? problems.join('; ') : undefined;
  }

  private releaseInputs(id: string): void {
    for (const release of this.inputPins.get(id) ?? []) release();
    this.inputPins.delete(id);
  }

  // ---- Logs -----------------------------------------------------------------------------------

  private ensureCapture(id: string, task: string, containerId: string): void {
    const key = `${id}/${task}`;
    const existing = this.captures.get(key);
    if (existing?.draining) {
      // The previous run's log is still being read (a restart): the new run's capture follows it.
      void existing.done.finally(() => this.ensureCapture(id, task, containerId));
      return;
    }
    if (existing) return;
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

  /**
   * Waits (bounded) until the task's log is fully on disk, then forgets its capture. A log still
   * being read when the bound passes (a job that printed a million lines) keeps being read to its
   * end in the background: the phase does not wait for it, and no line is dropped.
   */
  private async drainCapture(id: string, task: string): Promise<void> {
    const key = `${id}/${task}`;
    const capture = this.captures.get(key);
    if (!capture) return;
    const limit = this.options.logDrainMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limit)));
    const outcome = await Promise.race([capture.done.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    const forget = () => {
      if (this.captures.get(key) === capture) this.captures.delete(key);
      this.logEmitter.fire(key);
    };
    if (outcome === 'timeout') {
      this.options.logger.info(`The log of ${key} is still being read ${limit} ms after its container's exit; it goes on in the background.`);
      capture.draining = true;
      void capture.done.finally(forget);
      return;
    }
    forget();
  }

  private stopCapture(id: string, task: string): void {
    const key = `${id}/${task}`;
    this.captures.get(key)?.stop();
    this.captures.delete(key);
    this.logEmitter.fire(key);
  }

  // ---- State changes --------------------------------------------------------------------------

  /** Applies `change` to the job and its local state, saves them, records its events and tells listeners. */
  private async update(id: string, change: (draft: TrainingJob, local: LocalState) => JobEvent[]): Promise<void> {
    const record = this.store.get(id);
    if (!record) return;
    const draft = structuredClone(record.job);
    const local = structuredClone(record.local);
    let events: JobEvent[];
    try {
      events = change(draft, local);
    } catch (error) {
      this.options.logger.error(`Job ${id}: ${errorMessage(error)}`);
      return;
    }
    await this.store.save({ ...record, job: draft, local });
    await this.addEvents(id, events);
    this.jobEmitter.fire({ kind: 'updated', job: withLiveDuration(draft, Date.now()) });
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
    await this.scheduling;
    await this.store.flush();
    await this.resourceStats.flush();
  }

  private async ensureLoaded(): Promise<void> {
    this.loaded ??= Promise.all([this.store.load(), this.algorithms.load()]).then(() => undefined);
    await this.loaded;
  }

  private async ensureAvailable(): Promise<void> {
    await this.ensureLoaded();
    if (this.currentState.kind !== 'available') {
      const state = await this.connect();
      if (state.kind !== 'available') throw new EngineUnavailableError(this.displayName, state.kind === 'unavailable' ? state.reason : 'connecting');
    }
  }

  /** The job, once this window may change it and its phase allows `action` (the console's rules). */
  private async recordAllowing(action: JobAction, id: string): Promise<JobRecord> {
    await this.ensureLoaded();
    await this.requireWriter();
    const record = this.requireRecord(id);
    const refusal = actionRefusal(action, record.job.status.phase, record.job.metadata.name);
    if (refusal) throw new InvalidStateError(refusal);
    return record;
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
    this.shutdown.abort();
    this.following?.stop();
    this.following = undefined;
    this.lock.release();
    for (const creation of this.creations.values()) creation.abort(new CancelledError('Creating the training job'));
    for (const capture of this.captures.values()) capture.stop();
    this.captures.clear();
    void this.devContainers.removeAll();
    this.disposables.dispose();
  }
}

/** Why a Docker host (as in DOCKER_HOST) is not on this machine, or undefined when it is. */
function remoteDockerReason(host: string): string | undefined {
  const value = host.trim();
  if (!value || value.startsWith('unix://') || value.startsWith('npipe://')) return undefined;
  try {
    const url = new URL(value);
    if (['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) return undefined;
    return `${value} is another machine, where the code folder cannot be mounted and the debugger port is not on 127.0.0.1 here`;
  } catch {
    return undefined;
  }
}

/** A task's log capture, possibly still opening its stream. */
interface CaptureHandle {
  readonly done: Promise<void>;
  stop(): void;
  /** The container has exited; the rest of its log is being read in the background. */
  draining?: boolean;
}

interface Outcome {
  readonly phase: 'Completed' | 'Failed' | 'Terminated' | 'Abnormal';
  readonly secondary: SecondaryPhase;
  readonly message: string;
  /** When it ended (epoch ms); now if left out. */
  readonly at?: number;
}

function setPhase(job: TrainingJob, to: JobPhase, secondary: SecondaryPhase): void {
  const from = job.status.phase;
  if (from !== to && !canTransition(from, to)) {
    throw new Error(`illegal phase change ${from} → ${to}`);
  }
  job.status.phase = to;
  job.status.secondary_phase = secondary;
}

function describeProgress(progress: TransferProgress): string {
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
