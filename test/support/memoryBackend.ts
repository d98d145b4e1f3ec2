/**
 * A TrainingBackend that keeps everything in memory and runs each job as a script read from its
 * hyperparameters (memoryBackendProgram.ts) instead of a container, under ModelArts' rules as the
 * local backend applies them: Creating → Pending → Running → Completed or Failed (restarts per
 * fault-tolerance/job-retry-num), stop only while Creating, Pending or Running (→ Terminating →
 * Terminated), delete only once ended, events in ModelArts' words. It goes through the shared
 * ledger and connection, so the views and the contract suite run on it as on any backend; it has
 * no local files, dev containers or image builder, which proves the UI does without them.
 *
 * Test hooks: seedJobs() (many ready-made jobs, no events), fireJobChange() (a change as given),
 * setUnavailable() / setNeedsCredentials() / setAvailable() (the connection's states), idle().
 */
import { randomUUID } from 'node:crypto';
import { parseAlgorithmCreateRequest, type Algorithm } from '../../src/core/algorithm';
import { CancelledError, EngineUnavailableError, InvalidStateError, NotFoundError, errorMessage } from '../../src/core/errors';
import { DisposableStore, Emitter, type Event } from '../../src/core/events';
import type { Flavor } from '../../src/core/flavors';
import { parseJobCreateRequest, withLiveDuration, type JobChange, type TrainingJob } from '../../src/core/job';
import { makeEvent, type JobEvent, type JobEventAdded } from '../../src/core/jobEvent';
import { actionRefusal, isTerminalPhase, type JobAction } from '../../src/core/lifecycle';
import type { Logger } from '../../src/core/logger';
import type { PresetEngine } from '../../src/core/presetEngines';
import type { ResourceSample, ResourceSampleAdded } from '../../src/core/resourceSample';
import { BackendConnection } from '../../src/backends/shared/connection';
import { JobLedger } from '../../src/backends/shared/jobLedger';
import type { AlgorithmChange, BackendState, CreateJobOptions, FollowLogOptions, TrainingBackend } from '../../src/backends/trainingBackend';
import { MEMORY_ENGINES, MEMORY_FLAVORS, checkedAlgorithm, planMemoryJob } from './memoryBackendCatalog';
import { MemoryRuns } from './memoryBackendRuns';
import { MemoryStore, logKey, type MemoryJobState } from './memoryBackendStore';

