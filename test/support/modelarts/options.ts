/**
 * Options of the contract server (region, project, accounts, catalogs, image map, timing) and
 * their defaults: one account with a key pair and a user, a PyTorch preset engine on the local
 * preset image, and three CPU flavors, one of them distributed.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { S3ServerConfig } from '../s3Server';

export interface AccessKeyOption {
  readonly ak: string;
  readonly sk: string;
  /** Temporary credentials: requests must carry this as a signed X-Security-Token. */
  readonly securityToken?: string;
  /** Epoch ms after which temporary credentials are refused. */
  readonly expiresAt?: number;
  /** The IAM user the key belongs to (journal and token bodies). */
  readonly userName?: string;
}

export interface IamUserOption {
  readonly name: string;
  readonly password: string;
  readonly id?: string;
}

export interface EngineOption {
  readonly engine_id: string;
  readonly engine_name: string;
  readonly engine_version: string;
  readonly v1_compatible?: boolean;
  readonly run_user?: string;
  readonly image_info: { readonly cpu_image_url: string; readonly gpu_image_url?: string; readonly image_version: string };
  /** The local Docker image the engine's jobs run in (never pulled). */
  readonly localImage: string;
}

export interface FlavorOption {
  readonly flavor_id: string;
  readonly flavor_name: string;
  readonly flavor_type: 'CPU' | 'GPU';
  readonly billing?: { readonly code: string; readonly unit_num: number };
  readonly flavor_info: {
    readonly max_num: number;
    readonly cpu: { readonly arch: string; readonly core_num: number };
    readonly memory: { readonly size: number; readonly unit: string };
    readonly disk?: { readonly size: number; readonly unit: string };
    readonly gpu?: { readonly unit_num: number; readonly product_name: string; readonly memory: string };
  };
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A dataset version a job input may name by `remote.dataset`; it is read from its OBS location. */
export interface DatasetOption {
  readonly id: string;
  readonly version_id: string;
  readonly obs_url: string;
}

export interface TimingOptions {
  /** How long a deleted job stays readable before it answers 2775 (default 2 s). */
  readonly deleteDelayMs?: number;
  /** Metric sample interval (default 60 s, one value a minute as ModelArts). */
  readonly metricIntervalMs?: number;
  /** SIGTERM-to-SIGKILL grace of a terminated task (default 10 s). */
  readonly terminateGraceMs?: number;
  /** IAM token lifetime (default 24 h). */
  readonly tokenLifetimeMs?: number;
  /** Validity of a log URL (default 5 min). */
  readonly logUrlTtlMs?: number;
  /** Extra time a new job stays Creating, then Pending, before work starts (default 0). */
  readonly creatingMs?: number;
  readonly pendingMs?: number;
  /** Largest accepted distance between X-Sdk-Date and the server's clock (default 15 min). */
  readonly maxClockSkewMs?: number;
}

export interface AkLockoutOptions {
  /** Failed signatures in a row that lock an AK (default 5). */
  readonly failures: number;
  readonly durationMs: number;
}

export interface ContractServerOptions {
  readonly region?: string;
  readonly projectId?: string;
  /** Default: the region id, as IAM names a region's default project. */
  readonly projectName?: string;
  readonly domain?: { readonly id?: string; readonly name?: string };
  readonly accessKeys?: readonly AccessKeyOption[];
  readonly users?: readonly IamUserOption[];
  readonly engines?: readonly EngineOption[];
  readonly flavors?: readonly FlavorOption[];
  /** SWR image URL (`org/image:tag`) → local Docker image. */
  readonly customImages?: Readonly<Record<string, string>>;
  readonly datasets?: readonly DatasetOption[];
  /** Dedicated pool ids a job may name in spec.resource.pool_id (default none). */
  readonly pools?: readonly string[];
  /** Log preview window in bytes (default 5 MB). */
  readonly logPreviewBytes?: number;
  /** Where obs:// URLs live: the S3 test server (default: ensureS3Server()). */
  readonly obs?: S3ServerConfig | (() => Promise<S3ServerConfig>);
  readonly docker?: Docker;
  readonly timing?: TimingOptions;
  /** false turns the lock-out after repeated bad signatures off. */
  readonly akLockout?: AkLockoutOptions | false;
  /** Offset of event times (default +08:00, the zone of the example events). */
  readonly eventTimeZoneMinutes?: number;
  /** Folder for staged code, data, outputs and logs (default: a fresh temporary folder). */
  readonly dataDir?: string;
}

export const DEFAULT_ACCESS_KEY: AccessKeyOption = {
  ak: 'CONTRACTTESTAK00000001',
  sk: 'ContractTestSecretKey0000000000000000001',
  userName: 'contract-user',
};

export const DEFAULT_USER: IamUserOption = { name: 'contract-user', password: 'Contract-Password-1' };

export const DEFAULT_DOMAIN = { id: 'c0ffee00c0ffee00c0ffee00c0ffee00', name: 'contract-account' } as const;

export const PRESET_IMAGE = 'modelarts-training/pytorch:1.13-cpu';

export const DEFAULT_ENGINES: readonly EngineOption[] = [
  {
    engine_id: 'pytorch_1.13.1-cpu-py_3.11-debian_12-x86_64',
    engine_name: 'PyTorch',
    engine_version: 'pytorch_1.13.1-cpu-py_3.11-debian_12-x86_64',
    v1_compatible: false,
    run_user: '1000',
    image_info: { cpu_image_url: 'modelarts-training/pytorch:1.13-cpu', gpu_image_url: '', image_version: '1.13.1-cpu' },
    localImage: PRESET_IMAGE,
  },
];

function cpuFlavor(cores: number, gib: number, maxNum: number): FlavorOption {
  const id = `modelarts.vm.cpu.${cores}u`;
  return {
    flavor_id: id,
    flavor_name: `Computing CPU(${cores}U) instance`,
    flavor_type: 'CPU',
    billing: { code: id, unit_num: 1 },
    flavor_info: { max_num: maxNum, cpu: { arch: 'x86', core_num: cores }, memory: { size: gib, unit: 'GB' }, disk: { size: 50, unit: 'GB' } },
  };
}

/** The user guide's free GPU flavor: billed under a `…free` code, one node. */
const FREE_GPU_FLAVOR: FlavorOption = {
  flavor_id: 'modelarts.p3.large.public.free',
  flavor_name: 'Computing GPU(Vnt1) instance',
  flavor_type: 'GPU',
  billing: { code: 'modelarts.vm.gpu.free', unit_num: 1 },
  flavor_info: { max_num: 1, cpu: { arch: 'x86', core_num: 8 }, gpu: { unit_num: 1, product_name: 'GP-Vnt1', memory: '32GB' }, memory: { size: 64, unit: 'GB' }, disk: { size: 200, unit: 'GB' } },
};

export const DEFAULT_FLAVORS: readonly FlavorOption[] = [cpuFlavor(2, 8, 1), cpuFlavor(4, 16, 2), cpuFlavor(8, 32, 16), FREE_GPU_FLAVOR];

export interface Timing {
  readonly deleteDelayMs: number;
  readonly metricIntervalMs: number;
  readonly terminateGraceMs: number;
  readonly tokenLifetimeMs: number;
  readonly logUrlTtlMs: number;
  readonly creatingMs: number;
  readonly pendingMs: number;
  readonly maxClockSkewMs: number;
}

export interface ResolvedOptions {
  readonly region: string;
  readonly projectId: string;
  readonly projectName: string;
  readonly domain: { readonly id: string; readonly name: string };
  readonly accessKeys: readonly AccessKeyOption[];
  readonly users: readonly IamUserOption[];
  readonly engines: readonly EngineOption[];
  readonly flavors: readonly FlavorOption[];
  readonly customImages: Readonly<Record<string, string>>;
  readonly datasets: readonly DatasetOption[];
  readonly pools: readonly string[];
  readonly logPreviewBytes: number;
  readonly timing: Timing;
  readonly akLockout: AkLockoutOptions | false;
  readonly eventTimeZoneMinutes: number;
}

export function resolveOptions(options: ContractServerOptions): ResolvedOptions {
  const region = options.region ?? 'cn-north-4';
  const timing = options.timing ?? {};
  return {
    region,
    projectId: options.projectId ?? randomBytes(16).toString('hex'),
    projectName: options.projectName ?? region,
    domain: { id: options.domain?.id ?? DEFAULT_DOMAIN.id, name: options.domain?.name ?? DEFAULT_DOMAIN.name },
    accessKeys: options.accessKeys ?? [DEFAULT_ACCESS_KEY],
    users: options.users ?? [DEFAULT_USER],
    engines: options.engines ?? DEFAULT_ENGINES,
    flavors: options.flavors ?? DEFAULT_FLAVORS,
    customImages: options.customImages ?? {},
    datasets: options.datasets ?? [],
    pools: options.pools ?? [],
    logPreviewBytes: options.logPreviewBytes ?? 5 * 1024 * 1024,
    timing: {
      deleteDelayMs: timing.deleteDelayMs ?? 2000,
      metricIntervalMs: timing.metricIntervalMs ?? 60_000,
      terminateGraceMs: timing.terminateGraceMs ?? 10_000,
      tokenLifetimeMs: timing.tokenLifetimeMs ?? 24 * 3600_000,
      logUrlTtlMs: timing.logUrlTtlMs ?? 5 * 60_000,
      creatingMs: timing.creatingMs ?? 0,
      pendingMs: timing.pendingMs ?? 0,
      maxClockSkewMs: timing.maxClockSkewMs ?? 15 * 60_000,
    },
    akLockout: options.akLockout ?? { failures: 5, durationMs: 5 * 60_000 },
    eventTimeZoneMinutes: options.eventTimeZoneMinutes ?? 8 * 60,
  };
}
