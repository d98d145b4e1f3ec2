/**
 * The local backend: ModelArts training jobs as containers on a Docker engine, with ModelArts'
 * whole life cycle (Creating → Pending/Queuing → Running → Completed, Failed, Terminated or
 * Abnormal), inputs staged from object storage and outputs delivered to it, distributed jobs,
 * automatic restarts, algorithms, custom images and dev containers.
 *
 * This is the facade over its parts (localParts.ts): phases follow Docker's event stream (nothing
 * polls), each job's changes run one after another through the shared ledger, and every handler is
 * idempotent, because Docker's events may be replayed after a reconnect and reconciliation may see
 * the same exit again.
 */
import type { Algorithm } from '../../core/algorithm';
import * as path from 'node:path';
import { CancelledError } from '../../core/errors';
import { DisposableStore, type Event } from '../../core/events';
import { defaultFlavor, defaultFlavorReason, flavorsThatFit, type Flavor } from '../../core/flavors';
import { withLiveDuration, type JobChange, type TrainingJob } from '../../core/job';
import type { JobEvent, JobEventAdded } from '../../core/jobEvent';
import type { PresetEngine } from '../../core/presetEngines';
import type { ResourceSample, ResourceSampleAdded } from '../../core/resourceSample';
import { LOCAL_BACKEND_ID } from '../jobRef';
import type { BuiltImage, CustomImageBuild, DevContainerHost, ImageBuilder, LocalFiles } from '../capabilities';
import type { AlgorithmChange, BackendState, CreateJobOptions, DeleteJobOptions, FollowLogOptions, TrainingBackend } from '../trainingBackend';
import { buildCustomImage } from './customImages';
import { LocalDevContainers } from './devContainer';
import { dockerVersionSchema, parseDocker, dockerErrorMessage } from './docker';
import { DockerEventStream } from './dockerEvents';
import { JobCreation } from './jobCreation';
import type { Capacity } from './jobPlanner';
import { JobStopping } from './jobStopping';
import { LocalAlgorithms } from './localAlgorithms';
import { LocalRuntime, type LocalBackendOptions } from './localRuntime';
import { LogCaptures } from './logCaptures';
import { Reconciliation } from './reconciliation';
import { ResourceStats } from './resourceStats';
import { Scheduler } from './scheduler';
import { TaskExits } from './taskExits';
import { WindowFollower } from './windowFollower';

export type { LocalBackendOptions } from './localRuntime';

export class LocalBackend implements TrainingBackend, LocalFiles, ImageBuilder {
  readonly id = LOCAL_BACKEND_ID;
  readonly displayName = 'Local (Docker)';
  readonly icon = 'vm';
  readonly devContainers: DevContainerHost & LocalDevContainers;
  readonly localFiles: LocalFiles = this;
  readonly imageBuilder: ImageBuilder = this;

  private readonly runtime: LocalRuntime;
  private readonly disposables = new DisposableStore();
  private readonly algorithmsPart: LocalAlgorithms;
  readonly onDidChangeState: Event<BackendState>;
  readonly onDidChangeJob: Event<JobChange>;
  readonly onDidAddEvent: Event<JobEventAdded>;
  readonly onDidChangeAlgorithm: Event<AlgorithmChange>;
  readonly onDidAddResourceSample: Event<ResourceSampleAdded>;

