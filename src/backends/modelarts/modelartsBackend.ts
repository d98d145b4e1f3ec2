/**
 * The ModelArts backend: training jobs and algorithms on ModelArts Standard (REST API v2) in one
 * region and project, code and outputs on OBS, behind the same TrainingBackend every view, panel,
 * command and log channel uses. The service has no push: jobs that have not ended are polled while
 * someone watches (jobWatcher.ts), logs are tailed through the log preview (logTail.ts). A refused
 * key moves the backend to `needsCredentials`, a lost network to `unavailable` (it reconnects).
 */
import type { Algorithm } from '../../core/algorithm';
import { CancelledError, errorMessage, InvalidStateError, NotFoundError } from '../../core/errors';
import { Emitter, toDisposable, type Disposable, type Event } from '../../core/events';
import type { Flavor } from '../../core/flavors';
import { withLiveDuration, type JobChange, type TrainingJob } from '../../core/job';
import type { JobEvent, JobEventAdded } from '../../core/jobEvent';
import type { Logger } from '../../core/logger';
import type { PresetEngine } from '../../core/presetEngines';
import type { ResourceSample, ResourceSampleAdded } from '../../core/resourceSample';
import { BackendConnection } from '../shared/connection';
import { modelArtsBackendId } from '../jobRef';
import { jobAllowing } from '../shared/jobOperations';
import type { DataStorage, JobPager, Polling, RemoteFiles } from '../capabilities';
import type { AlgorithmChange, BackendState, CreateJobOptions, DeleteJobOptions, FollowLogOptions, TrainingBackend } from '../trainingBackend';
import { CredentialsRefusedError, ModelArtsApiError, ServiceUnreachableError } from './apiErrors';
import { CloudAlgorithms } from './cloudAlgorithms';
import { cloudLogSource } from './cloudLogs';
import { cloudRemoteFiles, CloudUploads } from './cloudUploads';
import { CloudSession, type SessionOptions } from './cloudSession';
import { resolveConfig, type ModelArtsCredentials } from './config';
import { createJobOnce, eventsAfter, resourceSamples } from './cloudJobs';
import { jobFromCloud } from './jobMapping';
import { JobWatcher } from './jobWatcher';
import { LiveSamples } from './liveSamples';
import { readWholeLog, tailLog } from './logTail';
import { PAGE_SIZE, type SearchFilter } from './modelartsApi';

export interface ModelArtsTiming {
  /** Shortest and longest interval between two polls of a job that has not ended. */
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  /** Between two reads of a followed log's preview. */
  readonly logIntervalMs: number;
  /** Shortest interval between two reads of a watched running job's metrics (one value a minute). */
  readonly metricsEveryMs: number;
}

export interface ModelArtsBackendOptions extends Omit<SessionOptions, 'credentials'> {
  /** None: the backend waits in `needsCredentials` until it is made again with some. */
  readonly credentials: ModelArtsCredentials | undefined;
  readonly id?: string;
  readonly displayName?: string;
  readonly timing?: Partial<ModelArtsTiming>;
}

const DEFAULT_TIMING: ModelArtsTiming = { pollMinMs: 2000, pollMaxMs: 30_000, logIntervalMs: 1000, metricsEveryMs: 15_000 };

export class ModelArtsBackend implements TrainingBackend {
  readonly id: string;
  readonly displayName: string;
  readonly icon = 'cloud';
  private readonly session: CloudSession | undefined;
  private readonly connection: BackendConnection;
  private readonly timing: ModelArtsTiming;
  private readonly logger: Logger;
  private readonly jobEmitter = new Emitter<JobChange>();
  private readonly eventEmitter = new Emitter<JobEventAdded>();
  private readonly sampleEmitter = new Emitter<ResourceSampleAdded>();
  private readonly watcher: JobWatcher;
  private readonly liveSamples: LiveSamples;
  private readonly algorithms: CloudAlgorithms;
  /** Plans and sends what a job or algorithm needs on OBS first; also the UploadPlanner capability. */
  readonly uploads: CloudUploads;
  /** The views page through training-job-searches rather than list every job. */
  readonly jobPages: JobPager = this;
  /** A job's code and data on OBS, to this machine (Debug Locally). */
  readonly remoteFiles: RemoteFiles & DataStorage = cloudRemoteFiles(() => this.live());
  /** The account's OBS buckets, under its root in the Datasets view. */
  readonly dataStorage: DataStorage = this.remoteFiles;
  /** No push: jobs are polled while watched. */
  readonly polling: Polling = this;

