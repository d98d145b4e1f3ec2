/**
 * Resource flavors of the local engine, named like ModelArts flavors. A flavor sets the CPU and
 * memory limits of each node's container; only flavors that fit the engine's machine are offered.
 */

export interface Flavor {
  readonly flavor_id: string;
  readonly flavor_name: string;
  readonly flavor_type: 'CPU' | 'GPU';
  readonly cpu_cores: number;
  readonly memory_gib: number;
  readonly gpu_count: number;
  /** Most nodes a job of this flavor may use (1: not distributed). */
  readonly max_num: number;
  /** Set on the backend's default flavor: why it is the default, for the flavor step. */
  readonly default_reason?: string;
  /** What running on it costs, as far as the backend knows (ModelArts gives a billing code, not a price). */
  readonly cost?: FlavorCost;
}

export type FlavorCost =
  | { readonly kind: 'local' }
  | { readonly kind: 'free'; readonly code: string }
  | { readonly kind: 'billed'; readonly code: string; readonly units: number };

/** The flavor step's hint of what the flavor costs; undefined when the backend says nothing. */
export function costHint(flavor: Flavor): string | undefined {
  const cost = flavor.cost;
  if (!cost) return undefined;
  if (cost.kind === 'local') return 'no charge: runs on this machine';
  if (cost.kind === 'free') return 'free of charge on ModelArts';
  return `billed per use: ${cost.units} × ${cost.code} (prices in the ModelArts console)`;
}

/** A ModelArts flavor's billing as the service gives it: a `…free` flavor or billing code costs nothing. */
export function costOfBilling(flavorId: string, billing: { readonly code?: string | null; readonly unit_num?: number | null } | null | undefined): FlavorCost | undefined {
  const code = billing?.code ?? undefined;
  if (/(^|\.)free($|\.)/.test(flavorId) || (code !== undefined && /(^|\.)free($|\.)/.test(code))) return { kind: 'free', code: code ?? flavorId };
  return code ? { kind: 'billed', code, units: billing?.unit_num ?? 1 } : undefined;
}

function cpuFlavor(cores: number, gib: number, maxNodes: number): Flavor {
  return {
    flavor_id: `modelarts.local.cpu.${cores}u${gib}g`,
    flavor_name: `CPU: ${cores} vCPU${cores > 1 ? 's' : ''} | ${gib} GiB`,
    flavor_type: 'CPU',
    cpu_cores: cores,
    memory_gib: gib,
    gpu_count: 0,
    max_num: maxNodes,
    cost: { kind: 'local' },
  };
}

function gpuFlavor(gpus: number, cores: number, gib: number): Flavor {
  return {
    flavor_id: `modelarts.local.gpu.${gpus}g.${cores}u${gib}g`,
    flavor_name: `GPU: ${gpus} GPU${gpus > 1 ? 's' : ''} | CPU: ${cores} vCPUs | ${gib} GiB`,
    flavor_type: 'GPU',
    cpu_cores: cores,
    memory_gib: gib,
    gpu_count: gpus,
    max_num: 1,
    cost: { kind: 'local' },
  };
}

export const LOCAL_FLAVORS: readonly Flavor[] = [
  cpuFlavor(1, 2, 4),
  cpuFlavor(2, 4, 4),
  cpuFlavor(2, 8, 4),
  cpuFlavor(4, 16, 4),
  cpuFlavor(8, 32, 2),
  gpuFlavor(1, 4, 16),
  gpuFlavor(2, 8, 32),
];

export interface MachineResources {
  readonly cpus: number;
  readonly memoryBytes: number;
  /** GPUs the Docker engine can hand to containers (0 without the NVIDIA runtime). */
  readonly gpus?: number;
}

const GIB = 1024 ** 3;

/** Flavors whose one node fits the machine (GPU flavors only where the engine has GPUs). Memory is compared with a little slack for the kernel. */
export function flavorsThatFit(machine: MachineResources, flavors: readonly Flavor[] = LOCAL_FLAVORS): Flavor[] {
  return flavors.filter(
    (f) => f.cpu_cores <= machine.cpus && f.memory_gib * GIB <= machine.memoryBytes * 1.02 && f.gpu_count <= (machine.gpus ?? 0),
  );
}

/**
 * The default: the largest fitting CPU flavor that leaves about half of the machine's CPUs and
 * memory free, so a second job (or the editor, or a dev container) still has room; on a machine too
 * small for that, the smallest flavor that fits.
 */
export function defaultFlavor(machine: MachineResources, flavors: readonly Flavor[] = LOCAL_FLAVORS): Flavor | undefined {
  const cpus = Math.max(1, Math.floor(machine.cpus / 2));
  const fitting = flavorsThatFit(machine, flavors).filter((f) => f.gpu_count === 0);
  const roomy = fitting.filter((f) => f.cpu_cores <= cpus && f.memory_gib * GIB <= machine.memoryBytes / 2);
  return roomy.at(-1) ?? fitting[0];
}

/** Why the default flavor is the default, in a flavor step's words. */
export function defaultFlavorReason(machine: MachineResources): string {
  const gib = Math.floor(machine.memoryBytes / GIB);
  return `default: leaves about half of this machine's ${machine.cpus} vCPU${machine.cpus === 1 ? '' : 's'} and ${gib} GiB for other jobs`;
}

export function findFlavor(id: string, flavors: readonly Flavor[] = LOCAL_FLAVORS): Flavor | undefined {
  return flavors.find((f) => f.flavor_id === id);
}
