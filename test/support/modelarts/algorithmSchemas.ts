/**
 * zod schemas of the algorithm requests (create and modify share one body) and of the
 * algorithm list's query, written from the API reference's request tables.
 */
import { z } from 'zod';
import { autoSearchSchema, parameterSchema, queryInt } from './jobSchemas';

const str = z.string();
const opt = <T extends z.ZodType>(schema: T) => schema.optional();

export const algorithmBodySchema = z.object({
  metadata: opt(
    z.object({
      // Typed Integer in the table while the examples carry a UUID string: both are accepted.
      id: opt(z.union([str, z.number()])),
      name: str,
      description: opt(str),
      workspace_id: opt(str),
      ai_project: opt(str),
    }),
  ),
  job_config: opt(
    z.object({
      code_dir: opt(str),
      boot_file: opt(str),
      command: opt(str),
      parameters: opt(z.array(parameterSchema)),
      inputs: opt(
        z.array(
          z.object({
            name: opt(str),
            description: opt(str),
            remote_constraints: opt(z.array(z.object({ data_type: opt(str), attributes: opt(z.array(z.record(z.string(), z.string()))) }))),
          }),
        ),
      ),
      outputs: opt(z.array(z.object({ name: str, description: opt(str) }))),
      engine: opt(z.object({ engine_id: opt(str), engine_name: opt(str), engine_version: opt(str), image_url: opt(str) })),
      parameters_customization: opt(z.boolean()),
    }),
  ),
  resource_requirements: opt(z.array(z.object({ key: opt(str), values: opt(z.array(str)), operator: opt(str) }))),
  advanced_config: opt(z.object({ auto_search: opt(autoSearchSchema) })),
});
export type AlgorithmBody = z.output<typeof algorithmBodySchema>;

export const algorithmsQuerySchema = z.object({
  offset: opt(queryInt(0)),
  limit: opt(queryInt(1, 50)),
  sort_by: opt(str),
  order: opt(z.enum(['asc', 'desc'])),
  group_by: opt(str),
  searches: opt(str),
  workspace_id: opt(str),
});
export type AlgorithmsQuery = z.output<typeof algorithmsQuerySchema>;
