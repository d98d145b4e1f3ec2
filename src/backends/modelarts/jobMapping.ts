/**
 * ModelArts' answers in the project's own types (the job, event, algorithm, flavor and engine
 * shapes every backend shares), and the project's requests in the fields the API reference
 * documents, and only those.
 */
import type { Algorithm } from '../../core/algorithm';
import { costOfBilling, type Flavor } from '../../core/flavors';
import type { JobInput, JobOutput, JobParameter, TrainingJob, ValidJobCreateRequest } from '../../core/job';
import { EVENT_LEVELS, type JobEvent } from '../../core/jobEvent';
import { JOB_PHASES, SECONDARY_PHASES, type JobPhase, type SecondaryPhase } from '../../core/lifecycle';
import type { PresetEngine } from '../../core/presetEngines';
import { ProtocolError } from './apiErrors';
import type { CloudAlgorithm, CloudFlavor, CloudJob } from './schemas';
import type { z } from 'zod';
import type { cloudEventSchema, enginesSchema } from './schemas';

type Environments = Record<string, string> | Array<Record<string, string>> | null | undefined;

function environmentsOf(value: Environments): Record<string, string> {
  if (!value) return {};
  return Array.isArray(value) ? Object.assign({}, ...value) : { ...value };
}

function parametersOf(list: CloudJob['algorithm']['parameters']): JobParameter[] {
  return (list ?? []).map((p) => ({ name: p.name, ...(p.value !== undefined && p.value !== null ? { value: String(p.value) } : {}), ...(p.description ? { description: p.description } : {}) }));
}

function inputsOf(list: CloudJob['algorithm']['inputs']): JobInput[] {
  return (list ?? []).flatMap((input): JobInput[] => {
    const remote = input.remote?.obs
      ? { obs: { obs_url: input.remote.obs.obs_url } }
      : input.remote?.dataset
        ? { dataset: { id: input.remote.dataset.id, version_id: input.remote.dataset.version_id } }
        : undefined;
    if (!remote) return [];
    return [{ name: input.name, ...(input.description ? { description: input.description } : {}), ...(input.local_dir ? { local_dir: input.local_dir } : {}), remote }];
  });
}

function outputsOf(list: CloudJob['algorithm']['outputs']): JobOutput[] {
  return (list ?? []).map((output) => ({
    name: output.name,
    ...(output.description ? { description: output.description } : {}),
    ...(output.local_dir ? { local_dir: output.local_dir } : {}),
    ...(output.remote?.obs ? { remote: { obs: { obs_url: output.remote.obs.obs_url } } } : {}),
  }));
}

function phaseOf(value: string, operation: string): JobPhase {
  if ((JOB_PHASES as readonly string[]).includes(value)) return value as JobPhase;
  throw new ProtocolError(operation, `status.phase "${value}" is not a documented phase (${JOB_PHASES.join(', ')})`);
}

