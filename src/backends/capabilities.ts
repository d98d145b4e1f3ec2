/**
 * Capabilities some backends have and others do not. A feature asks for one
 * (`backend.devContainers`, `backend.localFiles`) instead of asking which kind of backend it has.
 */
import type { Disposable } from '../core/events';
import type { TrainingJob } from '../core/job';
import type { ObjectStore } from '../storage/objectStore';

/** Files a backend keeps on this machine: task logs and job outputs (the local backend). */
export interface LocalFiles {
  /** The file holding a task's whole log, if there is one. */
  logLocation(jobId: string, task: string): string | undefined;
  /** The folder of a job's output, if it is on this machine. */
  outputLocation(jobId: string, output: string): string | undefined;
}

export interface CustomImageBuild {
  /** The build context: a folder on this machine. */
  readonly contextDir: string;
  /** The Dockerfile, relative to contextDir; default `Dockerfile`. */
  readonly dockerfile?: string;
  /** `name[:tag]`, lowercase, as in `docker build -t`. */
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Each line of build output, without ANSI escapes. */
  readonly onLog?: (line: string) => void;
}

export interface BuiltImage {
  /** `sha256:…` */
  readonly imageId: string;
  readonly tag: string;
}

/** Builds images (from a Dockerfile, typically FROM a preset engine) where the backend runs jobs. */
export interface ImageBuilder {
  buildCustomImage(build: CustomImageBuild): Promise<BuiltImage>;
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


/** A folder of this machine a backend sends before it creates a job (ModelArts: to OBS). */
export interface PlannedUpload {
  /** `code`, or `input data_url`. */
  readonly what: string;
  readonly from: string;
  /** Where it lands, as the backend names it (`obs://bucket/prefix/job/code/digits/`). */
  readonly to: string;
  readonly files: number;
  readonly bytes: number;
}

/** Backends that cannot read this machine's folders say what they would upload, checking the request as creation would. */
export interface UploadPlanner {
  planUploads(request: unknown, options?: { readonly uploadLocalInputs?: boolean }): Promise<PlannedUpload[]>;
}

/** One page of a backend's jobs, newest first, filtered by the service itself. */
export interface JobPageQuery {
  readonly page: number;
  readonly phases?: readonly string[];
  readonly name?: string;
  readonly signal?: AbortSignal;
}

/** Backends with many jobs on a service (ModelArts) list them a page at a time instead of whole. */
export interface JobPager {
  searchJobs(query: JobPageQuery): Promise<{ readonly jobs: TrainingJob[]; readonly more: boolean }>;
}

/** Files a backend keeps elsewhere (ModelArts: on OBS), brought to this machine (Debug Locally). */
export interface RemoteFiles {
  /** What a folder URL holds: its file count and bytes (nothing is downloaded). */
  measure(url: string, field: string): Promise<{ readonly files: number; readonly bytes: number }>;
  /** Downloads what a folder URL holds into `dir` (its relative paths kept). */
  download(url: string, dir: string, options?: { readonly signal?: AbortSignal; readonly onProgress?: (message: string) => void }): Promise<void>;
}

/**
 * A backend that learns of changes only by asking (ModelArts) asks while someone holds a watch:
 * a visible view, an open panel. Without a watch nothing is polled (followed logs poll their own).
 */
export interface Polling {
  /** Jobs that have not ended are polled until it is disposed; with a job id, that job's CPU and memory too. */
  watch(jobId?: string): Disposable;
}

/** Where a backend's jobs keep their data (ModelArts: the account's OBS), for the Datasets view. */
export interface DataStorage {
  /** What the store is, beside the backend's name on its root: "OBS". */
  readonly storageLabel: string;
  /** The store; throws, saying why, when it cannot be reached (no access keys). */
  objectStore(): ObjectStore;
}
