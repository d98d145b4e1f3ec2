/**
 * JSON Schemas for the editor (package.json `jsonValidation`), generated from the zod request
 * schemas so completion and squiggles never drift from what the commands accept. The generated
 * files are committed under media/schemas; a unit test keeps them equal to this output
 * (`node scripts/generate-schemas.mjs` rewrites them).
 */
import { z } from 'zod';
import { algorithmCreateRequestSchema } from './algorithm';
import { jobCreateRequestSchema } from './job';
import { launchAttributesSchema } from './launchConfig';

type JsonSchema = Record<string, unknown>;

/** The request side (`io: 'input'`): numbers allowed where a transform makes strings, defaults optional. */
function requestJsonSchema(schema: z.ZodType, title: string, description: string): JsonSchema {
  const generated = z.toJSONSchema(schema, { io: 'input', override: addPatternMessage });
  return { ...generated, title, description };
}

/** VS Code shows `patternErrorMessage` instead of the bare regex; reuse the message zod gives. */
function addPatternMessage(ctx: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  const checks = (ctx.zodSchema as { _zod?: { def?: { checks?: Array<{ _zod: { def: { format?: string; error?: unknown } } }> } } })._zod?.def?.checks ?? [];
  for (const check of checks) {
    const { format, error } = check._zod.def;
    if (format !== 'regex' || typeof error !== 'function') continue;
    const message: unknown = error({ code: 'invalid_format', format: 'regex', input: '' });
    if (typeof message === 'string') ctx.jsonSchema.patternErrorMessage = message;
  }
}

export function algorithmJsonSchema(): JsonSchema {
  return requestJsonSchema(
    algorithmCreateRequestSchema,
    'ModelArts algorithm',
    'An algorithm as modelarts.algorithms.create and modelarts.algorithms.edit take it: metadata and job_config (code folder, boot file, engine, hyperparameters, inputs and outputs).',
  );
}

export function jobJsonSchema(): JsonSchema {
  const schema = requestJsonSchema(
    jobCreateRequestSchema,
    'ModelArts training job',
    'A training job spec in the ModelArts v2 shape, as modelarts.jobs.create takes it.',
  );
  // A spec file may say where it runs; the field is read by the editor, not sent.
  const properties = (schema as { properties?: Record<string, unknown> }).properties;
  if (properties) {
    properties.backend = { type: 'string', description: 'The backend the job runs on when it is created from this file: "local", or a ModelArts account such as "modelarts:cn-north-4:<project id>". Not part of the job sent.' };
  }
  return schema;
}

/**
 * The attributes of a `modelarts` launch configuration, as package.json's
 * `debuggers[0].configurationAttributes.launch` holds them (launch.json completion and squiggles).
 */
export function launchJsonSchema(): JsonSchema {
  const { $schema: _ignored, additionalProperties: _open, ...schema } = z.toJSONSchema(launchAttributesSchema, { io: 'input', override: addPatternMessage }) as JsonSchema;
  return schema;
}

/** Where package.json holds the launch attributes' schema. */
export const PACKAGE_JSON_LAUNCH_SCHEMA = ['contributes', 'debuggers', 0, 'configurationAttributes', 'launch'] as const;

/** Each committed schema file (relative to the extension root) and what it must hold. */
export const GENERATED_SCHEMA_FILES: Readonly<Record<string, () => JsonSchema>> = {
  'media/schemas/algorithm.schema.json': algorithmJsonSchema,
  'media/schemas/job.schema.json': jobJsonSchema,
};

export function formatJsonSchema(schema: JsonSchema): string {
  return JSON.stringify(schema, null, 2) + '\n';
}
