/**
 * Training jobs in the ModelArts v2 shape (`kind`, `metadata`, `algorithm`, `spec`, `status`).
 * The request schema is strict: a misspelt field is reported, not silently ignored, and every
 * message names the field and what it allows.
 */
import { z } from 'zod';
import { InvalidInputError, fieldPath, invalidInput } from './errors';
import { JOB_PHASES, SECONDARY_PHASES } from './lifecycle';

/** ModelArts' high-reliability annotation: how many times a failed job is restarted (0 to 3). */
export const RETRY_ANNOTATION = 'fault-tolerance/job-retry-num';

/** How many automatic restarts the job asked for. */
export function retryLimit(job: { readonly metadata: { readonly annotations: Readonly<Record<string, string>> } }): number {
  const value = Number(job.metadata.annotations[RETRY_ANNOTATION] ?? 0);
  return Number.isInteger(value) && value > 0 ? Math.min(value, 3) : 0;
}

export const JOB_NAME_RULE = '1 to 64 characters: letters, digits, hyphens (-) and underscores (_)';
const JOB_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Hyperparameter and input/output names become `--name=value` flags and folder names. */
const FLAG_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const FLAG_NAME_RULE = 'a letter or "_" followed by up to 63 letters, digits, ".", "-" or "_"';
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A required string whose type and absence errors say so in words. */
function text(what = 'text') {
  return z.string({ error: (issue) => (issue.input === undefined ? 'is required' : `must be ${what}`) });
}

export const jobNameSchema = text().regex(JOB_NAME_PATTERN, { error: `must be ${JOB_NAME_RULE}` });

const flagName = (kind: string) => text().regex(FLAG_NAME_PATTERN, { error: `${kind} name must be ${FLAG_NAME_RULE}` });

export const parameterSchema = z.strictObject({
  name: flagName('a parameter'),
  /** Absent or empty: the parameter is passed as a bare flag (`--name`). */
  value: z
    .union([z.string().max(4096, { error: 'must be at most 4096 characters' }), z.number()], {
      error: 'must be text or a number',
    })
    .transform((value) => String(value))
    .optional(),
  description: z.string({ error: 'must be text' }).max(256).optional(),
  constraint: z
    .looseObject({
      type: z.string().optional(),
      editable: z.boolean().optional(),
      required: z.boolean().optional(),
      sensitive: z.boolean().optional(),
      valid_type: z.string().optional(),
      valid_range: z.array(z.string()).optional(),
    })
    .optional(),
});
export type JobParameter = z.output<typeof parameterSchema>;

const obsLocationSchema = z.strictObject({ obs_url: text('a storage URL such as obs://bucket/path/') });

export const inputSchema = z.strictObject({
  name: flagName('an input'),
  description: z.string().max(256).optional(),
  local_dir: z.string().optional(),
  remote: z
    .strictObject({
      obs: obsLocationSchema.optional(),
      dataset: z.strictObject({ id: text(), version_id: text() }).optional(),
    })
    .refine((remote) => (remote.obs ? 1 : 0) + (remote.dataset ? 1 : 0) === 1, {
      error: 'must name exactly one of obs or dataset',
    }),
});
export type JobInput = z.output<typeof inputSchema>;

export const outputSchema = z.strictObject({
  name: flagName('an output'),
  description: z.string().max(256).optional(),
  local_dir: z.string().optional(),
  /** Where the output is delivered when the job ends. Locally it may be left out: the output stays with the job. */
  remote: z.strictObject({ obs: obsLocationSchema }).optional(),
  /**
   * The console's "Predownload": before the job starts, the output location's existing content
   * (checkpoints) is downloaded into the output folder, so a copied job resumes (incremental training).
   */
  predownload: z.boolean({ error: 'must be true or false' }).optional(),
});
export type JobOutput = z.output<typeof outputSchema>;

export const engineRefSchema = z
  .strictObject({
    engine_id: z.string().min(1).optional(),
    engine_name: z.string().min(1).optional(),
    engine_version: z.string().min(1).optional(),
    image_url: z.string().min(1).optional(),
    install_sys_packages: z.boolean().optional(),
  })
  .refine((e) => e.engine_id || (e.engine_name && e.engine_version) || e.image_url, {
    error: 'must give engine_id, engine_name with engine_version, or image_url',
  });
export type EngineRef = z.output<typeof engineRefSchema>;