/** A job as ModelArts answers it (create, show, search), in the shared shape. */
export function jobFromCloud(job: CloudJob, operation = 'ShowTrainingJobDetails'): TrainingJob {
  const { metadata, status, algorithm } = job;
  const phase = phaseOf(status.phase, operation);
  const secondary = status.secondary_phase && (SECONDARY_PHASES as readonly string[]).includes(status.secondary_phase) ? (status.secondary_phase as SecondaryPhase) : phase;
  const resource = job.spec?.resource;
  return {
    kind: 'job',
    metadata: {
      id: metadata.id,
      name: metadata.name,
      description: metadata.description ?? '',
      create_time: metadata.create_time,
      workspace_id: metadata.workspace_id ?? '0',
      user_name: metadata.user_name ?? '',
      annotations: { ...(metadata.annotations ?? {}) },
    },
    algorithm: {
      ...(algorithm.id ? { id: algorithm.id } : {}),
      ...(algorithm.name ? { name: algorithm.name } : {}),
      code_dir: algorithm.code_dir ?? '',
      boot_file: algorithm.boot_file ?? '',
      ...(algorithm.command ? { command: algorithm.command } : {}),
      parameters: parametersOf(algorithm.parameters),
      inputs: inputsOf(algorithm.inputs),
      outputs: outputsOf(algorithm.outputs),
      engine: {
        ...(algorithm.engine?.engine_id ? { engine_id: algorithm.engine.engine_id } : {}),
        ...(algorithm.engine?.engine_name ? { engine_name: algorithm.engine.engine_name } : {}),
        ...(algorithm.engine?.engine_version ? { engine_version: algorithm.engine.engine_version } : {}),
        image_url: algorithm.engine?.image_url ?? '',
      },
      ...(algorithm.working_dir ? { working_dir: algorithm.working_dir } : {}),
      environments: environmentsOf(algorithm.environments),
    },
    spec: {
      resource: {
        flavor_id: resource?.flavor_id ?? '',
        ...(resource?.flavor_name ? { flavor_name: resource.flavor_name } : {}),
        node_count: Math.max(1, resource?.node_count ?? 1),
        ...(resource?.pool_id ? { pool_id: resource.pool_id } : {}),
      },
      ...(job.spec?.log_export_path?.obs_url ? { log_export_path: { obs_url: job.spec.log_export_path.obs_url } } : {}),
    },
    status: {
      phase,
      secondary_phase: secondary,
      duration: status.duration ?? 0,
      start_time: status.start_time ?? 0,
      tasks: status.tasks ?? [],
      task_statuses: (status.task_statuses ?? []).map((s) => ({ task: s.task, ...(s.exit_code !== undefined && s.exit_code !== null ? { exit_code: s.exit_code } : {}), ...(s.message ? { message: s.message } : {}) })),
      running_records: (status.running_records ?? []).map((r) => ({
        start_at: r.start_at,
        ...(r.end_at !== undefined && r.end_at !== null ? { end_at: r.end_at } : {}),
        start_type: r.start_type === 'restarted' ? 'restarted' : 'init_or_rescheduled',
        ...(r.end_reason ? { end_reason: r.end_reason } : {}),
        ...(r.end_related_task ? { end_related_task: r.end_related_task } : {}),
        ...(r.end_recover ? { end_recover: r.end_recover } : {}),
      })),
    },
  };
}

/** `2022-11-26T16:03:41+08:00` with milliseconds, as every backend's events are written. */
export function eventTime(value: string): string {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)$/.exec(value);
  if (!match) return value;
  const fraction = (match[2] ?? '.000').padEnd(4, '0').slice(0, 4);
  const zone = match[3] === 'Z' ? '+00:00' : (match[3] as string).replace(/^([+-]\d\d)(\d\d)$/, '$1:$2');
  return `${match[1]}${fraction}${zone}`;
}

export function eventFromCloud(event: z.output<typeof cloudEventSchema>): JobEvent {
  const level = (EVENT_LEVELS as readonly string[]).find((l) => l.toLowerCase() === event.level.toLowerCase()) ?? 'Info';
  return { time: eventTime(event.time), level: level as JobEvent['level'], message: event.message, source: event.source || 'Job' };
}

/** The job request in the documented fields of CreateTrainingJob. */
export function jobBody(request: ValidJobCreateRequest, planned: { readonly codeDir?: string; readonly bootFile?: string; readonly outputs: readonly JobOutput[]; readonly flavorId: string | undefined; readonly nodeCount: number }): Record<string, unknown> {
  const { metadata, algorithm, spec } = request;
  const engine = algorithm.engine;
  return {
    kind: 'job',
    metadata: {
      name: metadata.name,
      ...(metadata.description ? { description: metadata.description } : {}),
      ...(metadata.workspace_id ? { workspace_id: metadata.workspace_id } : {}),
      ...(metadata.annotations && Object.keys(metadata.annotations).length ? { annotations: { ...metadata.annotations } } : {}),
    },
    algorithm: {
      ...(algorithm.id ? { id: algorithm.id } : {}),
      ...(planned.codeDir ? { code_dir: planned.codeDir } : {}),
      ...(planned.bootFile ? { boot_file: planned.bootFile } : {}),
      ...(algorithm.command ? { command: algorithm.command } : {}),
      ...(algorithm.parameters?.length ? { parameters: algorithm.parameters.map((p) => ({ name: p.name, value: p.value ?? '', ...(p.description ? { description: p.description } : {}) })) } : {}),
      ...(algorithm.inputs?.length
        ? { inputs: algorithm.inputs.map((i) => ({ name: i.name, ...(i.description ? { description: i.description } : {}), ...(i.local_dir ? { local_dir: i.local_dir } : {}), remote: i.remote })) }
        : {}),
      ...(planned.outputs.length
        ? { outputs: planned.outputs.map((o) => ({ name: o.name, ...(o.description ? { description: o.description } : {}), ...(o.local_dir ? { local_dir: o.local_dir } : {}), remote: o.remote })) }
        : {}),
      ...(engine ? { engine: { ...engine } } : {}),
      ...(algorithm.local_code_dir ? { local_code_dir: algorithm.local_code_dir } : {}),
      ...(algorithm.working_dir ? { working_dir: algorithm.working_dir } : {}),
      ...(algorithm.environments && Object.keys(algorithm.environments).length ? { environments: { ...algorithm.environments } } : {}),
    },
    spec: {
      resource: {
        ...(planned.flavorId ? { flavor_id: planned.flavorId } : {}),
        node_count: planned.nodeCount,
        ...(spec?.resource?.pool_id ? { pool_id: spec.resource.pool_id } : {}),
      },
      ...(spec?.log_export_path ? { log_export_path: { obs_url: spec.log_export_path.obs_url } } : {}),
    },
  };
}

