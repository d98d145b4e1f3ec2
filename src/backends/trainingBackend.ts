/**
 * The one interface that hides which engine runs a job: the local Docker engine now, the ModelArts
 * cloud later. The UI talks only to this.
 */
import type { Algorithm } from '../core/algorithm';
import type { Disposable, Event } from '../core/events';
import type { Flavor } from '../core/flavors';
import type { JobChange, TrainingJob } from '../core/job';
import type { JobEvent, JobEventAdded } from '../core/jobEvent';
import type { PresetEngine } from '../core/presetEngines';
import type { ResourceSample, ResourceSampleAdded } from '../core/resourceSample';

export type BackendState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'available'; readonly version: string; readonly endpoint: string }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly endpoint: string };

export interface CreateJobOptions {
  /** Aborting before the job starts removes everything created so far. */
  readonly signal?: AbortSignal;
  /** Steps of the creation, for a progress indicator. */
  readonly onProgress?: (message: string) => void;
}

export interface StopJobOptions {
  /** Stop waiting for the job to end (the stop itself still goes on). */
  readonly signal?: AbortSignal;
}

export interface DeleteJobOptions {
  /** Also delete what the job uploaded to its outputs' store locations (kept by default). */
  readonly deleteOutputs?: boolean;
}

export interface CopyJobOptions extends CreateJobOptions {
  /** Name of the copy; by default the original's name with a `-copy` suffix, made unique. */
  readonly name?: string;
}

export interface AlgorithmChange {
  readonly kind: 'created' | 'updated' | 'deleted';
  readonly algorithm: Algorithm;
}

export interface FollowLogOptions {
  readonly signal?: AbortSignal;
}

/** Program output of a dev container, as it arrives. */
export interface DevContainerOutput {
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export interface DevContainerOptions {
  /** Run the boot file under debugpy, listening inside the container on a port published on 127.0.0.1. */
  readonly debug?: boolean;
  readonly signal?: AbortSignal;
  /** Steps of the launch (staging inputs, starting), for a progress indicator. */
  readonly onProgress?: (message: string) => void;
  /** Receives the program's output from its first byte. */
  readonly onOutput?: (output: DevContainerOutput) => void;
}

/** An interactive shell in a running dev container: a TTY stream, resizable. */
export interface DevContainerShell {
  readonly stream: NodeJS.ReadWriteStream;
  resize(columns: number, rows: number): Promise<void>;
  /** Ends when the shell exits, with its exit code. */
  readonly exited: Promise<number>;
  close(): void;
}

/**
 * A training job's container run for development: the job's image, user, paths, staged inputs,
 * output folders, flags and MA_* variables, with the code folder bind-mounted (edits are live) and,
 * when debugging, the boot file run under debugpy.
 */
export interface DevContainer {
  readonly id: string;
  readonly containerId: string;
  /** The job the container stands for (what promotion creates, with its own id). */
  readonly job: TrainingJob;
  /** The command line run in the container. */
  readonly command: readonly string[];
  /** Where debugpy answers on this machine (127.0.0.1), when debugging. */
  readonly debugPort: number | undefined;
  /** The code folder on this machine and where it is mounted in the container. */
  readonly codeMapping: { readonly localRoot: string; readonly remoteRoot: string } | undefined;
  /** Host folder of each output, kept after the container is removed. */
  readonly outputDirs: Readonly<Record<string, string>>;
  /** What was done before the start (inputs staged, outputs prepared), in words. */
  readonly preparation: readonly string[];
  /** Settles when the program ends (or the container is removed), with its exit code. */
  readonly exited: Promise<{ readonly exitCode: number; readonly oomKilled: boolean }>;
  openShell(size: { readonly columns: number; readonly rows: number }): Promise<DevContainerShell>;
  /** Removes the container (stopping the program) and releases its inputs; idempotent. */
  remove(): Promise<void>;
}

export interface DevContainerHost {
  /** Checks the job request against this machine as a launch would (InvalidInputError naming fields), creating nothing; returns the planned job. */
  check(request: unknown, options?: Pick<DevContainerOptions, 'debug'>): Promise<TrainingJob>;
  /** Validates the job request (InvalidInputError naming fields, nothing created), then starts its dev container. */
  launch(request: unknown, options?: DevContainerOptions): Promise<DevContainer>;
  /** Dev containers this engine runs now. */
  readonly running: readonly DevContainer[];
  /** Removes every dev container this engine runs (the editor is closing). */
  removeAll(): Promise<void>;
}

export interface TrainingBackend extends Disposable {
  readonly kind: 'local' | 'cloud';
  /** For messages: "local Docker engine", "ModelArts (cn-north-4)". */
  readonly displayName: string;
  readonly state: BackendState;
  readonly onDidChangeState: Event<BackendState>;
  /** A job was created, changed phase or status, or was deleted. */
  readonly onDidChangeJob: Event<JobChange>;
  readonly onDidAddEvent: Event<JobEventAdded>;

