/**
 * What every backend does — the local Docker backend, ModelArts in a region, a test's in-memory
 * one — and nothing more. What only some can do is a capability object beside it
 * (capabilities.ts): a feature asks `backend.devContainers` rather than "is it local".
 */
import type { Algorithm } from '../core/algorithm';
import type { Disposable, Event } from '../core/events';
import type { Flavor } from '../core/flavors';
import type { JobChange, TrainingJob } from '../core/job';
import type { JobEvent, JobEventAdded } from '../core/jobEvent';
import type { PresetEngine } from '../core/presetEngines';
import type { ResourceSample, ResourceSampleAdded } from '../core/resourceSample';
import type { DataStorage, DevContainerHost, ImageBuilder, JobPager, LocalFiles, Polling, RemoteFiles, UploadPlanner } from './capabilities';

export type BackendState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'available'; readonly version: string; readonly endpoint: string }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly endpoint: string }
  /** Signed out, or the keys were refused: nothing works until credentials are given. */
  | { readonly kind: 'needsCredentials'; readonly reason: string; readonly endpoint: string };

export interface CreateJobOptions {
  /** Aborting before the job starts removes everything created so far. */
  readonly signal?: AbortSignal;
  /** Steps of the creation, for a progress indicator. */
  readonly onProgress?: (message: string) => void;
  /**
   * A backend that cannot read this machine's folders (ModelArts) uploads input folders given as
   * local paths first, instead of refusing them; the caller has shown where they go.
   */
  readonly uploadLocalInputs?: boolean;
}

export interface DeleteJobOptions {
  /** Also delete what the job uploaded to its outputs' store locations (kept by default). */
  readonly deleteOutputs?: boolean;
}

export interface AlgorithmChange {
  readonly kind: 'created' | 'updated' | 'deleted';
  readonly algorithm: Algorithm;
}

export interface FollowLogOptions {
  readonly signal?: AbortSignal;
}

export interface TrainingBackend extends Disposable {
  /** Unique among a window's backends and stable across reloads: `local`, `modelarts:cn-north-4:<project>`. */
  readonly id: string;
  /** For tree roots and messages: "Local (Docker)", "ModelArts · cn-north-4 · <project>". */
  readonly displayName: string;
  /** A codicon name for its tree root. */
  readonly icon: string;
  readonly state: BackendState;
  readonly onDidChangeState: Event<BackendState>;
  /** A job was created, changed phase or status, or was deleted. */
  readonly onDidChangeJob: Event<JobChange>;
  readonly onDidAddEvent: Event<JobEventAdded>;
  /** A sample of a running task (CPU, memory), as often as the backend measures them. */
  readonly onDidAddResourceSample: Event<ResourceSampleAdded>;
  readonly onDidChangeAlgorithm: Event<AlgorithmChange>;

  /** Connects (or reconnects) and brings jobs in line with what really runs; never throws. */
  connect(): Promise<BackendState>;

  /** Every job, newest first. */
  listJobs(): Promise<TrainingJob[]>;
  getJob(id: string): Promise<TrainingJob | undefined>;
  /**
   * Validates the request (throwing InvalidInputError naming each bad field, with nothing created),
   * then creates and starts the job. Resolves once the job exists, without waiting for it to end.
   */
  createJob(request: unknown, options?: CreateJobOptions): Promise<TrainingJob>;
  /**
   * Asks a Creating, Pending or Running job to stop (SIGTERM, a grace period, then a kill) and
   * resolves once the stop is under way; the end arrives as a job change (stopJobAndWait waits for
   * it). Throws InvalidStateError in other phases.
   */
  stopJob(id: string): Promise<void>;
  /** Deletes a job in a terminal phase with what it keeps (containers, logs); throws InvalidStateError otherwise. */
  deleteJob(id: string, options?: DeleteJobOptions): Promise<void>;

  /** The job's events, oldest first, in the ModelArts form. */
  listEvents(id: string): Promise<JobEvent[]>;
  /**
   * CPU and memory of the job's tasks over time (oldest first). Samples added while listing may
   * also arrive as events: keep, per task, only events newer than the last sample you have.
   */
  listResourceSamples(id: string): Promise<ResourceSample[]>;
  /** The task's log so far as text. */
  readLog(id: string, task: string): Promise<string>;
  /** The task's log from its first line, then live, in batches of lines, each line once; ends when the log is complete. */
  followLog(id: string, task: string, options?: FollowLogOptions): AsyncIterable<string[]>;

  /** Every algorithm, newest first. */
  listAlgorithms(): Promise<Algorithm[]>;
  getAlgorithm(id: string): Promise<Algorithm | undefined>;
  /** Validates (InvalidInputError naming each field) and saves a new algorithm. */
  createAlgorithm(request: unknown): Promise<Algorithm>;
  /** Replaces the algorithm's description and job_config with the request's. */
  updateAlgorithm(id: string, request: unknown): Promise<Algorithm>;
  deleteAlgorithm(id: string): Promise<void>;

  /** The preset engines (AI frameworks) jobs can name, in ModelArts' training-job-engines shape. */
  listPresetEngines(): Promise<PresetEngine[]>;
  /** The flavors jobs can name; the default one carries `default_reason`. */
  listFlavors(): Promise<Flavor[]>;

  /** Logs and outputs kept as files on this machine (the local backend). */
  readonly localFiles?: LocalFiles;
  /** Dev containers for debugging training code on this machine. */
  readonly devContainers?: DevContainerHost;
  /** Builds custom images (from a Dockerfile) where the jobs run. */
  readonly imageBuilder?: ImageBuilder;
  /** Says which of this machine's folders a job would be sent first (a cloud backend). */
  readonly uploads?: UploadPlanner;
  /** Lists jobs a page at a time with the service's own filters (the views page through it). */
  readonly jobPages?: JobPager;
  /** Brings a job's code and data from where the backend keeps them to this machine. */
  readonly remoteFiles?: RemoteFiles;
  /** Asks for changes only while watched (a backend without push). */
  readonly polling?: Polling;
  /** The store its jobs read and write, browsed in the Datasets view under the backend's root. */
  readonly dataStorage?: DataStorage;
}