export const environmentsSchema = z
  .record(
    z
      .string()
      .max(8192)
      .regex(ENV_NAME_PATTERN, { error: 'a variable name must be letters, digits and "_", not starting with a digit' }),
    z.string({ error: 'must be text' }).max(4096).refine((value) => !value.includes('$'), { error: 'must not contain "$"' }),
  )
  .refine((env) => Object.keys(env).length <= 100, { error: 'must hold at most 100 variables' });

const jobAlgorithmRequestSchema = z
  .strictObject({
    id: z.string().min(1).optional(),
    name: z.string().optional(),
    code_dir: z.string({ error: 'must be a folder path' }).min(1, { error: 'must not be empty' }).optional(),
    boot_file: z.string({ error: 'must be a file path' }).min(1, { error: 'must not be empty' }).optional(),
    command: z.string().min(1).optional(),
    parameters: z.array(parameterSchema, { error: 'must be a list of {name, value}' }).max(100).optional(),
    inputs: z.array(inputSchema, { error: 'must be a list of {name, remote}' }).max(20).optional(),
    outputs: z.array(outputSchema, { error: 'must be a list of {name, remote}' }).max(20).optional(),
    engine: engineRefSchema.optional(),
    local_code_dir: z.string().optional(),
    working_dir: z.string().optional(),
    environments: environmentsSchema.optional(),
  })
  .superRefine((algorithm, ctx) => {
    const fromCode = algorithm.code_dir !== undefined || algorithm.boot_file !== undefined;
    const customImage = algorithm.engine?.image_url !== undefined && algorithm.command !== undefined;
    if (!algorithm.id && !fromCode && !customImage) {
      ctx.addIssue({
        code: 'custom',
        path: ['boot_file'],
        message: 'is required: give code_dir and boot_file, an algorithm id, or engine.image_url with command',
      });
    }
    if (algorithm.boot_file !== undefined && algorithm.code_dir === undefined) {
      ctx.addIssue({ code: 'custom', path: ['code_dir'], message: 'is required with boot_file' });
    }
    if (algorithm.code_dir !== undefined && algorithm.boot_file === undefined && !customImage) {
      ctx.addIssue({ code: 'custom', path: ['boot_file'], message: 'is required with code_dir' });
    }
    if (algorithm.boot_file !== undefined && !algorithm.boot_file.endsWith('.py')) {
      ctx.addIssue({ code: 'custom', path: ['boot_file'], message: 'must be a Python file (.py)' });
    }
    if (algorithm.id === undefined && algorithm.engine === undefined) {
      ctx.addIssue({ code: 'custom', path: ['engine'], message: 'is required: name a preset engine or an image' });
    }
    for (const collision of flagCollisions(algorithm)) ctx.addIssue({ code: 'custom', ...collision });
    algorithm.outputs?.forEach((output, index) => {
      if (output.predownload && !output.remote) {
        ctx.addIssue({ code: 'custom', path: ['outputs', index, 'predownload'], message: 'needs remote.obs.obs_url: it downloads that location before the job starts' });
      }
    });
  });

type FlagLists = Partial<Record<'inputs' | 'outputs' | 'parameters', ReadonlyArray<{ readonly name: string }>>>;

/** Parameters, inputs and outputs all become --name flags, so a name may appear once among them. */
function flagCollisions(lists: FlagLists): Array<{ path: [string, number, 'name']; message: string }> {
  const collisions: Array<{ path: [string, number, 'name']; message: string }> = [];
  const seen = new Map<string, string>();
  for (const list of ['inputs', 'outputs', 'parameters'] as const) {
    lists[list]?.forEach((item, index) => {
      const before = seen.get(item.name);
      if (before) {
        collisions.push({ path: [list, index, 'name'], message: `"${item.name}" is already used by ${before}; each flag name may appear once` });
      } else {
        seen.set(item.name, `${list}[${index}]`);
      }
    });
  }
  return collisions;
}

const resourceRequestSchema = z.strictObject({
  flavor_id: z.string().min(1).optional(),
  node_count: z
    .number({ error: 'must be a whole number of nodes' })
    .int({ error: 'must be a whole number of nodes' })
    .min(1, { error: 'must be at least 1' })
    .optional(),
  pool_id: z.string().optional(),
});

