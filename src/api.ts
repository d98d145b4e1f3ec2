/**
 * The public API `activate()` returns, for other extensions, tasks and tests.
 *
 * Version 2 names every job by its backend (`{backend, id}`, a JobRef): `api.backends` lists them
 * (and lets another extension add one), and every `api.jobs.*` call takes a JobRef or, as in
 * version 1, a plain id — which means the local backend's job (v1 callers keep working unchanged).
 *
 *   const api = await vscode.extensions.getExtension<ModelArtsApi>('modelarts-training.modelarts-training')!.activate();
 *   const job = await api.jobs.create({ metadata: { name: 'digits' }, algorithm: { ... } });          // on the local backend
 *   const cloud = await api.jobs.create(spec, { backend: 'modelarts:cn-north-4:<project>' });
 *   await api.jobs.stop({ backend: 'modelarts:cn-north-4:<project>', id: cloud.metadata.id });
 *   api.jobs.onDidChange(({ backend, job }) => console.log(backend, job.status.phase));
 */
import type * as vscode from 'vscode';
import type { BackendJobChange } from './backends/backendRegistry';
import { LOCAL_BACKEND_ID, jobRefSchema, type JobRef } from './backends/jobRef';
import { copyJob, stopJobAndWait } from './backends/shared/jobOperations';
import type { AlgorithmChange, BackendState, TrainingBackend } from './backends/trainingBackend';
import type { Algorithm } from './core/algorithm';
import { InvalidInputError } from './core/errors';
import type { Flavor } from './core/flavors';
import type { JobChange, JobCreateRequest, TrainingJob } from './core/job';
import type { JobEvent } from './core/jobEvent';
import type { PresetEngine } from './core/presetEngines';
import type { Services } from './services';

export type { Algorithm, AlgorithmChange, BackendJobChange, BackendState, Flavor, JobChange, JobCreateRequest, JobEvent, JobRef, PresetEngine, TrainingBackend, TrainingJob };
/** Version 1's name of a backend's state. */
export type EngineState = BackendState;

/** A job as version 2 names it, or (version 1) its id alone: the local backend's job. */
export type JobName = string | JobRef;

export interface BackendInfo {
  readonly id: string;
  readonly displayName: string;
  readonly state: BackendState;
}

export interface ModelArtsApi {
  readonly apiVersion: 2;
  readonly backends: {
    /** Every backend of the window, the local one first. */
    list(): BackendInfo[];
    get(id: string): BackendInfo | undefined;
    /** A backend was added or removed, or changed state. */
    readonly onDidChange: vscode.Event<void>;
    /** Adds a backend (its id must be new); disposing the result removes it. Its jobs show in the views at once. */
    register(backend: TrainingBackend): vscode.Disposable;
  };
  readonly jobs: {
    /** A backend's jobs (the local one's by default), newest first. */
    list(options?: { readonly backend?: string }): Promise<TrainingJob[]>;
    /** Every backend's jobs, newest first, with their backend. */
    listAll(): Promise<Array<{ readonly backend: string; readonly job: TrainingJob }>>;
    get(job: JobName): Promise<TrainingJob | undefined>;
    /** Validates (rejecting with a message that names each bad field), creates and starts a job, on `backend` (default: local). */
    create(spec: JobCreateRequest, options?: { readonly backend?: string }): Promise<TrainingJob>;
    /** The job's events, oldest first, in the ModelArts form `{time, level, message, source}`. */
    events(job: JobName): Promise<JobEvent[]>;
    /** A task's log so far (`worker-0` unless given). */
    log(job: JobName, task?: string): Promise<string>;
    /** Stops a Creating, Pending or Running job; resolves with it once it has ended. */
    stop(job: JobName): Promise<TrainingJob>;
    /** Deletes a finished job (its outputs in storage stay unless `deleteOutputs`). */
    delete(job: JobName, options?: { deleteOutputs?: boolean }): Promise<void>;
    /** Creates a new job from an old one's spec on the same backend, named `<name>-copy` unless `name` is given. */
    copy(job: JobName, options?: { name?: string }): Promise<TrainingJob>;
    /** Fires when a job of any backend is created, changes phase or status, or is deleted; each change names its backend. */
    readonly onDidChange: vscode.Event<BackendJobChange>;
  };

