/**
 * A job of one backend as a request for another ("Run on ModelArts", Promote to a cloud backend):
 * the same code, boot file, hyperparameters, inputs and outputs, with what each backend names its
 * own way translated — the preset engine (by framework name and version: `PyTorch 1.13-cpu`
 * locally is `pytorch_1.13.1-cpu-…` on ModelArts), the flavor (a flavor of the target; its
 * default unless one is asked for) — and outputs kept on the source machine left for the target
 * to place. What cannot be translated is said, naming the field.
 */
import type { Flavor } from '../../core/flavors';
import { InvalidInputError } from '../../core/errors';
import type { EngineRef, JobCreateRequest, ValidJobCreateRequest } from '../../core/job';
import { describeEngine, matchPresetEngine, type PresetEngine } from '../../core/presetEngines';

/** The framework version in an engine's version: `1.13` of `1.13-cpu` and of `pytorch_1.13.1-cpu-py_3.11-…`. */
function frameworkVersion(version: string): string | undefined {
  return /(\d+\.\d+)/.exec(version)?.[1];
}

/** The target's engine of the same framework and version, else undefined. */
export function translateEngine(ref: EngineRef, engines: readonly PresetEngine[]): PresetEngine | undefined {
  const exact = matchPresetEngine(engines, ref);
  if (exact || !ref.engine_name || !ref.engine_version) return exact;
  const name = ref.engine_name.toLowerCase();
  const version = frameworkVersion(ref.engine_version);
  const same = engines.filter((e) => e.engine_name.toLowerCase() === name && version !== undefined && frameworkVersion(e.engine_version) === version);
  // CPU images first: what a CPU flavor runs.
  return same.find((e) => /cpu/i.test(e.engine_version)) ?? same[0];
}

export interface Translation {
  readonly request: JobCreateRequest;
  /** What changed on the way, in words, for the confirmation. */
  readonly changes: readonly string[];
}

export function translateJob(
  request: ValidJobCreateRequest,
  target: { readonly displayName: string; readonly engines: readonly PresetEngine[]; readonly flavors: readonly Flavor[]; readonly defaultFlavor: Flavor | undefined },
  options: { readonly flavorId?: string; readonly sourceEngines?: readonly PresetEngine[] } = {},
): Translation {
  const changes: string[] = [];
  const algorithm = { ...request.algorithm };
  if (algorithm.engine && !algorithm.engine.image_url && algorithm.id === undefined) {
    // An engine id is the source backend's own name: its framework and version travel instead.
    const source = algorithm.engine.engine_id ? options.sourceEngines?.find((e) => e.engine_id === algorithm.engine?.engine_id) : undefined;
    if (source) algorithm.engine = { engine_name: source.engine_name, engine_version: source.engine_version };
    const engine = translateEngine(algorithm.engine, target.engines);
    if (!engine) {
      const wanted = algorithm.engine.engine_id ?? `${algorithm.engine.engine_name} ${algorithm.engine.engine_version}`;
      throw new InvalidInputError('Training job spec', [
        { field: 'algorithm.engine', message: `${target.displayName} offers no engine like "${wanted}"; it offers ${target.engines.map(describeEngine).join(', ') || 'none'}` },
      ]);
    }
    if (engine.engine_version !== algorithm.engine.engine_version || engine.engine_name !== algorithm.engine.engine_name) {
      changes.push(`engine ${describeEngine({ engine_name: algorithm.engine.engine_name ?? '', engine_version: algorithm.engine.engine_version ?? '' })} → ${describeEngine(engine)}`);
    }
    algorithm.engine = { engine_name: engine.engine_name, engine_version: engine.engine_version };
  }
  // Outputs kept with the job on the source machine get the target's own place.
  if (algorithm.outputs) algorithm.outputs = algorithm.outputs.map(({ local_dir: _localDir, ...output }) => output);
  const flavorId = options.flavorId ?? request.spec?.resource?.flavor_id;
  const flavor = target.flavors.find((f) => f.flavor_id === flavorId) ?? target.defaultFlavor;
  if (flavor && flavor.flavor_id !== request.spec?.resource?.flavor_id) changes.push(`flavor ${request.spec?.resource?.flavor_id ?? '(default)'} → ${flavor.flavor_id}`);
  const nodeCount = Math.min(request.spec?.resource?.node_count ?? 1, flavor?.max_num ?? 1);
  if (nodeCount !== (request.spec?.resource?.node_count ?? 1)) changes.push(`nodes ${request.spec?.resource?.node_count} → ${nodeCount} (the most ${flavor?.flavor_id} allows)`);
  return {
    request: { ...request, algorithm, spec: { ...request.spec, resource: { ...(flavor ? { flavor_id: flavor.flavor_id } : {}), node_count: nodeCount } } },
    changes,
  };
}