  private readonly deleted = new Set<string>();
  private watchers = 0;
  readonly onDidChangeState: Event<BackendState>;
  readonly onDidChangeJob: Event<JobChange> = this.jobEmitter.event;
  readonly onDidAddEvent: Event<JobEventAdded> = this.eventEmitter.event;
  readonly onDidAddResourceSample: Event<ResourceSampleAdded> = this.sampleEmitter.event;
  readonly onDidChangeAlgorithm: Event<AlgorithmChange>;

  constructor(private readonly options: ModelArtsBackendOptions) {
    this.logger = options.logger;
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    // Checked with or without keys: a bad setting is named at once, not after signing in.
    const config = resolveConfig(options.config);
    this.session = options.credentials ? new CloudSession({ ...options, credentials: options.credentials }) : undefined;
    const { region, projectId: project } = config;
    this.id = options.id ?? modelArtsBackendId(region, project);
    this.displayName = options.displayName ?? `ModelArts · ${region}${project ? ` · ${project.slice(0, 8)}` : ''}`;
    this.connection = new BackendConnection({
      endpoint: config.modelartsEndpoint,
      label: `ModelArts (${region})`,
      attempt: () => this.attempt(),
      describeError: (error) => this.redact(errorMessage(error)),
      logger: this.logger,
    });
    this.onDidChangeState = this.connection.onDidChangeState;
    this.watcher = new JobWatcher(
      {
        fetchJob: (id) => this.fetchJob(id),
        fetchEvents: (id, known) => this.fetchEvents(id, known),
        changed: (job) => this.jobEmitter.fire({ kind: 'updated', job }),
        polled: (job) => void this.liveSamples.polled(job),
        eventsAdded: (jobId, events) => events.forEach((event) => this.eventEmitter.fire({ jobId, event })),
        gone: (id) => this.markDeleted(id),
        watched: () => this.watchers > 0,
        failed: (error) => this.failed(error),
      },
      { minIntervalMs: this.timing.pollMinMs, maxIntervalMs: this.timing.pollMaxMs },
      this.logger,
    );
    this.liveSamples = new LiveSamples(
      (job) => this.readSamples(job),
      (jobId, sample) => this.sampleEmitter.fire({ jobId, sample }),
      this.timing.metricsEveryMs,
      this.logger,
    );
    this.uploads = new CloudUploads(() => this.live(), (id) => this.algorithms.get(id), options.stateDir, this.logger);
    this.algorithms = new CloudAlgorithms(
      () => this.live().api,
      async () => (await this.live().loadCatalogs()).engines,
      () => this.uploads.algorithmCode(),
    );
    this.onDidChangeAlgorithm = this.algorithms.onDidChange;
  }

  /** Keeps jobs polled while the result is not disposed (a visible view, an open panel); with a job id, its metrics too. */
  watch(jobId?: string): Disposable {
    this.watchers += 1;
    const samples = jobId === undefined ? undefined : this.liveSamples.watch(jobId);
    if (jobId !== undefined) void this.getJob(jobId).catch(() => undefined); // tracked (and so polled) if it runs
    this.watcher.nudge(jobId);
    return toDisposable(() => {
      this.watchers -= 1;
      samples?.dispose();
    });
  }

  get state(): BackendState {
    return this.connection.state;
  }

  get projectId(): string | undefined {
    return this.session?.projectId;
  }

  connect(): Promise<BackendState> {
    return this.connection.connect();
  }

  /** Whether the account's keys reach the code location's bucket (sign-in checks it); InvalidInputError naming the setting otherwise. */
  checkCodeLocation(): Promise<void> {
    return this.uploads.checkCodeLocation();
  }

  /** For an IAM user: the token its password was exchanged for (to keep instead of the password). */
  issuedToken(): ModelArtsCredentials | undefined {
    return this.session?.issuedToken();
  }

  private async attempt(): Promise<BackendState> {
    const endpoint = this.session?.config.modelartsEndpoint ?? '';
    if (!this.session) return { kind: 'needsCredentials', reason: 'Sign in to ModelArts: no access keys or IAM user are set for this backend.', endpoint };
    try {
      await this.session.ensureProject();
      await this.session.loadCatalogs(true);
      return { kind: 'available', version: 'API v2', endpoint };
    } catch (error) {
      if (error instanceof CredentialsRefusedError) return { kind: 'needsCredentials', reason: error.message, endpoint };
      throw error;
    }
  }

