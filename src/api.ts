/**
 * The public API `activate()` returns, for other extensions, tasks and tests:
 *
 *   const api = await vscode.extensions.getExtension<ModelArtsApi>('modelarts-training.modelarts-training')!.activate();
 *   const job = await api.jobs.create({ metadata: { name: 'digits' }, algorithm: { ... } });
 *   api.jobs.onDidChange(({ job }) => console.log(job.status.phase));
 */
import type * as vscode from 'vscode';
import type { Flavor } from './core/flavors';
import type { JobChange, JobCreateRequest, TrainingJob } from './core/job';
import type { JobEvent } from './core/jobEvent';
import type { PresetEngine } from './core/presetEngines';
import type { EngineState } from './engine/trainingEngine';
import type { Services } from './services';

export type { EngineState, Flavor, JobChange, JobCreateRequest, JobEvent, PresetEngine, TrainingJob };

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
    /** Fires when a job is created, changes phase or status, or is deleted. */
    readonly onDidChange: vscode.Event<JobChange>;
  };
  readonly engine: {
    readonly kind: 'local' | 'cloud';
    readonly state: EngineState;
    readonly onDidChangeState: vscode.Event<EngineState>;
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
      onDidChange: engine.onDidChangeJob,
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