/** An algorithm as ModelArts answers it, in the shared shape. */
export function algorithmFromCloud(algorithm: CloudAlgorithm): Algorithm {
  const { metadata, job_config: config } = algorithm;
  const engine = config.engine ?? {};
  return {
    metadata: {
      id: metadata.id,
      name: metadata.name,
      description: metadata.description ?? '',
      create_time: metadata.create_time ?? 0,
      ...(metadata.update_time ? { update_time: metadata.update_time } : {}),
    },
    job_config: {
      code_dir: config.code_dir ?? '',
      boot_file: config.boot_file ?? '',
      ...(config.command ? { command: config.command } : {}),
      parameters: parametersOf(config.parameters),
      parameters_customization: config.parameters_customization ?? true,
      inputs: (config.inputs ?? []).map((c) => ({ name: c.name, ...(c.description ? { description: c.description } : {}) })),
      outputs: (config.outputs ?? []).map((c) => ({ name: c.name, ...(c.description ? { description: c.description } : {}) })),
      engine: {
        ...(engine.engine_id ? { engine_id: engine.engine_id } : {}),
        ...(engine.engine_name ? { engine_name: engine.engine_name } : {}),
        ...(engine.engine_version ? { engine_version: engine.engine_version } : {}),
        ...(engine.image_url ? { image_url: engine.image_url } : {}),
      },
      ...(config.working_dir ? { working_dir: config.working_dir } : {}),
      environments: environmentsOf(config.environments),
    },
  };
}

const GIB_PER: Readonly<Record<string, number>> = { GB: 1, GIB: 1, MB: 1 / 1024, MIB: 1 / 1024, TB: 1024 };

export function flavorFromCloud(flavor: CloudFlavor): Flavor {
  const info = flavor.flavor_info;
  const gpus = info?.gpu?.unit_num ?? 0;
  const memory = (info?.memory?.size ?? 0) * (GIB_PER[(info?.memory?.unit ?? 'GB').toUpperCase()] ?? 1);
  const cost = costOfBilling(flavor.flavor_id, flavor.billing);
  return {
    flavor_id: flavor.flavor_id,
    flavor_name: flavor.flavor_name ?? flavor.flavor_id,
    flavor_type: flavor.flavor_type === 'GPU' || gpus > 0 ? 'GPU' : 'CPU',
    cpu_cores: info?.cpu?.core_num ?? 0,
    memory_gib: memory,
    gpu_count: gpus,
    max_num: Math.max(1, info?.max_num ?? flavor.max_num ?? 1),
    ...(cost ? { cost } : {}),
  };
}

export function engineFromCloud(engine: z.output<typeof enginesSchema>['items'][number]): PresetEngine {
  return {
    engine_id: engine.engine_id,
    engine_name: engine.engine_name,
    engine_version: engine.engine_version,
    v1_compatible: false,
    run_user: engine.run_user ?? '',
    image_info: {
      cpu_image_url: engine.image_info?.cpu_image_url || engine.image_info?.gpu_image_url || engine.engine_id,
      ...(engine.image_info?.gpu_image_url ? { gpu_image_url: engine.image_info.gpu_image_url } : {}),
      image_version: engine.image_info?.image_version ?? '',
    },
  };
}
