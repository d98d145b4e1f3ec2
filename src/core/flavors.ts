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

/** The default: the largest fitting flavor up to 2 vCPUs and 8 GiB, so a laptop keeps some room. */
export function defaultFlavor(machine: MachineResources, flavors: readonly Flavor[] = LOCAL_FLAVORS): Flavor | undefined {
  const fitting = flavorsThatFit(machine, flavors).filter((f) => f.gpu_count === 0 && f.cpu_cores <= 2 && f.memory_gib <= 8);
  return fitting.at(-1) ?? flavorsThatFit(machine, flavors)[0];
}

export function findFlavor(id: string, flavors: readonly Flavor[] = LOCAL_FLAVORS): Flavor | undefined {
  return flavors.find((f) => f.flavor_id === id);
}