  constructor(options: LocalBackendOptions) {
    const runtime = new LocalRuntime(options, () => this.attempt());
    this.runtime = runtime;
    const dockerEvents = this.disposables.register(
      new DockerEventStream(runtime.docker, (line, error) => options.logger.warn(`Ignoring a malformed Docker event (${dockerErrorMessage(error)}): ${line.slice(0, 200)}`)),
    );
    const stats = this.disposables.register(
      new ResourceStats({
        docker: runtime.docker,
        file: (id) => path.join(runtime.store.jobDir(id), 'stats.jsonl'),
        logger: options.logger,
        onSample: (added) => runtime.resourceSampleEmitter.fire(added),
      }),
    );
    const creation = new JobCreation(runtime);
    const devContainers = new LocalDevContainers({
      docker: runtime.docker,
      storeId: runtime.storeId,
      devRoot: path.join(options.dataDir, 'dev'),
      logger: options.logger,
      localDocker: () => remoteDockerReason(options.dockerHost || process.env.DOCKER_HOST || ''),
      ensureAvailable: () => runtime.ensureAvailable(),
      plan: (valid, id) => runtime.planJob(valid, id),
      stageStoreInput: (name, location, signal, progress) => creation.stageStoreInput(name, location, signal, progress),
    });
    this.devContainers = devContainers;
    runtime.parts = {
      dockerEvents,
      stats,
      creation,
      devContainers,
      captures: new LogCaptures(runtime),
      scheduler: new Scheduler(runtime),
      exits: new TaskExits(runtime),
      stopping: new JobStopping(runtime),
      reconciliation: new Reconciliation(runtime),
      follower: new WindowFollower(runtime, () => this.connect()),
    };
    this.algorithmsPart = new LocalAlgorithms(runtime);
    this.onDidChangeState = runtime.connection.onDidChangeState;
    this.onDidChangeJob = runtime.ledger.onDidChangeJob;
    this.onDidAddEvent = runtime.ledger.onDidAddEvent;
    this.onDidChangeAlgorithm = runtime.algorithmEmitter.event;
    this.onDidAddResourceSample = runtime.resourceSampleEmitter.event;
    this.disposables.register(dockerEvents.onEvent((event) => runtime.parts.exits.onDockerEvent(event)));
    this.disposables.register(dockerEvents.onEnd((error) => this.lostDocker(error)));
    // Waiting jobs start once Docker answers (again).
    this.disposables.register(runtime.connection.onDidChangeState((state) => state.kind === 'available' && void runtime.parts.scheduler.schedule()));
  }

  get state(): BackendState {
    return this.runtime.connection.state;
  }

  /** Labels this backend's containers (tests and the dev-container sweep use it). */
  get storeId(): string {
    return this.runtime.storeId;
  }

  connect(): Promise<BackendState> {
    return this.runtime.connection.connect();
  }

  /** One connection attempt: Docker answers, this window writes (or follows the one that does), jobs reconciled. */
  private async attempt(): Promise<BackendState> {
    const { runtime } = this;
    const { follower, dockerEvents, reconciliation, devContainers } = runtime.parts;
    await runtime.ensureLoaded();
    const version = parseDocker(dockerVersionSchema, await runtime.docker.version(), 'GET /version');
    void devContainers.sweep().catch((error: unknown) => runtime.logger.warn(`Sweeping dev containers: ${dockerErrorMessage(error)}`));
    await runtime.readMachine();
    const available: BackendState = { kind: 'available', version: version.Version, endpoint: runtime.endpoint };
    const claim = follower.lock.tryAcquire();
    if (!claim.acquired) {
      follower.follow(claim.holder);
      return available;
    }
    if (follower.following) {
      // Taking over from a window that closed: start from what it wrote last.
      follower.stop();
      await runtime.reload();
    }
    // Listen before reconciling, so no exit falls between the two.
    await dockerEvents.connect();
    await reconciliation.reconcile();
    return available;
  }

  /** The event stream broke with the connection: its kills may be the daemon stopping; captures reopen at reconciliation. */
  private lostDocker(error: Error): void {
    const { runtime } = this;
    runtime.connectionLostAt ??= Date.now();
    for (const kill of runtime.externalKills.values()) if (kill.at >= Date.now() - 15_000) kill.daemonStopping = true;
    runtime.parts.captures.stopAll();
    runtime.parts.stats.stopAll();
    runtime.connection.lost(`lost the connection to Docker (${error.message})`);
  }

  // ---- Jobs ------------------------------------------------------------------------------------

  async listJobs(): Promise<TrainingJob[]> {
    await this.runtime.ensureLoaded();
    const now = Date.now();
    // Stored jobs are deeply frozen: shared, not copied (a copy of 10,000 jobs costs ~370 ms).
    return this.runtime.store.list().map((record) => withLiveDuration(record.job, now));
  }

  async getJob(id: string): Promise<TrainingJob | undefined> {
    await this.runtime.ensureLoaded();
    const record = this.runtime.store.get(id);
    return record ? withLiveDuration(record.job, Date.now()) : undefined;
  }

  createJob(request: unknown, options: CreateJobOptions = {}): Promise<TrainingJob> {
    return this.runtime.parts.creation.create(request, options);
  }

  stopJob(id: string): Promise<void> {
    return this.runtime.parts.stopping.stop(id);
  }

