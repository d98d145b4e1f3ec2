/**
 * What the parts of the local backend share: the Docker client, the job and algorithm stores, the
 * per-job ledger, the connection, the object stores and the input cache, and the bookkeeping that
 * crosses parts (creations under way, kills nobody here sent, pinned inputs). Each part (creation,
 * scheduling, task exits, stopping, logs, reconciliation) gets this one object; none holds another
 * part except through `parts`, wired once by the facade.
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { EngineUnavailableError, ModelArtsError, NotFoundError, errorMessage } from '../../core/errors';
import { Emitter } from '../../core/events';
import { defaultFlavor, flavorsThatFit, type MachineResources } from '../../core/flavors';
import type { ValidJobCreateRequest } from '../../core/job';
import { MA_USER_UID } from '../../core/contract';
import type { Logger } from '../../core/logger';
import { ENGINE_LABELS, type PresetEngine } from '../../core/presetEngines';
import type { ResourceSampleAdded } from '../../core/resourceSample';
import { FolderStore } from '../../storage/folderStore';
import { InputCache } from '../../storage/inputCache';
import type { StoreResolver } from '../../storage/objectStore';
import { createStoreResolver } from '../../storage/storeResolver';
import { BackendConnection } from '../shared/connection';
import { JobLedger } from '../shared/jobLedger';
import type { AlgorithmChange, BackendState } from '../trainingBackend';
import { AlgorithmStore } from './algorithmStore';
import { CUSTOM_IMAGE_LABEL, checkTrainingImage } from './customImages';
import {
  LABELS,
  MANAGED_BY,
  containerInspectSchema,
  createDockerClient,
  describeDockerHost,
  dockerErrorMessage,
  dockerInfoSchema,
  imageSummarySchema,
  type ImageSummary,
  isDockerStatus,
  parseDocker,
  reportedGpus,
  type ContainerInspect,
} from './docker';
import { planLocalJob, type Capacity, type LocalJobPlan } from './jobPlanner';
import { JobStore, type JobRecord, type LocalState } from './jobStore';
import type { LocalParts } from './localParts';

export interface LocalBackendOptions {
  /** Folder holding the backend's job records, logs, outputs, algorithms and input cache. */
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

/** A kill signal Docker reported that the backend did not send (`docker kill`, `docker rm -f`, a daemon stopping). */
export interface ExternalKill {
  readonly signal: string;
  readonly at: number;
  daemonStopping?: boolean;
}

export class LocalRuntime {
  readonly logger: Logger;
  readonly docker: Docker;
  readonly endpoint: string;
  readonly store: JobStore;
  readonly algorithms: AlgorithmStore;
  readonly ledger: JobLedger<LocalState>;
  readonly resolver: StoreResolver;
  readonly inputCache: InputCache;
  /** Labels this backend's containers, so backends with other data folders never touch them. */
  readonly storeId: string;
  readonly connection: BackendConnection;
  readonly algorithmEmitter = new Emitter<AlgorithmChange>();
  readonly resourceSampleEmitter = new Emitter<ResourceSampleAdded>();
  /** Fires `<job id>/<task>` when a task's log file grew (or its capture ended). */
  readonly logEmitter = new Emitter<string>();
  /** Jobs being created right now, with the controller that stops their creation. */
  readonly creations = new Map<string, AbortController>();
  /** Tasks whose container got a kill signal the backend did not send. */
  readonly externalKills = new Map<string, ExternalKill>();
  /** Tasks the backend is stopping itself (a stop, or the other tasks of a failed distributed job). */
  readonly engineStops = new Set<string>();
  /** Input cache entries each live job uses, released when it ends. */
  readonly inputPins = new Map<string, Array<() => void>>();
  /** Cancels output uploads when the backend is disposed. */
  readonly shutdown = new AbortController();
  /** When the connection to Docker was lost: exits after it may be the daemon stopping its containers. */
  connectionLostAt: number | undefined;
  capacityLimit: Partial<Capacity>;
  disposed = false;
  /** The parts, wired by the facade once they all exist. */
  parts!: LocalParts;
  private machine: MachineResources | undefined;
  private loaded: Promise<void> | undefined;

  constructor(
    readonly options: LocalBackendOptions,
    attempt: () => Promise<BackendState>,
  ) {
    this.logger = options.logger;
    this.endpoint = describeDockerHost(options.dockerHost);
    this.docker = createDockerClient(options.dockerHost);
    const damaged = (file: string, error: unknown) => options.logger.warn(`Ignoring a damaged record ${file}: ${errorMessage(error)}`);
    this.store = new JobStore(options.dataDir, damaged);
    this.algorithms = new AlgorithmStore(options.dataDir, damaged);
    this.ledger = new JobLedger(this.store, options.logger);
    this.resolver = options.storeResolver ?? createStoreResolver({ folderStore: new FolderStore(path.join(options.dataDir, 'object-store')) });
    this.inputCache = new InputCache(path.join(options.dataDir, 'input-cache'), { maxBytes: options.inputCacheBytes ?? 20 * GIB });
    this.capacityLimit = options.capacity ?? {};
    this.storeId = createHash('sha256').update(path.resolve(options.dataDir)).digest('hex').slice(0, 16);
    this.connection = new BackendConnection({
      endpoint: this.endpoint,
      label: 'Docker engine',
      attempt,
      describeError: dockerErrorMessage,
      logger: options.logger,
      ...(options.reconnectMinMs !== undefined ? { minDelayMs: options.reconnectMinMs } : {}),
      ...(options.reconnectMaxMs !== undefined ? { maxDelayMs: options.reconnectMaxMs } : {}),
      onFailure: () => (this.connectionLostAt ??= Date.now()),
    });
  }

