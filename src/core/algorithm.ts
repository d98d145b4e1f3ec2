/**
 * Algorithms in the ModelArts v2 shape: `metadata` plus a `job_config` that keeps a code folder,
 * boot file, engine, hyperparameters and input/output channels together so jobs can be created from it.
 */
import { z } from 'zod';
import { InvalidInputError, invalidInput } from './errors';
import { engineRefSchema, engineRequest, environmentsSchema, jobNameSchema, parameterSchema, type TrainingJob } from './job';

const channelSchema = z.strictObject({
  name: z.string({ error: 'must be text' }).regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, { error: 'must be a flag name: a letter or "_", then letters, digits, ".", "-" or "_"' }),
  description: z.string({ error: 'must be text' }).max(256).optional(),
});
export type AlgorithmChannel = z.output<typeof channelSchema>;

const jobConfigRequestSchema = z
  .strictObject({
    code_dir: z.string({ error: 'must be a folder path' }).min(1).optional(),
    boot_file: z.string({ error: 'must be a file path' }).min(1).optional(),
    command: z.string().min(1).optional(),
    parameters: z.array(parameterSchema, { error: 'must be a list of {name, value}' }).max(100).optional(),
    /** Whether jobs may add hyperparameters of their own. */
    parameters_customization: z.boolean({ error: 'must be true or false' }).optional(),
    inputs: z.array(channelSchema, { error: 'must be a list of {name, description}' }).max(20).optional(),
    outputs: z.array(channelSchema, { error: 'must be a list of {name, description}' }).max(20).optional(),
    engine: engineRefSchema,
    working_dir: z.string().optional(),
    environments: environmentsSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if (config.boot_file === undefined && config.command === undefined) {
      ctx.addIssue({ code: 'custom', path: ['boot_file'], message: 'is required: give code_dir and boot_file, or engine.image_url with command' });
    }
    if (config.boot_file !== undefined && config.code_dir === undefined) {
      ctx.addIssue({ code: 'custom', path: ['code_dir'], message: 'is required with boot_file' });
    }
    if (config.command !== undefined && config.engine.image_url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'is only used with a custom image (engine.image_url)' });
    }
    const names = new Set<string>();
    for (const list of ['inputs', 'outputs', 'parameters'] as const) {
      config[list]?.forEach((item, index) => {
        if (names.has(item.name)) ctx.addIssue({ code: 'custom', path: [list, index, 'name'], message: `"${item.name}" is used twice; each flag name may appear once` });
        names.add(item.name);
      });
    }
  });

export const algorithmCreateRequestSchema = z.strictObject({
  metadata: z.strictObject(
    {
      name: jobNameSchema,
      description: z.string({ error: 'must be text' }).max(256, { error: 'must be at most 256 characters' }).optional(),
    },
    { error: (issue) => (issue.input === undefined ? 'is required' : 'must be an object') },
  ),
  job_config: jobConfigRequestSchema,
});
export type AlgorithmCreateRequest = z.input<typeof algorithmCreateRequestSchema>;
export type ValidAlgorithmCreateRequest = z.output<typeof algorithmCreateRequestSchema>;

export function parseAlgorithmCreateRequest(value: unknown): ValidAlgorithmCreateRequest {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError('Algorithm', [{ field: '', message: 'must be an object with metadata and job_config' }]);
  }
  const result = algorithmCreateRequestSchema.safeParse(value);
  if (!result.success) throw invalidInput('Algorithm', result.error);
  return result.data;
}

export const algorithmSchema = z.object({
  metadata: z.object({
    id: z.string(),
    name: jobNameSchema,
    description: z.string().max(256).default(''),
    create_time: z.number(),
    update_time: z.number().optional(),
  }),
  job_config: z.object({
    code_dir: z.string().default(''),
    boot_file: z.string().default(''),
    command: z.string().optional(),
    parameters: z.array(parameterSchema).default([]),
    parameters_customization: z.boolean().default(true),
    inputs: z.array(channelSchema).default([]),
    outputs: z.array(channelSchema).default([]),
    engine: engineRefSchema,
    working_dir: z.string().optional(),
    environments: environmentsSchema.default({}),
  }),
});
export type Algorithm = z.output<typeof algorithmSchema>;

/** "Save As Algorithm": the request that keeps a job's code, boot file, engine, parameters and channels. */
export function algorithmRequestFromJob(job: TrainingJob, name: string, description?: string): ValidAlgorithmCreateRequest {
  const { algorithm } = job;
  const channel = (item: { name: string; description?: string | undefined }): AlgorithmChannel =>
    item.description ? { name: item.name, description: item.description } : { name: item.name };
  return {
    metadata: { name, ...((description ?? job.metadata.description) ? { description: description ?? job.metadata.description } : {}) },
    job_config: {
      ...(algorithm.code_dir ? { code_dir: algorithm.code_dir } : {}),
      ...(algorithm.boot_file ? { boot_file: algorithm.boot_file } : {}),
      ...(algorithm.command ? { command: algorithm.command } : {}),
      parameters: algorithm.parameters.map((p) => ({ ...p })),
      parameters_customization: true,
      inputs: algorithm.inputs.map(channel),
      outputs: algorithm.outputs.map(channel),
      engine: engineRequest(algorithm.engine),
      ...(algorithm.working_dir ? { working_dir: algorithm.working_dir } : {}),
      environments: { ...algorithm.environments },
    },
  };
}