  deleteJob(id: string, options: DeleteJobOptions = {}): Promise<void> {
    return this.runtime.parts.stopping.delete(id, options);
  }

  async listEvents(id: string): Promise<JobEvent[]> {
    await this.runtime.ensureLoaded();
    this.runtime.requireRecord(id);
    return this.runtime.store.readEvents(id);
  }

  async listResourceSamples(id: string): Promise<ResourceSample[]> {
    await this.runtime.ensureLoaded();
    // A job deleted meanwhile (a chart still open on it) has no samples left.
    if (!this.runtime.store.get(id)) return [];
    return this.runtime.parts.stats.read(id);
  }

  /** Docker stats streams open now (tests check that none outlives its task). */
  get openStatsStreams(): number {
    return this.runtime.parts.stats.streamCount;
  }

  readLog(id: string, task: string): Promise<string> {
    return this.runtime.parts.captures.readLog(id, task);
  }

  followLog(id: string, task: string, options: FollowLogOptions = {}): AsyncIterable<string[]> {
    return this.runtime.parts.captures.follow(id, task, options);
  }

  // ---- Catalogs, files, capacity, images ----------------------------------------------------------

  listPresetEngines(): Promise<PresetEngine[]> {
    return this.runtime.listPresetEngines();
  }

  /** Flavors that fit the Docker machine; the default one says why it is the default. */
  async listFlavors(): Promise<Flavor[]> {
    const machine = await this.runtime.machineResources();
    const preferred = defaultFlavor(machine)?.flavor_id;
    return flavorsThatFit(machine).map((flavor) => (flavor.flavor_id === preferred ? { ...flavor, default_reason: defaultFlavorReason(machine) } : flavor));
  }

  logLocation(id: string, task: string): string | undefined {
    const job = this.runtime.store.get(id)?.job;
    return job && (job.status.tasks.includes(task) || task === 'worker-0') ? this.runtime.store.logFile(id, task) : undefined;
  }

  outputLocation(id: string, output: string): string | undefined {
    return this.runtime.store.get(id)?.local.outputDirs[output];
  }

  /** Changes what local jobs may use at once (a setting changed); waiting jobs start if they now fit. */
  setCapacity(capacity: Partial<Capacity>): void {
    this.runtime.parts.scheduler.setCapacity(capacity);
  }

  /** Builds an image from a Dockerfile (typically FROM a preset engine) through the Docker API. */
  async buildCustomImage(build: CustomImageBuild): Promise<BuiltImage> {
    await this.runtime.ensureAvailable();
    return buildCustomImage(this.runtime.docker, build);
  }

  // ---- Algorithms ---------------------------------------------------------------------------------

  listAlgorithms(): Promise<Algorithm[]> {
    return this.algorithmsPart.list();
  }

  getAlgorithm(id: string): Promise<Algorithm | undefined> {
    return this.algorithmsPart.get(id);
  }

  createAlgorithm(request: unknown): Promise<Algorithm> {
    return this.algorithmsPart.create(request);
  }

  updateAlgorithm(id: string, request: unknown): Promise<Algorithm> {
    return this.algorithmsPart.update(id, request);
  }

  deleteAlgorithm(id: string): Promise<void> {
    return this.algorithmsPart.delete(id);
  }

  // ---- Lifetime -----------------------------------------------------------------------------------

  /** Resolves once every queued job change has been applied (for tests and shutdown). */
  async idle(): Promise<void> {
    const { runtime } = this;
    while (runtime.ledger.busy) {
      await runtime.ledger.idle();
      await runtime.parts.scheduler.idle();
    }
    await runtime.ledger.idle();
    await runtime.parts.stats.flush();
  }

  dispose(): void {
    const { runtime } = this;
    runtime.disposed = true;
    runtime.shutdown.abort();
    runtime.parts.follower.stop();
    runtime.parts.follower.lock.release();
    for (const creation of runtime.creations.values()) creation.abort(new CancelledError('Creating the training job'));
    runtime.parts.captures.stopAll();
    void runtime.parts.devContainers.removeAll();
    runtime.connection.dispose();
    this.disposables.dispose();
    runtime.ledger.dispose();
    runtime.algorithmEmitter.dispose();
    runtime.resourceSampleEmitter.dispose();
    runtime.logEmitter.dispose();
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
