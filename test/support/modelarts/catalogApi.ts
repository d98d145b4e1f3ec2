/**
 * The catalogs a client reads before creating a job: public flavors (`training-job-flavors`,
 * optionally by flavor_type) and preset engines (`training-job-engines`), in the documented shapes.
 */
import { type ApiResponse, json } from './errors';
import type { ResolvedOptions } from './options';

export function listFlavors(options: ResolvedOptions, flavorType: 'CPU' | 'GPU' | undefined): ApiResponse {
  const flavors = options.flavors
    .filter((f) => flavorType === undefined || f.flavor_type === flavorType)
    .map((f) => ({
      flavor_id: f.flavor_id,
      flavor_name: f.flavor_name,
      max_num: f.flavor_info.max_num,
      flavor_type: f.flavor_type,
      ...(f.billing ? { billing: { ...f.billing } } : {}),
      flavor_info: structuredClone(f.flavor_info),
      ...(f.attributes ? { attributes: { ...f.attributes } } : {}),
    }));
  return json(200, { total_count: flavors.length, flavors });
}

export function listEngines(options: ResolvedOptions): ApiResponse {
  const items = options.engines.map((e) => ({
    engine_id: e.engine_id,
    engine_name: e.engine_name,
    engine_version: e.engine_version,
    v1_compatible: e.v1_compatible ?? false,
    run_user: e.run_user ?? '',
    image_info: { cpu_image_url: e.image_info.cpu_image_url, gpu_image_url: e.image_info.gpu_image_url ?? '', image_version: e.image_info.image_version },
  }));
  return json(200, { total: items.length, items });
}
