/**
 * Algorithms in the ModelArts v2 shape: `metadata` plus a `job_config` that keeps a code folder,
 * boot file, engine, hyperparameters and input/output channels together so jobs can be created from it.
 */
import { z } from 'zod';
import { engineRefSchema, environmentsSchema, jobNameSchema, parameterSchema } from './job';

const channelSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().max(256).optional(),
});

export const algorithmSchema = z.object({
  metadata: z.object({
    id: z.string(),
    name: jobNameSchema,
    description: z.string().max(256).default(''),
    create_time: z.number(),
    update_time: z.number().optional(),
  }),
  job_config: z.object({
    code_dir: z.string(),
    boot_file: z.string(),
    command: z.string().optional(),
    parameters: z.array(parameterSchema).default([]),
    parameters_customization: z.boolean().default(true),
    inputs: z.array(channelSchema).default([]),
    outputs: z.array(channelSchema).default([]),
    engine: engineRefSchema,
    environments: environmentsSchema.default({}),
  }),
});
export type Algorithm = z.output<typeof algorithmSchema>;