  private live(): CloudSession {
    if (!this.session) throw new CredentialsRefusedError('Sign in to ModelArts first.', 401, undefined);
    return this.session;
  }

  private redact(text: string): string {
    return this.session ? this.session.redact(text) : text;
  }

  /** What a failed call says about the backend: refused keys or a lost service change its state. */
  private failed(error: unknown): void {
    const endpoint = this.session?.config.modelartsEndpoint ?? '';
    if (error instanceof CredentialsRefusedError) this.connection.set({ kind: 'needsCredentials', reason: error.message, endpoint });
    else if (error instanceof ServiceUnreachableError) this.connection.lost(error.message);
  }

  private async guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      if (this.connection.state.kind === 'unavailable') void this.connect();
      return result;
    } catch (error) {
      this.failed(error);
      throw error;
    }
  }

  private async fetchJob(id: string): Promise<TrainingJob | undefined> {
    if (this.deleted.has(id)) return undefined;
    try {
      return withLiveDuration(jobFromCloud(await this.live().api.showJob(id)), Date.now());
    } catch (error) {
      if (error instanceof ModelArtsApiError && error.notFound) return undefined;
      throw error;
    }
  }

  private fetchEvents(id: string, known: number): Promise<JobEvent[]> {
    return eventsAfter(this.live().api, id, known);
  }

  private markDeleted(id: string): void {
    this.watcher.forget(id);
    this.liveSamples.forget(id);
    this.deleted.add(id);
  }

  // ---- Jobs ----------------------------------------------------------------------------------

  async listJobs(): Promise<TrainingJob[]> {
    const all: TrainingJob[] = [];
    for (let page = 0; ; page += 1) {
      const { jobs, more } = await this.searchJobs({ page });
      all.push(...jobs);
      if (!more) return all;
    }
  }

  /** One page of 50 jobs, newest first, filtered by the service (phase, a name fragment). */
  async searchJobs(query: { readonly page: number; readonly phases?: readonly string[]; readonly name?: string; readonly signal?: AbortSignal }): Promise<{ jobs: TrainingJob[]; more: boolean }> {
    const filters: SearchFilter[] = [
      ...(query.phases?.length ? [{ key: 'phase' as const, operator: 'in' as const, value: query.phases }] : []),
      ...(query.name ? [{ key: 'name' as const, operator: 'like' as const, value: [query.name] }] : []),
    ];
    return this.guarded(async () => {
      await this.live().ensureProject();
      const page = await this.live().api.searchJobs(query.page, filters, query.signal);
      const now = Date.now();
      const jobs = page.items.map((item) => withLiveDuration(jobFromCloud(item, 'ListTrainingJobs'), now)).filter((job) => !this.deleted.has(job.metadata.id));
      for (const job of jobs) this.watcher.observe(job);
      return { jobs, more: page.items.length >= PAGE_SIZE };
    });
  }

  getJob(id: string): Promise<TrainingJob | undefined> {
    return this.guarded(async () => {
      const job = await this.fetchJob(id);
      if (job) this.watcher.observe(job);
      return job;
    });
  }

  private async existing(id: string): Promise<TrainingJob> {
    const job = await this.getJob(id);
    if (!job) throw new NotFoundError('job', id);
    return job;
  }

  async createJob(request: unknown, options: CreateJobOptions = {}): Promise<TrainingJob> {
    const session = this.live();
    const { signal, onProgress } = options;
    return this.guarded(async () => {
      const submission = await this.uploads.plan(request, options.uploadLocalInputs === true);
      if (signal?.aborted) throw new CancelledError('Creating the training job');
      for (const upload of submission.uploads) await this.uploads.upload(upload, signal, onProgress);
      if (signal?.aborted) throw new CancelledError('Creating the training job');
      onProgress?.('Creating the job on ModelArts');
      const job = await createJobOnce(session.api, submission.body, submission.request.metadata.name, signal, this.logger);
      this.jobEmitter.fire({ kind: 'created', job });
      this.watcher.track(job, 0);
      return job;
    });
  }

  async stopJob(id: string): Promise<void> {
    const job = await jobAllowing(this, id, 'stop');
    await this.guarded(async () => {
      try {
        await this.live().api.terminateJob(id);
      } catch (error) {
        if (error instanceof ModelArtsApiError && error.errorCode === 'ModelArts.2796') throw new InvalidStateError(error.message);
        if (error instanceof ModelArtsApiError && error.notFound) throw new NotFoundError('job', id);
        throw error;
      }
    });
    this.watcher.track(job);
    this.watcher.nudge(id);
  }

  async deleteJob(id: string, options: DeleteJobOptions = {}): Promise<void> {
    const job = await jobAllowing(this, id, 'delete');
    await this.guarded(async () => {
      try {
        await this.live().api.deleteJob(id);
      } catch (error) {
        if (error instanceof ModelArtsApiError && error.notFound) throw new NotFoundError('job', id);
        throw error;
      }
    });
    this.markDeleted(id);
    this.jobEmitter.fire({ kind: 'deleted', job });
    if (options.deleteOutputs) await this.uploads.deleteOutputs(job);
  }

  async listEvents(id: string): Promise<JobEvent[]> {
    await this.existing(id);
    return this.guarded(() => this.fetchEvents(id, 0));
  }

  async listResourceSamples(id: string): Promise<ResourceSample[]> {
    const samples = await this.guarded(async () => this.readSamples(await this.existing(id)));
    this.liveSamples.listed(id, samples);
    return samples;
  }

  private async readSamples(job: TrainingJob): Promise<ResourceSample[]> {
    const catalogs = await this.live().loadCatalogs();
    const flavor: Flavor | undefined = catalogs.flavors.find((f) => f.flavor_id === job.spec.resource.flavor_id);
    return resourceSamples(this.live().api, job, flavor);
  }

  private async taskOf(id: string, task: string): Promise<TrainingJob> {
    const job = await this.existing(id);
    if (!job.status.tasks.includes(task)) throw new NotFoundError('task', `${task} of ${job.metadata.name}`);
    return job;
  }

  async readLog(id: string, task: string): Promise<string> {
    await this.taskOf(id, task);
    return this.guarded(() => readWholeLog(cloudLogSource(this.live().api, id, task, (job) => this.fetchJob(job))));
  }

  async *followLog(id: string, task: string, options: FollowLogOptions = {}): AsyncIterable<string[]> {
    await this.taskOf(id, task);
    this.watchers += 1;
    try {
      const tail = tailLog(cloudLogSource(this.live().api, id, task, (job) => this.fetchJob(job)), {
        intervalMs: this.timing.logIntervalMs,
        transient: (error) => error instanceof ServiceUnreachableError || (error instanceof ModelArtsApiError && error.transient),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      for await (const lines of tail) yield lines;
    } catch (error) {
      if (options.signal?.aborted) return;
      this.failed(error);
      throw error;
    } finally {
      this.watchers -= 1;
    }
  }

  // ---- Algorithms and catalogs ---------------------------------------------------------------

  listAlgorithms(): Promise<Algorithm[]> {
    return this.guarded(() => this.algorithms.list());
  }

  getAlgorithm(id: string): Promise<Algorithm | undefined> {
    return this.guarded(() => this.algorithms.get(id));
  }

  createAlgorithm(request: unknown): Promise<Algorithm> {
    return this.guarded(() => this.algorithms.create(request));
  }

  updateAlgorithm(id: string, request: unknown): Promise<Algorithm> {
    return this.guarded(() => this.algorithms.update(id, request));
  }

  deleteAlgorithm(id: string): Promise<void> {
    return this.guarded(() => this.algorithms.delete(id));
  }

  async listPresetEngines(): Promise<PresetEngine[]> {
    return (await this.guarded(() => this.live().loadCatalogs())).engines;
  }

  async listFlavors(): Promise<Flavor[]> {
    return (await this.guarded(() => this.live().loadCatalogs())).flavors;
  }

  dispose(): void {
    this.watcher.dispose();
    this.connection.dispose();
    this.algorithms.dispose();
    this.jobEmitter.dispose();
    this.eventEmitter.dispose();
    this.sampleEmitter.dispose();
    this.session?.dispose();
  }
}

// What the editor side needs before a backend exists (settings checked, keys read), from this bundle.
export { parseCredentials, resolveConfig } from './config';
export { parseObsUrl } from './obsUrl';
