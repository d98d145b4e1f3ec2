/**
 * The answers of ModelArts' training API v2 and IAM, as zod schemas written from the API
 * reference: loose objects (the service adds fields over time), with what a client relies on
 * required, so a missing field is a protocol error naming it rather than an `undefined` later.
 */
import { z } from 'zod';

const text = z.string();
const num = z.number();

export const projectsSchema = z.object({
  projects: z.array(z.looseObject({ id: text, name: text, enabled: z.boolean().optional() })),
});

const parameterSchema = z.looseObject({ name: text, value: z.union([text, num, z.boolean()]).nullish(), description: text.nullish() });
const obsRemote = z.looseObject({ obs_url: text });
const inputSchema = z.looseObject({
  name: text,
  description: text.nullish(),
  local_dir: text.nullish(),
  remote: z.looseObject({ obs: obsRemote.nullish(), dataset: z.looseObject({ id: text, version_id: text }).nullish() }).nullish(),
});
const outputSchema = z.looseObject({ name: text, description: text.nullish(), local_dir: text.nullish(), remote: z.looseObject({ obs: obsRemote.nullish() }).nullish() });
const engineSchema = z.looseObject({
  engine_id: text.nullish(),
  engine_name: text.nullish(),
  engine_version: text.nullish(),
  image_url: text.nullish(),
});

export const cloudJobSchema = z.looseObject({
  kind: text.optional(),
  metadata: z.looseObject({
    id: text,
    name: text,
    description: text.nullish(),
    create_time: num,
    workspace_id: text.nullish(),
    user_name: text.nullish(),
    annotations: z.record(text, text).nullish(),
  }),
  status: z.looseObject({
    phase: text,
    secondary_phase: text.nullish(),
    duration: num.nullish(),
    start_time: num.nullish(),
    tasks: z.array(text).nullish(),
    task_statuses: z.array(z.looseObject({ task: text, exit_code: num.nullish(), message: text.nullish() })).nullish(),
    running_records: z
      .array(
        z.looseObject({
          start_at: num,
          end_at: num.nullish(),
          start_type: text.nullish(),
          end_reason: text.nullish(),
          end_related_task: text.nullish(),
          end_recover: text.nullish(),
        }),
      )
      .nullish(),
  }),
  algorithm: z.looseObject({
    id: text.nullish(),
    name: text.nullish(),
    code_dir: text.nullish(),
    boot_file: text.nullish(),
    command: text.nullish(),
    parameters: z.array(parameterSchema).nullish(),
    inputs: z.array(inputSchema).nullish(),
    outputs: z.array(outputSchema).nullish(),
    engine: engineSchema.nullish(),
    local_code_dir: text.nullish(),
    working_dir: text.nullish(),
    /** Requested as a map, typed "Array of Map" in answers: both are read. */
    environments: z.union([z.record(text, text), z.array(z.record(text, text))]).nullish(),
  }),
  spec: z
    .looseObject({
      resource: z.looseObject({ flavor_id: text.nullish(), flavor_name: text.nullish(), node_count: num.nullish(), pool_id: text.nullish() }).nullish(),
      log_export_path: z.looseObject({ obs_url: text.nullish() }).nullish(),
    })
    .nullish(),
});
export type CloudJob = z.output<typeof cloudJobSchema>;

export const jobSearchSchema = z.looseObject({
  total: num.nullish(),
  count: num.nullish(),
  items: z.array(cloudJobSchema),
});

export const cloudEventSchema = z.looseObject({ time: text, level: text, message: text, source: text.nullish() });
export const eventsPageSchema = z.looseObject({
  total: z.union([num, text]).nullish(),
  events: z.array(cloudEventSchema),
});

export const logPreviewSchema = z.looseObject({
  /** Was `context` before March 2022. */
  content: text.nullish(),
  context: text.nullish(),
  current_size: num,
  full_size: num,
});
export type LogPreview = z.output<typeof logPreviewSchema>;

export const logUrlSchema = z.looseObject({ obs_url: text });

export const metricsSchema = z.looseObject({
  metrics: z.array(z.looseObject({ metric: text, value: z.array(num) })),
});

export const flavorsSchema = z.looseObject({
  flavors: z.array(
    z.looseObject({
      flavor_id: text,
      flavor_name: text.nullish(),
      flavor_type: text.nullish(),
      max_num: num.nullish(),
      billing: z.looseObject({ code: text.nullish(), unit_num: num.nullish() }).nullish(),
      flavor_info: z
        .looseObject({
          max_num: num.nullish(),
          cpu: z.looseObject({ core_num: num.nullish(), arch: text.nullish() }).nullish(),
          memory: z.looseObject({ size: num.nullish(), unit: text.nullish() }).nullish(),
          gpu: z.looseObject({ unit_num: num.nullish(), product_name: text.nullish() }).nullish(),
        })
        .nullish(),
    }),
  ),
});
export type CloudFlavor = z.output<typeof flavorsSchema>['flavors'][number];

export const enginesSchema = z.looseObject({
  items: z.array(
    z.looseObject({
      engine_id: text,
      engine_name: text,
      engine_version: text,
      run_user: text.nullish(),
      image_info: z.looseObject({ cpu_image_url: text.nullish(), gpu_image_url: text.nullish(), image_version: text.nullish() }).nullish(),
    }),
  ),
});

const channelSchema = z.looseObject({ name: text, description: text.nullish() });
export const cloudAlgorithmSchema = z.looseObject({
  metadata: z.looseObject({
    id: text,
    name: text,
    description: text.nullish(),
    create_time: num.nullish(),
    update_time: num.nullish(),
  }),
  job_config: z.looseObject({
    code_dir: text.nullish(),
    boot_file: text.nullish(),
    command: text.nullish(),
    parameters: z.array(parameterSchema).nullish(),
    parameters_customization: z.boolean().nullish(),
    inputs: z.array(channelSchema).nullish(),
    outputs: z.array(channelSchema).nullish(),
    engine: engineSchema.nullish(),
    working_dir: text.nullish(),
    environments: z.union([z.record(text, text), z.array(z.record(text, text))]).nullish(),
  }),
});
export type CloudAlgorithm = z.output<typeof cloudAlgorithmSchema>;

export const algorithmListSchema = z.looseObject({
  total: num.nullish(),
  count: num.nullish(),
  items: z.array(cloudAlgorithmSchema),
});
