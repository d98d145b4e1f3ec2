/**
 * The parts of planning a job that hold for every backend, from ModelArts' rules: a job from a
 * saved algorithm (what it fixes, what the request may change), the flavor and node count, the
 * preset engine, the outputs' container folders, and the job's first status. Each backend adds its
 * own checks (folders on this machine, OBS locations) and every problem is reported at once, each
 * naming its field, before anything is created.
 */
import type { Algorithm } from '../../core/algorithm';
import { outputLocalDir, taskNames } from '../../core/contract';
import { InvalidInputError, type FieldIssue } from '../../core/errors';
import type { Flavor } from '../../core/flavors';
import type { EngineRef, JobOutput, TrainingJob, ValidJobCreateRequest } from '../../core/job';
import { describeEngine, matchPresetEngine, type PresetEngine } from '../../core/presetEngines';

export type Problem = (field: string, message: string) => void;

/** Problems found while planning, reported together. */
export class PlanIssues {
  readonly issues: FieldIssue[] = [];
  readonly problem: Problem = (field, message) => this.issues.push({ field, message });

  get count(): number {
    return this.issues.length;
  }

  /** Throws InvalidInputError naming every problem (or `algorithm` as incomplete when `incomplete` holds). */
  throwIfAny(incomplete = false, subject = 'Training job spec'): void {
    if (this.issues.length || incomplete) {
      throw new InvalidInputError(subject, this.issues.length ? this.issues : [{ field: 'algorithm', message: 'is incomplete' }]);
    }
  }
}

export type AlgorithmRequest = ValidJobCreateRequest['algorithm'];

export const DEFAULT_OUTPUT = 'train_url';

/**
 * A job from a saved algorithm: code, boot file, command and engine come from the algorithm; the
 * request gives the data for its channels and may override (or, if the algorithm allows, add)
 * hyperparameters.
 */
export function mergeAlgorithm(request: AlgorithmRequest, saved: Algorithm, problem: Problem): AlgorithmRequest {
  const config = saved.job_config;
  for (const field of ['code_dir', 'boot_file', 'command', 'engine'] as const) {
    if (request[field] !== undefined) problem(`algorithm.${field}`, `comes from algorithm ${saved.metadata.name}; leave it out or create the job without algorithm.id`);
  }
  const parameters = config.parameters.map((p) => ({ ...p }));
  request.parameters?.forEach((given, index) => {
    const existing = parameters.find((p) => p.name === given.name);
    if (existing) {
      if (existing.constraint?.editable === false) problem(`algorithm.parameters[${index}].value`, `"${given.name}" is fixed by algorithm ${saved.metadata.name}`);
      else existing.value = given.value;
    } else if (!config.parameters_customization) {
      problem(`algorithm.parameters[${index}].name`, `algorithm ${saved.metadata.name} does not take "${given.name}"; it takes ${config.parameters.map((p) => p.name).join(', ') || 'no hyperparameters'}`);
    } else {
      parameters.push({ ...given });
    }
  });
  parameters.forEach((p) => {
    if (p.constraint?.required && (p.value === undefined || p.value === '')) problem('algorithm.parameters', `"${p.name}" is required by algorithm ${saved.metadata.name}`);
  });
  const inputs = request.inputs ?? [];
  inputs.forEach((input, index) => {
    if (!config.inputs.some((channel) => channel.name === input.name)) {
      problem(`algorithm.inputs[${index}].name`, `algorithm ${saved.metadata.name} has no input "${input.name}"; its inputs: ${config.inputs.map((c) => c.name).join(', ') || 'none'}`);
    }
  });
  for (const channel of config.inputs) {
    if (!inputs.some((input) => input.name === channel.name)) problem('algorithm.inputs', `give data for input "${channel.name}" of algorithm ${saved.metadata.name} (remote.obs.obs_url)`);
  }
  const outputs: JobOutput[] = config.outputs.map((channel) => ({ name: channel.name, ...(channel.description ? { description: channel.description } : {}) }));
  (request.outputs ?? []).forEach((output, index) => {
    const at = outputs.findIndex((o) => o.name === output.name);
    if (at < 0) problem(`algorithm.outputs[${index}].name`, `algorithm ${saved.metadata.name} has no output "${output.name}"; its outputs: ${config.outputs.map((c) => c.name).join(', ') || 'none'}`);
    else outputs[at] = { ...outputs[at], ...output };
  });
  return {
    ...request,
    ...(config.code_dir ? { code_dir: config.code_dir } : {}),
    ...(config.boot_file ? { boot_file: config.boot_file } : {}),
    ...(config.command ? { command: config.command } : {}),
    engine: config.engine,
    parameters,
    inputs,
    outputs,
    ...((request.working_dir ?? config.working_dir) ? { working_dir: request.working_dir ?? config.working_dir } : {}),
    environments: { ...config.environments, ...(request.environments ?? {}) },
  };
}