export const jobCreateRequestSchema = z.strictObject({
  kind: z.literal('job', { error: 'must be "job"' }).default('job'),
  metadata: z.strictObject(
    {
      name: jobNameSchema,
      description: z.string({ error: 'must be text' }).max(256, { error: 'must be at most 256 characters' }).optional(),
      annotations: z
        .record(z.string(), z.string({ error: 'must be text' }))
        .superRefine((annotations, ctx) => {
          const retries = annotations[RETRY_ANNOTATION];
          if (retries !== undefined && !/^[0-3]$/.test(retries)) {
            ctx.addIssue({ code: 'custom', path: [RETRY_ANNOTATION], message: 'must be a whole number from 0 to 3 (automatic restarts after a failure)' });
          }
        })
        .optional(),
      workspace_id: z.string().optional(),
    },
    { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an object') },
  ),
  algorithm: jobAlgorithmRequestSchema,
  spec: z
    .strictObject({
      resource: resourceRequestSchema.optional(),
      /** ModelArts keeps each task's log in this OBS folder too (`obs://bucket/logs/`). */
      log_export_path: z.strictObject({ obs_url: text('an OBS folder URL such as obs://bucket/logs/') }).optional(),
    })
    .optional(),
});

/** What a caller passes to create a job (numbers allowed where ModelArts wants strings). */
export type JobCreateRequest = z.input<typeof jobCreateRequestSchema>;
/** A request that passed the schema. */
export type ValidJobCreateRequest = z.output<typeof jobCreateRequestSchema>;

export function parseJobCreateRequest(value: unknown): ValidJobCreateRequest {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError('Training job spec', [{ field: '', message: 'must be an object with metadata and algorithm' }]);
  }
  const result = jobCreateRequestSchema.safeParse(value);
  if (!result.success) throw invalidInput('Training job spec', result.error);
  return result.data;
}

// ---- A job as engines return it ------------------------------------------------------------

export const taskStatusSchema = z.object({
  task: z.string(),
  exit_code: z.number().int().optional(),
  message: z.string().optional(),
});
export type TaskStatus = z.output<typeof taskStatusSchema>;

export const runningRecordSchema = z.object({
  start_at: z.number(),
  end_at: z.number().optional(),
  start_type: z.enum(['init_or_rescheduled', 'restarted']),
  end_reason: z.string().optional(),
  end_related_task: z.string().optional(),
  end_recover: z.string().optional(),
});
export type RunningRecord = z.output<typeof runningRecordSchema>;

export const jobStatusSchema = z.object({
  phase: z.enum(JOB_PHASES),
  secondary_phase: z.enum(SECONDARY_PHASES),
  /** Milliseconds the job has run (so far, while it runs). */
  duration: z.number().default(0),
  /** Epoch milliseconds of the first start; 0 before. */
  start_time: z.number().default(0),
  tasks: z.array(z.string()).default([]),
  task_statuses: z.array(taskStatusSchema).default([]),
  running_records: z.array(runningRecordSchema).default([]),
});
export type JobStatus = z.output<typeof jobStatusSchema>;

export const trainingJobSchema = z.object({
  kind: z.literal('job'),
  metadata: z.object({
    id: z.string(),
    name: z.string(),
    description: z.string().default(''),
    create_time: z.number(),
    workspace_id: z.string().default('0'),
    user_name: z.string().default(''),
    annotations: z.record(z.string(), z.string()).default({}),
  }),
  algorithm: z.object({
    id: z.string().optional(),
    name: z.string().optional(),
    /** Host folder (locally) or storage URL (on ModelArts), ending in "/"; empty for a custom image without code. */
    code_dir: z.string(),
    /** Full path of the boot file, inside code_dir; empty when a custom image's command starts the job. */
    boot_file: z.string(),
    command: z.string().optional(),
    parameters: z.array(parameterSchema).default([]),
    inputs: z.array(inputSchema).default([]),
    outputs: z.array(outputSchema).default([]),
    engine: z.object({
      engine_id: z.string().optional(),
      engine_name: z.string().optional(),
      engine_version: z.string().optional(),
      image_url: z.string(),
    }),
    working_dir: z.string().optional(),
    environments: z.record(z.string(), z.string()).default({}),
  }),
  spec: z.object({
    resource: z.object({
      flavor_id: z.string(),
      flavor_name: z.string().optional(),
      node_count: z.number().int().min(1),
      pool_id: z.string().optional(),
    }),
    log_export_path: z.object({ obs_url: z.string() }).optional(),
  }),
  status: jobStatusSchema,
});
export type TrainingJob = z.output<typeof trainingJobSchema>;