export interface MemoryBackendOptions {
  readonly id?: string;
  readonly displayName?: string;
  readonly logger?: Logger;
  /** Milliseconds per step of a job: each phase change up to Running, each line printed (default 20). */
  readonly stepMs?: number;
}

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export class MemoryBackend implements TrainingBackend {
  readonly id: string;
  readonly displayName: string;
  readonly icon = 'beaker';
  readonly onDidChangeState: Event<BackendState>;
  readonly onDidChangeJob: Event<JobChange>;
  readonly onDidAddEvent: Event<JobEventAdded>;
  readonly onDidAddResourceSample: Event<ResourceSampleAdded>;
  readonly onDidChangeAlgorithm: Event<AlgorithmChange>;

  private readonly endpoint: string;
  private readonly store = new MemoryStore();
  private readonly ledger: JobLedger<MemoryJobState>;
  private readonly runs: MemoryRuns;
  private readonly connection: BackendConnection;
  private readonly algorithmEmitter = new Emitter<AlgorithmChange>();
  /** Fires when the backend is disposed, so followers end. */
  private readonly disposeEmitter = new Emitter<void>();
  private readonly algorithms = new Map<string, Algorithm>();
  private outage: BackendState | undefined;
  private disposed = false;

  constructor(options: MemoryBackendOptions = {}) {
    this.id = options.id ?? 'memory';
    this.displayName = options.displayName ?? 'Memory (tests)';
    this.endpoint = `memory://${this.id}`;
    const logger = options.logger ?? SILENT;
    this.ledger = new JobLedger(this.store, logger);
    this.runs = new MemoryRuns(this.store, this.ledger, options.stepMs ?? 20);
    this.connection = new BackendConnection({
      endpoint: this.endpoint,
      label: this.displayName,
      attempt: async () => this.outage ?? this.availableState(),
      describeError: errorMessage,
      logger,
    });
    this.onDidChangeState = this.connection.onDidChangeState;
    this.onDidChangeJob = this.ledger.onDidChangeJob;
    this.onDidAddEvent = this.ledger.onDidAddEvent;
    this.onDidAddResourceSample = this.runs.onDidAddSample;
    this.onDidChangeAlgorithm = this.algorithmEmitter.event;
  }

  get state(): BackendState {
    return this.connection.state;
  }

  /** Available at once, unless a test hook set it otherwise; never throws. */
  connect(): Promise<BackendState> {
    return this.connection.connect();
  }

  private availableState(): BackendState {
    return { kind: 'available', version: 'memory', endpoint: this.endpoint };
  }

  // ---- Test hooks ------------------------------------------------------------------------------

  /** Unavailable (the views' error rows) until setAvailable(); writes are refused meanwhile, connect() stays there. */
  setUnavailable(reason: string): void {
    this.outage = { kind: 'unavailable', reason, endpoint: this.endpoint };
    this.connection.set(this.outage);
  }

  /** Needs credentials (the views' sign-in rows) until setAvailable(). */
  setNeedsCredentials(reason: string): void {
    this.outage = { kind: 'needsCredentials', reason, endpoint: this.endpoint };
    this.connection.set(this.outage);
  }

  setAvailable(): void {
    this.outage = undefined;
    this.connection.set(this.availableState());
  }

  /** Stores ready-made jobs as given (deep-frozen, not checked), firing nothing; they stay in their phase until stopped or changed. */
  seedJobs(jobs: readonly TrainingJob[]): void {
    for (const job of jobs) void this.store.save({ version: 1, job, local: { attempt: 0 } });
  }

  /** Stores (or, for `deleted`, removes) the job as given, without phase rules, and announces it as the backend's own change would be. */
  fireJobChange(kind: JobChange['kind'], job: TrainingJob): void {
    const id = job.metadata.id;
    if (kind === 'deleted') {
      this.runs.cancel(id);
      this.store.remove(id);
      this.ledger.announce({ kind, job });
      return;
    }
    void this.store.save({ version: 1, job, local: this.store.get(id)?.local ?? { attempt: 0 } });
    this.ledger.announce({ kind, job: withLiveDuration(this.store.get(id)?.job ?? job, Date.now()) });
  }

  /** Resolves once no change is queued and no step is scheduled: every job has ended. A job still sleeping (sleep_ms) keeps it waiting. */
  async idle(): Promise<void> {
    for (;;) {
      await this.ledger.idle();
      if (this.disposed || !this.runs.scheduled) {
        if (!this.ledger.busy) return;
        continue;
      }
      await this.runs.nextStep();
    }
  }

  // ---- Jobs ------------------------------------------------------------------------------------

  async listJobs(): Promise<TrainingJob[]> {
    const now = Date.now();
    return this.store.newestFirst().map((job) => withLiveDuration(job, now));
  }

  async getJob(id: string): Promise<TrainingJob | undefined> {
    const job = this.store.get(id)?.job;
    return job && withLiveDuration(job, Date.now());
  }

  async createJob(request: unknown, options: CreateJobOptions = {}): Promise<TrainingJob> {
    const valid = parseJobCreateRequest(request);
    await this.requireAvailable();
    options.onProgress?.('Checking the job spec');
    const planned = planMemoryJob(valid, { id: randomUUID(), now: Date.now(), getAlgorithm: (id) => this.algorithms.get(id) });
    if (options.signal?.aborted) throw new CancelledError('Creating the training job');
    const id = planned.metadata.id;
    for (const task of planned.status.tasks) this.store.logs.set(logKey(id, task), []);
    await this.store.save({ version: 1, job: planned, local: { attempt: 0 } });
    await this.ledger.addEvents(id, [makeEvent('Info', 'Job', `Training job ${planned.metadata.name} created.`)]);
    const job = this.store.get(id)?.job ?? planned;
    this.ledger.announce({ kind: 'created', job });
    this.runs.begin(id);
    options.onProgress?.('Started');
    return job;
  }

  /** Resolves once the stop is under way (Terminating, or Terminated for a job being created). */
  async stopJob(id: string): Promise<void> {
    this.jobAllowing('stop', id);
    await this.requireAvailable();
    await this.ledger.queue(id, () => this.runs.stop(id));
  }

  async deleteJob(id: string): Promise<void> {
    this.jobAllowing('delete', id);
    await this.requireAvailable();
    await this.ledger.queue(id, async () => {
      const record = this.store.get(id);
      if (!record) return;
      this.runs.cancel(id);
      this.store.remove(id);
      this.ledger.announce({ kind: 'deleted', job: record.job });
    });
  }

  async listEvents(id: string): Promise<JobEvent[]> {
    if (!this.store.get(id)) throw new NotFoundError('job', id);
    return this.store.eventsOf(id);
  }

  async listResourceSamples(id: string): Promise<ResourceSample[]> {
    return [...(this.store.samples.get(id) ?? [])];
  }

  async readLog(id: string, task: string): Promise<string> {
    const lines = this.logOf(id, task);
    return lines.length ? `${lines.join('\n')}\n` : '';
  }

  async *followLog(id: string, task: string, options: FollowLogOptions = {}): AsyncGenerator<string[]> {
    this.logOf(id, task);
    const key = logKey(id, task);
    let offset = 0;
    for (;;) {
      if (options.signal?.aborted) return;
      // Listening before looking, so a line added meanwhile is not missed.
      const change = this.nextLogChange(id, key, options.signal);
      try {
        const phase = this.store.get(id)?.job.status.phase;
        const complete = this.disposed || phase === undefined || isTerminalPhase(phase);
        const lines = this.store.logs.get(key) ?? [];
        if (lines.length > offset) {
          const batch = lines.slice(offset);
          offset = lines.length;
          yield batch;
        }
        if (complete) return;
        await change.changed;
      } finally {
        change.dispose();
      }
    }
  }

  // ---- Algorithms and catalogs -----------------------------------------------------------------

  async listAlgorithms(): Promise<Algorithm[]> {
    return [...this.algorithms.values()]
      .reverse()
      .sort((a, b) => b.metadata.create_time - a.metadata.create_time)
      .map((algorithm) => structuredClone(algorithm));
  }

  async getAlgorithm(id: string): Promise<Algorithm | undefined> {
    const algorithm = this.algorithms.get(id);
    return algorithm && structuredClone(algorithm);
  }

  async createAlgorithm(request: unknown): Promise<Algorithm> {
    const valid = parseAlgorithmCreateRequest(request);
    await this.requireAvailable();
    const algorithm = checkedAlgorithm(valid, { id: randomUUID(), create_time: Date.now() }, (name) => this.algorithmNamed(name) !== undefined);
    return this.saveAlgorithm('created', algorithm);
  }

  /** Replaces the algorithm's name, description and job_config with the request's (as the local backend does). */
  async updateAlgorithm(id: string, request: unknown): Promise<Algorithm> {
    const valid = parseAlgorithmCreateRequest(request);
    await this.requireAvailable();
    const existing = this.algorithms.get(id);
    if (!existing) throw new NotFoundError('algorithm', id);
    const identity = { id, create_time: existing.metadata.create_time, update_time: Date.now() };
    return this.saveAlgorithm('updated', checkedAlgorithm(valid, identity, (name) => (this.algorithmNamed(name)?.metadata.id ?? id) !== id));
  }

  async deleteAlgorithm(id: string): Promise<void> {
    await this.requireAvailable();
    const existing = this.algorithms.get(id);
    if (!existing) throw new NotFoundError('algorithm', id);
    this.algorithms.delete(id);
    this.algorithmEmitter.fire({ kind: 'deleted', algorithm: existing });
  }

  private algorithmNamed(name: string): Algorithm | undefined {
    return [...this.algorithms.values()].find((algorithm) => algorithm.metadata.name === name);
  }

  private saveAlgorithm(kind: AlgorithmChange['kind'], algorithm: Algorithm): Algorithm {
    this.algorithms.set(algorithm.metadata.id, algorithm);
    this.algorithmEmitter.fire({ kind, algorithm: structuredClone(algorithm) });
    return structuredClone(algorithm);
  }

  async listPresetEngines(): Promise<PresetEngine[]> {
    return [...MEMORY_ENGINES];
  }

  async listFlavors(): Promise<Flavor[]> {
    return [...MEMORY_FLAVORS];
  }

  // ---- Checks ----------------------------------------------------------------------------------

  private jobAllowing(action: JobAction, id: string): TrainingJob {
    const job = this.store.get(id)?.job;
    if (!job) throw new NotFoundError('job', id);
    const refusal = actionRefusal(action, job.status.phase, job.metadata.name);
    if (refusal) throw new InvalidStateError(refusal);
    return job;
  }

  private async requireAvailable(): Promise<void> {
    const state = this.state.kind === 'available' ? this.state : await this.connect();
    if (state.kind !== 'available') throw new EngineUnavailableError(this.displayName, state.kind === 'connecting' ? 'still connecting' : state.reason);
  }

  /** A task's log lines; NotFoundError for an unknown job or task. */
  private logOf(id: string, task: string): readonly string[] {
    const job = this.store.get(id)?.job;
    if (!job) throw new NotFoundError('job', id);
    if (!job.status.tasks.includes(task)) throw new NotFoundError('task', `${task} of job ${id}`);
    return this.store.logs.get(logKey(id, task)) ?? [];
  }

  /** Settles at the task's next line, the job's next change, an abort or the backend's disposal. */
  private nextLogChange(id: string, key: string, signal: AbortSignal | undefined): { readonly changed: Promise<void>; dispose(): void } {
    const subscriptions = new DisposableStore();
    const changed = new Promise<void>((resolve) => {
      subscriptions.register(this.runs.onDidAppendLog((changedKey) => changedKey === key && resolve()));
      subscriptions.register(this.ledger.onDidChangeJob((change) => change.job.metadata.id === id && resolve()));
      subscriptions.register(this.disposeEmitter.event(() => resolve()));
      if (signal) {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        subscriptions.register({ dispose: () => signal.removeEventListener('abort', onAbort) });
      }
    });
    return { changed, dispose: () => subscriptions.dispose() };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runs.dispose();
    this.disposeEmitter.fire();
    this.connection.dispose();
    this.ledger.dispose();
    this.algorithmEmitter.dispose();
    this.disposeEmitter.dispose();
  }
}