  readonly algorithms: {
    /** A backend's algorithms (the local one's by default), newest first (create, edit and delete them with the modelarts.algorithms.* commands). */
    list(options?: { readonly backend?: string }): Promise<Algorithm[]>;
    get(id: string, options?: { readonly backend?: string }): Promise<Algorithm | undefined>;
    /** Fires when an algorithm is created, updated or deleted. */
    readonly onDidChange: vscode.Event<AlgorithmChange & { readonly backend: string }>;
  };
  /** Version 1: the local backend. */
  readonly engine: {
    readonly kind: 'local';
    readonly state: BackendState;
    readonly onDidChangeState: vscode.Event<BackendState>;
    presetEngines(): Promise<PresetEngine[]>;
    flavors(): Promise<Flavor[]>;
  };
}

/** The backend and id a JobName stands for; an unknown backend is refused naming it. */
function resolve(services: Services, job: JobName): { backend: TrainingBackend; id: string } {
  if (typeof job === 'string') return { backend: services.backends.require(LOCAL_BACKEND_ID), id: job };
  const parsed = jobRefSchema.safeParse(job);
  if (!parsed.success) throw new InvalidInputError('Job reference', [{ field: 'job', message: 'must be a job id, or {backend, id}' }]);
  return { backend: services.backends.require(parsed.data.backend), id: parsed.data.id };
}

function info(backend: TrainingBackend): BackendInfo {
  return { id: backend.id, displayName: backend.displayName, state: backend.state };
}

export function createApi(services: Services): ModelArtsApi {
  const { backends, local } = services;
  const on = (backend?: string) => backends.require(backend ?? LOCAL_BACKEND_ID);
  const backendsChanged: vscode.Event<void> = (listener, thisArgs, disposables) => {
    const subscriptions = [backends.onDidChangeBackends(() => listener.call(thisArgs, undefined)), backends.onDidChangeState(() => listener.call(thisArgs, undefined))];
    const disposable = { dispose: () => subscriptions.forEach((s) => s.dispose()) };
    disposables?.push(disposable);
    return disposable;
  };
  return {
    apiVersion: 2,
    backends: {
      list: () => backends.list().map(info),
      get: (id) => {
        const backend = backends.get(id);
        return backend && info(backend);
      },
      onDidChange: backendsChanged,
      register: (backend) => {
        const registration = backends.add(backend);
        void backend.connect();
        return registration;
      },
    },
    jobs: {
      list: async (options) => on(options?.backend).listJobs(),
      listAll: async () => (await Promise.all(backends.list().map(async (backend) => (await backend.listJobs()).map((job) => ({ backend: backend.id, job }))))).flat().sort((a, b) => b.job.metadata.create_time - a.job.metadata.create_time),
      get: async (job) => {
        const { backend, id } = resolve(services, job);
        return backend.getJob(id);
      },
      create: async (spec, options) => on(options?.backend).createJob(spec),
      events: async (job) => {
        const { backend, id } = resolve(services, job);
        return backend.listEvents(id);
      },
      log: async (job, task = 'worker-0') => {
        const { backend, id } = resolve(services, job);
        return backend.readLog(id, task);
      },
      stop: async (job) => {
        const { backend, id } = resolve(services, job);
        return stopJobAndWait(backend, id);
      },
      delete: async (job, options) => {
        const { backend, id } = resolve(services, job);
        return backend.deleteJob(id, options);
      },
      copy: async (job, options) => {
        const { backend, id } = resolve(services, job);
        return copyJob(backend, id, options);
      },
      // Listening is watching: cloud jobs are polled while an API caller listens.
      onDidChange: backends.watchedBy(backends.onDidChangeJob),
    },
    algorithms: {
      list: async (options) => on(options?.backend).listAlgorithms(),
      get: async (id, options) => on(options?.backend).getAlgorithm(id),
      onDidChange: backends.onDidChangeAlgorithm,
    },
    engine: {
      kind: 'local',
      get state() {
        return local.state;
      },
      onDidChangeState: local.onDidChangeState,
      presetEngines: () => local.listPresetEngines(),
      flavors: () => local.listFlavors(),
    },
  };
}