  ensureLoaded(): Promise<void> {
    this.loaded ??= Promise.all([this.store.load(), this.algorithms.load()]).then(() => undefined);
    return this.loaded;
  }

  /** Reads the records again (taking over from another window that wrote them). */
  reload(): Promise<void> {
    this.loaded = Promise.all([this.store.load(), this.algorithms.load()]).then(() => undefined);
    return this.loaded;
  }

  async ensureAvailable(): Promise<void> {
    await this.ensureLoaded();
    if (this.connection.state.kind !== 'available') {
      const state = await this.connection.connect();
      if (state.kind !== 'available') throw new EngineUnavailableError('local Docker', state.kind === 'unavailable' || state.kind === 'needsCredentials' ? state.reason : 'connecting');
    }
  }

  async machineResources(): Promise<MachineResources> {
    this.machine ??= await this.readMachine();
    return this.machine;
  }

  /** Read again at every connection: the Docker machine may have changed while it was away. */
  async readMachine(): Promise<MachineResources> {
    const info = parseDocker(dockerInfoSchema, await this.docker.info(), 'GET /info');
    this.machine = { cpus: info.NCPU, memoryBytes: info.MemTotal, gpus: reportedGpus(info) };
    return this.machine;
  }

  /** Local capacity: the setting, else the whole Docker machine. */
  capacity(machine: MachineResources | undefined = this.machine): Capacity {
    return {
      cpus: this.capacityLimit.cpus ?? machine?.cpus ?? 1,
      memoryGib: this.capacityLimit.memoryGib ?? Math.floor((machine?.memoryBytes ?? GIB) / GIB),
    };
  }

  async listPresetEngines(): Promise<PresetEngine[]> {
    const images = parseDocker(
      imageSummarySchema.array(),
      await this.docker.listImages({ filters: { label: [ENGINE_LABELS.id] } } as Docker.ListImagesOptions),
      'GET /images/json',
    );
    const engines = new Map<string, PresetEngine>();
    for (const image of presetImagesFirst(images)) {
      const labels = image.Labels ?? {};
      const id = labels[ENGINE_LABELS.id];
      const tag = presetTag(image);
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

  /** Problems that keep an image from running training jobs; none for a preset engine's. */
  async imageProblems(image: string): Promise<string[]> {
    const engines = await this.listPresetEngines();
    if (engines.some((engine) => engine.image_info.cpu_image_url === image)) return [];
    return [...(await checkTrainingImage(this.docker, image)).problems];
  }

  /** Checks a valid request against this machine (code, engine, flavor, capacity, data locations); InvalidInputError names each field. */
  async planJob(valid: ValidJobCreateRequest, id: string): Promise<LocalJobPlan> {
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

  async inspect(containerId: string): Promise<ContainerInspect | undefined> {
    try {
      return parseDocker(containerInspectSchema, await this.docker.getContainer(containerId).inspect(), 'GET /containers/{id}/json');
    } catch (error) {
      if (isDockerStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Removes a job's containers and network; what is gone already is fine. */
  async removeDockerObjects(local: LocalState): Promise<void> {
    for (const containerId of Object.values(local.containers)) {
      await this.docker
        .getContainer(containerId)
        .remove({ force: true, v: true })
        .catch((error: unknown) => {
          if (!isDockerStatus(error, 404)) this.logger.warn(`Could not remove container ${containerId}: ${dockerErrorMessage(error)}`);
        });
    }
    if (local.network) {
      await this.docker
        .getNetwork(local.network)
        .remove()
        .catch((error: unknown) => {
          if (!isDockerStatus(error, 404)) this.logger.warn(`Could not remove network ${local.network}: ${dockerErrorMessage(error)}`);
        });
    }
  }

  releaseInputs(id: string): void {
    for (const release of this.inputPins.get(id) ?? []) release();
    this.inputPins.delete(id);
  }

  requireRecord(id: string): JobRecord {
    const record = this.store.get(id);
    if (!record) throw new NotFoundError('job', id);
    return record;
  }

  requireTask(id: string, task: string): JobRecord {
    const record = this.requireRecord(id);
    if (!record.job.status.tasks.includes(task)) throw new NotFoundError('task', `${task} of job ${id}`);
    return record;
  }

  /** Labels of this backend's containers, for Docker list filters. */
  get ownLabels(): string[] {
    return [`${LABELS.managedBy}=${MANAGED_BY}`, `${LABELS.store}=${this.storeId}`];
  }
}

/** Refused because another window writes this data folder. */
export function otherWindowError(pid: number): ModelArtsError {
  return new ModelArtsError(
    `Another VS Code window (process ${pid}) runs the local engine for these jobs; do this in that window, or close it and this one takes over.`,
    'ModelArts.OtherWindow',
  );
}

const PRESET_REPOSITORY = 'modelarts-training/';
const presetTag = (image: ImageSummary): string | undefined =>
  image.RepoTags?.find((tag) => tag.startsWith(PRESET_REPOSITORY)) ?? image.RepoTags?.find((tag) => tag !== '<none>:<none>');

/**
 * An image built FROM a preset inherits its engine labels, so several images may claim one engine:
 * the preset is not one this extension built, and is in the presets' repository, else the oldest
 * (what derives from it is newer).
 */
export function presetImagesFirst(images: readonly ImageSummary[]): ImageSummary[] {
  images = images.filter((image) => !image.Labels?.[CUSTOM_IMAGE_LABEL]);
  const rank = (image: ImageSummary) => (presetTag(image)?.startsWith(PRESET_REPOSITORY) ? 0 : 1);
  return [...images].sort((a, b) => rank(a) - rank(b) || (a.Created ?? 0) - (b.Created ?? 0));
}
