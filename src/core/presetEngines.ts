/**
 * Preset engines: named images the platform provides (ModelArts' `training-job-engines`).
 * The local engine discovers them from image labels, so this module only holds the shape and
 * the matching rules.
 */
import type { EngineRef } from './job';

export interface PresetEngine {
  readonly engine_id: string;
  readonly engine_name: string;
  readonly engine_version: string;
  readonly v1_compatible: false;
  /** UID the engine's images run as. */
  readonly run_user: string;
  readonly image_info: {
    readonly cpu_image_url: string;
    readonly gpu_image_url?: string;
    readonly image_version: string;
  };
}

/** Image labels a preset engine image carries (set by scripts/build-preset-images.sh). */
export const ENGINE_LABELS = {
  id: 'org.modelarts-training.engine.id',
  name: 'org.modelarts-training.engine.name',
  version: 'org.modelarts-training.engine.version',
  recipe: 'org.modelarts-training.recipe-hash',
} as const;

export function describeEngine(engine: Pick<PresetEngine, 'engine_name' | 'engine_version'>): string {
  return `${engine.engine_name} ${engine.engine_version}`;
}

/** Finds the preset engine a reference names: by id, or by name (any case) and version. */
export function matchPresetEngine(engines: readonly PresetEngine[], ref: EngineRef): PresetEngine | undefined {
  if (ref.engine_id) {
    return engines.find((e) => e.engine_id === ref.engine_id);
  }
  if (ref.engine_name && ref.engine_version) {
    const name = ref.engine_name.toLowerCase();
    return engines.find((e) => e.engine_name.toLowerCase() === name && e.engine_version === ref.engine_version);
  }
  return undefined;
}