  /** Connects (or reconnects) and reconciles jobs with what really runs; never throws. */
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
   * Stops a Creating, Pending or Running job (SIGTERM, a grace period, then a kill) and resolves
   * with the job once it is Terminated (or ended otherwise meanwhile). Throws InvalidStateError in
   * other phases.
   */
  stopJob(id: string, options?: StopJobOptions): Promise<TrainingJob>;
  /** Deletes a job in a terminal phase with its containers, staging and logs; throws InvalidStateError otherwise. */
  deleteJob(id: string, options?: DeleteJobOptions): Promise<void>;
  /** Creates a new job from the old one's spec under a new unique name. */
  copyJob(id: string, options?: CopyJobOptions): Promise<TrainingJob>;

  readonly onDidChangeAlgorithm: Event<AlgorithmChange>;
  /** Every algorithm, newest first. */
  listAlgorithms(): Promise<Algorithm[]>;
  getAlgorithm(id: string): Promise<Algorithm | undefined>;
  /** Validates (InvalidInputError naming each field) and saves a new algorithm. */
  createAlgorithm(request: unknown): Promise<Algorithm>;
  /** Replaces the algorithm's metadata description and job_config with the request's. */
  updateAlgorithm(id: string, request: unknown): Promise<Algorithm>;
  deleteAlgorithm(id: string): Promise<void>;
  /** "Save As Algorithm": an algorithm from the job's code, boot file, engine, parameters, inputs and outputs. */
  saveJobAsAlgorithm(jobId: string, options?: { readonly name?: string; readonly description?: string }): Promise<Algorithm>;

  /** The job's events, oldest first. */
  listEvents(id: string): Promise<JobEvent[]>;
  /**
   * CPU and memory of the job's task containers over time (oldest first), kept with the job. A long
   * job keeps its whole span at a lower resolution. Samples added while listing may also arrive as
   * events: keep, per task, only events newer than the last sample you have.
   */
  listResourceSamples(id: string): Promise<ResourceSample[]>;
  /** A sample of a running task, about one per second per task. */
  readonly onDidAddResourceSample: Event<ResourceSampleAdded>;
  /** The task's log so far as text. */
  readLog(id: string, task: string): Promise<string>;
  /** The task's log from its first line, then live, in batches of lines; ends when the log is complete. */
  followLog(id: string, task: string, options?: FollowLogOptions): AsyncIterable<string[]>;

  listPresetEngines(): Promise<PresetEngine[]>;
  listFlavors(): Promise<Flavor[]>;
  /** The file holding a task's whole log on this machine, if there is one. */
  logLocation(id: string, task: string): string | undefined;
  /** Where an output of a job can be found on this machine, if it can. */
  outputLocation(id: string, output: string): string | undefined;
  /** Dev containers for debugging training code, when the engine runs on this machine. */
  readonly devContainers?: DevContainerHost;
}