/** The request's flavor (or the default) among those offered, and a node count it allows. */
export function resolveFlavor(
  request: ValidJobCreateRequest,
  flavors: readonly Flavor[],
  defaultFlavor: Flavor | undefined,
  problem: Problem,
): { readonly flavor: Flavor | undefined; readonly nodeCount: number } {
  const nodeCount = request.spec?.resource?.node_count ?? 1;
  const flavorId = request.spec?.resource?.flavor_id;
  const flavor = flavorId ? flavors.find((f) => f.flavor_id === flavorId) : defaultFlavor;
  if (!flavor) {
    problem(
      'spec.resource.flavor_id',
      flavorId ? `unknown flavor "${flavorId}"; offered: ${flavors.map((f) => f.flavor_id).join(', ') || 'none'}` : 'no flavor is offered',
    );
  } else if (nodeCount > flavor.max_num) {
    problem('spec.resource.node_count', `must be at most ${flavor.max_num} with flavor ${flavor.flavor_id} (got ${nodeCount})`);
  }
  return { flavor, nodeCount };
}

/** Why a preset engine reference matches nothing offered, naming what is. */
export function unknownEngine(ref: EngineRef, engines: readonly PresetEngine[], origin: string, noneHint: string): string {
  const wanted = ref.engine_id ?? `${ref.engine_name} ${ref.engine_version}`;
  return engines.length
    ? `unknown engine "${wanted}"${origin}; offered: ${engines.map((e) => `${describeEngine(e)} (${e.engine_id})`).join(', ')}`
    : `unknown engine "${wanted}"; ${noneHint}`;
}

/** The preset engine a reference names, or a problem naming the field and what is offered. */
export function resolvePresetEngine(ref: EngineRef, engines: readonly PresetEngine[], problem: Problem, origin: string, noneHint: string): PresetEngine | undefined {
  const engine = matchPresetEngine(engines, ref);
  if (!engine) problem(ref.engine_id ? 'algorithm.engine.engine_id' : 'algorithm.engine', unknownEngine(ref, engines, origin, noneHint));
  return engine;
}

/** Outputs with their container folders (`outputs/<name>_0`); none declared: `train_url`. */
export function outputsWithLocalDirs(outputs: readonly JobOutput[], problem: Problem): JobOutput[] {
  const planned = (outputs.length ? outputs : [{ name: DEFAULT_OUTPUT }]).map((output) => ({ ...output, local_dir: output.local_dir ?? outputLocalDir(output.name) }));
  planned.forEach((output, index) => {
    if (!output.local_dir.startsWith('/')) problem(`algorithm.outputs[${index}].local_dir`, 'must be an absolute path inside the container');
  });
  return planned;
}

/** A new job's metadata, from the request. */
export function newJobMetadata(request: ValidJobCreateRequest, id: string, now: number, userName: string): TrainingJob['metadata'] {
  const { metadata } = request;
  return {
    id,
    name: metadata.name,
    description: metadata.description ?? '',
    create_time: now,
    workspace_id: metadata.workspace_id ?? '0',
    user_name: userName,
    annotations: { ...(metadata.annotations ?? {}) },
  };
}

/** A job's status as it is created: Creating, with one task per node. */
export function creatingStatus(nodeCount: number): TrainingJob['status'] {
  return { phase: 'Creating', secondary_phase: 'Creating', duration: 0, start_time: 0, tasks: taskNames(nodeCount), task_statuses: [], running_records: [] };
}