export interface JobChange {
  readonly kind: 'created' | 'updated' | 'deleted';
  readonly job: TrainingJob;
}

/** The request that would create this job again (for copy, promote and save-as-algorithm). */
export function toCreateRequest(job: TrainingJob): ValidJobCreateRequest {
  const { algorithm, metadata, spec } = job;
  return {
    kind: 'job',
    metadata: {
      name: metadata.name,
      ...(metadata.description ? { description: metadata.description } : {}),
      ...(Object.keys(metadata.annotations).length ? { annotations: { ...metadata.annotations } } : {}),
    },
    algorithm: {
      ...(algorithm.code_dir ? { code_dir: algorithm.code_dir } : {}),
      ...(algorithm.boot_file ? { boot_file: algorithm.boot_file } : {}),
      ...(algorithm.command ? { command: algorithm.command } : {}),
      parameters: algorithm.parameters.map((p) => ({ ...p })),
      ...(algorithm.inputs.length ? { inputs: algorithm.inputs.map((i) => structuredClone(i)) } : {}),
      ...(algorithm.outputs.length ? { outputs: algorithm.outputs.map((o) => structuredClone(o)) } : {}),
      engine: engineRequest(algorithm.engine),
      ...(algorithm.working_dir ? { working_dir: algorithm.working_dir } : {}),
      ...(Object.keys(algorithm.environments).length ? { environments: { ...algorithm.environments } } : {}),
    },
    spec: {
      resource: { ...(spec.resource.flavor_id ? { flavor_id: spec.resource.flavor_id } : {}), node_count: spec.resource.node_count, ...(spec.resource.pool_id ? { pool_id: spec.resource.pool_id } : {}) },
      ...(spec.log_export_path ? { log_export_path: { obs_url: spec.log_export_path.obs_url } } : {}),
    },
  };
}

/** A preset engine by name and version (portable between engines), else the custom image. */
export function engineRequest(engine: TrainingJob['algorithm']['engine']): EngineRef {
  return engine.engine_name && engine.engine_version
    ? { engine_name: engine.engine_name, engine_version: engine.engine_version }
    : { image_url: engine.image_url };
}

/** `--name=value` hyperparameters as a user types them: `epochs=10 lr=0.01 verbose`. */
export function parseParameterList(textValue: string): JobParameter[] {
  const parameters: JobParameter[] = [];
  for (const token of splitWords(textValue)) {
    const stripped = token.replace(/^--?/, '');
    const eq = stripped.indexOf('=');
    const name = eq < 0 ? stripped : stripped.slice(0, eq);
    const value = eq < 0 ? undefined : stripped.slice(eq + 1);
    parameters.push(value === undefined ? { name } : { name, value });
  }
  return parameters;
}

/** The first problem of hyperparameters typed as text, naming the field, or undefined if they are fine. */
export function parameterTextProblem(textValue: string): string | undefined {
  const parameters = parseParameterList(textValue);
  for (const [index, parameter] of parameters.entries()) {
    const result = parameterSchema.safeParse(parameter);
    if (!result.success) return `algorithm.parameters[${index}] (${parameter.name || 'empty'}): ${result.error.issues[0]?.message}`;
  }
  const collision = flagCollisions({ parameters })[0];
  return collision && `algorithm.${fieldPath(collision.path)}: ${collision.message}`;
}

export function formatParameterList(parameters: readonly JobParameter[]): string {
  return parameters
    .map((p) => (p.value === undefined || p.value === '' ? p.name : `${p.name}=${quoteIfNeeded(p.value)}`))
    .join(' ');
}

function quoteIfNeeded(value: string): string {
  return /[\s"']/.test(value) ? JSON.stringify(value) : value;
}

/** Splits on whitespace, keeping "double quoted" parts together. */
function splitWords(textValue: string): string[] {
  const words: string[] = [];
  const pattern = /(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g;
  for (const match of textValue.matchAll(pattern)) {
    words.push(match[0].replace(/"((?:[^"\\]|\\.)*)"/g, (_, inner: string) => inner.replace(/\\(.)/g, '$1')));
  }
  return words;
}

/** The job with its duration brought up to `now` while it runs (ModelArts reports it live). */
export function withLiveDuration(job: TrainingJob, now: number): TrainingJob {
  const live = job.status.phase === 'Running' || job.status.phase === 'Terminating';
  if (!live || !job.status.start_time) return job;
  return { ...job, status: { ...job.status, duration: Math.max(0, now - job.status.start_time) } };
}
