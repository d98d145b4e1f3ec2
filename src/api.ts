/**
 * The public API `activate()` returns, for other extensions, tasks and tests:
 *
 *   const api = await vscode.extensions.getExtension<ModelArtsApi>('modelarts-training.modelarts-training')!.activate();
 *   const job = await api.jobs.create({ metadata: { name: 'digits' }, algorithm: { ... } });
 *   api.jobs.onDidChange(({ job }) => console.log(job.status.phase));
 */
import type * as vscode from 'vscode';
import type { Algorithm } from './core/algorithm';
import type { Flavor } from './core/flavors';
import type { JobChange, JobCreateRequest, TrainingJob } from './core/job';
import type { JobEvent } from './core/jobEvent';
import type { PresetEngine } from './core/presetEngines';
import type { AlgorithmChange, BackendState } from './backends/trainingBackend';
import type { Services } from './services';

export type { Algorithm, AlgorithmChange, BackendState, Flavor, JobChange, JobCreateRequest, JobEvent, PresetEngine, TrainingJob };

export interface ModelArtsApi {
  readonly apiVersion: 1;
  readonly jobs: {
    /** Every job, newest first. */
    list(): Promise<TrainingJob[]>;
    get(id: string): Promise<TrainingJob | undefined>;
    /** Validates (rejecting with a message that names each bad field), creates and starts a job. */
    create(spec: JobCreateRequest): Promise<TrainingJob>;
    /** The job's events, oldest first, in the ModelArts form `{time, level, message, source}`. */
    events(id: string): Promise<JobEvent[]>;
    /** A task's log so far (`worker-0` unless given). */
    log(id: string, task?: string): Promise<string>;
    /** Stops a Creating, Pending or Running job; resolves with it once it has ended. */
    stop(id: string): Promise<TrainingJob>;
    /** Deletes a finished job (its outputs in storage stay unless `deleteOutputs`). */
    delete(id: string, options?: { deleteOutputs?: boolean }): Promise<void>;
    /** Creates a new job from an old one's spec, named `<name>-copy` unless `name` is given. */
    copy(id: string, options?: { name?: string }): Promise<TrainingJob>;
    /** Fires when a job is created, changes phase or status, or is deleted. */
    readonly onDidChange: vscode.Event<JobChange>;
  };

  readonly algorithms: {
    /** Every algorithm, newest first (create, edit and delete them with the modelarts.algorithms.* commands). */
    list(): Promise<Algorithm[]>;
    get(id: string): Promise<Algorithm | undefined>;
    /** Fires when an algorithm is created, updated or deleted. */
    readonly onDidChange: vscode.Event<AlgorithmChange>;
  };
  readonly engine: {
    readonly kind: 'local' | 'cloud';
    readonly state: BackendState;
    readonly onDidChangeState: vscode.Event<BackendState>;
    presetEngines(): Promise<PresetEngine[]>;
    flavors(): Promise<Flavor[]>;
  };
}

export function createApi(services: Services): ModelArtsApi {
  const { engine } = services;
  return {
    apiVersion: 1,
    jobs: {
      list: () => engine.listJobs(),
      get: (id) => engine.getJob(id),
      create: (spec) => engine.createJob(spec),
      events: (id) => engine.listEvents(id),
      log: (id, task = 'worker-0') => engine.readLog(id, task),
      stop: (id) => engine.stopJob(id),
      delete: (id, options) => engine.deleteJob(id, options),
      copy: (id, options) => engine.copyJob(id, options),
      onDidChange: engine.onDidChangeJob,
    },

    algorithms: {
      list: () => engine.listAlgorithms(),
      get: (id) => engine.getAlgorithm(id),
      onDidChange: engine.onDidChangeAlgorithm,
    },
    engine: {
      kind: engine.kind,
      get state() {
        return engine.state;
      },
      onDidChangeState: engine.onDidChangeState,
      presetEngines: () => engine.listPresetEngines(),
      flavors: () => engine.listFlavors(),
    },
  };
}
