/**
 * zod schemas of the training-job requests, written from the API reference's request tables:
 * create (every documented field, used or not, so that only undocumented ones are reported),
 * search, terminate, description update, and the query strings of events, logs and flavors.
 * Types are as documented (a parameter value is a string, node_count an integer); rules the
 * tables only describe in words are checked by the handlers, with ModelArts' own error codes.
 */
import { z } from 'zod';

const str = z.string();
const opt = <T extends z.ZodType>(schema: T) => schema.optional();
const int = z.number().int();
const stringMap = z.record(z.string(), z.string());

export const i18nDescriptionSchema = z.object({ language: opt(str), description: opt(str) });

export const constraintSchema = z.object({
  type: opt(str),
  editable: opt(z.boolean()),
  required: opt(z.boolean()),
  sensitive: opt(z.boolean()),
  valid_type: opt(str),
  valid_range: opt(z.array(str)),
});

export const parameterSchema = z.object({
  name: opt(str),
  value: opt(str),
  description: opt(str),
  constraint: opt(constraintSchema),
  i18n_description: opt(i18nDescriptionSchema),
});

export const autoSearchSchema = z.object({
  skip_search_params: opt(str),
  reward_attrs: opt(z.array(z.object({ name: opt(str), mode: opt(str), regex: opt(str) }))),
  search_params: opt(
    z.array(
      z.object({
        name: opt(str),
        param_type: opt(str),
        lower_bound: opt(str),
        upper_bound: opt(str),
        discrete_points_num: opt(str),
        discrete_values: opt(z.array(str)),
      }),
    ),
  ),
  algo_configs: opt(z.array(z.object({ name: opt(str), params: opt(z.array(z.object({ key: opt(str), value: opt(str), type: opt(str) }))) }))),
});

const obsSchema = z.object({ obs_url: str });

export const inputSchema = z.object({
  name: str,
  description: opt(str),
  local_dir: opt(str),
  remote: z.object({ dataset: opt(z.object({ id: str, version_id: str })), obs: opt(obsSchema) }),
  remote_constraint: opt(z.array(z.object({ data_type: opt(str), attributes: opt(str) }))),
});
export type InputRequest = z.output<typeof inputSchema>;

export const outputSchema = z.object({
  name: str,
  description: opt(str),
  local_dir: opt(str),
  remote: z.object({ obs: obsSchema }),
});
export type OutputRequest = z.output<typeof outputSchema>;

export const jobEngineSchema = z.object({
  engine_id: opt(str),
  engine_name: opt(str),
  engine_version: opt(str),
  image_url: opt(str),
  install_sys_packages: opt(z.boolean()),
});
export type EngineRequest = z.output<typeof jobEngineSchema>;

const summarySchema = z.object({
  log_type: opt(str),
  log_dir: opt(z.object({ pfs: z.object({ pfs_path: str }) })),
  data_sources: opt(z.array(z.object({ job: z.object({ job_id: str }) }))),
});

const jobAlgorithmSchema = z.object({
  id: opt(str),
  name: opt(str),
  subscription_id: opt(str),
  item_version_id: opt(str),
  code_dir: opt(str),
  boot_file: opt(str),
  autosearch_config_path: opt(str),
  autosearch_framework_path: opt(str),
  command: opt(str),
  parameters: opt(z.array(parameterSchema)),
  policies: opt(z.object({ auto_search: opt(autoSearchSchema) })),
  inputs: opt(z.array(inputSchema)),
  outputs: opt(z.array(outputSchema)),
  engine: opt(jobEngineSchema),
  local_code_dir: opt(str),
  working_dir: opt(str),
  environments: opt(stringMap),
  summary: opt(summarySchema),
});
export type JobAlgorithmRequest = z.output<typeof jobAlgorithmSchema>;

const taskEngineSchema = z.object({ engine_id: opt(str), engine_name: opt(str), engine_version: opt(str), image_url: opt(str) });
const taskObsChannel = z.object({ name: str, description: opt(str), local_dir: opt(str), remote: z.object({ obs: opt(obsSchema) }) });

/** Heterogeneous-job tasks: documented, "not implemented currently" on ModelArts; accepted and ignored. */
const taskSchema = z.object({
  role: opt(str),
  algorithm: opt(
    z.object({
      job_config: opt(
        z.object({ parameters: opt(z.array(parameterSchema)), inputs: opt(z.array(inputSchema)), outputs: opt(z.array(outputSchema)), engine: opt(taskEngineSchema) }),
      ),
      code_dir: opt(str),
      boot_file: opt(str),
      engine: opt(taskEngineSchema),
      inputs: opt(z.array(taskObsChannel)),
      outputs: opt(z.array(taskObsChannel)),
      local_code_dir: opt(str),
      working_dir: opt(str),
    }),
  ),
  task_resource: opt(z.object({ flavor_id: opt(str), node_count: int })),
});

const specSchema = z.object({
  resource: opt(z.object({ flavor_id: opt(str), node_count: opt(int), pool_id: opt(str) })),
  volumes: opt(
    z.array(
      z.object({
        nfs: opt(z.object({ nfs_server_path: opt(str), local_path: opt(str), read_only: opt(z.boolean()) })),
        pfs: opt(z.object({ pfs_path: opt(str), local_path: opt(str) })),
        obs: opt(z.object({ obs_path: opt(str), local_path: opt(str) })),
      }),
    ),
  ),
  log_export_path: opt(z.object({ obs_url: opt(str), host_path: opt(str) })),
  auto_stop: opt(z.object({ time_unit: str, duration: int.min(1) })),
  schedule_policy: opt(
    z.object({
      required_affinity: opt(z.object({ affinity_type: opt(str), affinity_group_size: opt(int) })),
      priority: opt(int),
      preemptible: opt(z.boolean()),
    }),
  ),
  notification: opt(z.object({ topic_urn: opt(str), events: opt(z.array(str)) })),
});

export const jobCreateSchema = z.object({
  kind: str,
  metadata: z.object({
    name: str,
    workspace_id: opt(str),
    description: opt(str),
    annotations: opt(stringMap),
  }),
  algorithm: opt(jobAlgorithmSchema),
  tasks: opt(z.array(taskSchema)),
  spec: opt(specSchema),
  endpoints: opt(z.object({ ssh: opt(z.object({ key_pair_names: opt(z.array(str)) })) })),
});
export type JobCreateRequest = z.output<typeof jobCreateSchema>;

export const jobSearchSchema = z.object({
  offset: opt(int.min(0)),
  limit: opt(int.min(1).max(50)),
  sort_by: opt(str),
  order: opt(z.enum(['asc', 'desc'])),
  group_by: opt(str),
  filters: opt(z.array(z.object({ key: opt(str), operator: opt(str), value: opt(z.array(str)) }))),
});
export type JobSearchRequest = z.output<typeof jobSearchSchema>;

/** The reference's search example also puts `limit` in the query string. */
export const jobSearchQuerySchema = z.object({ limit: opt(str) });

export const terminateSchema = z.object({ action_type: str });

export const descriptionSchema = z.object({ description: opt(str.max(256)) });

/** A query number: digits only, then range-checked. */
export const queryInt = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

export const eventsQuerySchema = z.object({
  offset: opt(queryInt(0)),
  limit: opt(queryInt(1, 100)),
  order: opt(z.enum(['asc', 'desc'])),
  start_time: opt(queryInt(0)),
  end_time: opt(queryInt(0)),
  level: opt(z.enum(['Info', 'Warning', 'Error'])),
  pattern: opt(str.max(256)),
  source: opt(z.enum(['K8S', 'K8s', 'Job', 'Task'])),
});
export type EventsQuery = z.output<typeof eventsQuerySchema>;

/** The reference documents Content-Type as a header; its example passes it in the query. */
export const logUrlQuerySchema = z.object({ 'Content-Type': opt(z.enum(['text/plain', 'application/octet-stream'])) });

export const flavorsQuerySchema = z.object({ flavor_type: opt(z.enum(['CPU', 'GPU'])) });

export const noQuerySchema = z.object({});
