/**
 * A saved algorithm as an editable JSON document: exactly the request `updateAlgorithm` takes
 * (metadata and job_config), so what a user saves is validated by the same schema as a create.
 */
import { parseAlgorithmCreateRequest, type Algorithm, type ValidAlgorithmCreateRequest } from './algorithm';
import { InvalidInputError } from './errors';

/** The update request that leaves the algorithm as it is; empty lists are kept so users see where to add. */
export function algorithmEditRequest(algorithm: Algorithm): ValidAlgorithmCreateRequest {
  const { metadata, job_config: config } = algorithm;
  return structuredClone({
    metadata: { name: metadata.name, ...(metadata.description ? { description: metadata.description } : {}) },
    job_config: {
      ...(config.code_dir ? { code_dir: config.code_dir } : {}),
      ...(config.boot_file ? { boot_file: config.boot_file } : {}),
      ...(config.command !== undefined ? { command: config.command } : {}),
      engine: withoutUndefined(config.engine),
      parameters: config.parameters.map(withoutUndefined),
      inputs: config.inputs.map(withoutUndefined),
      outputs: config.outputs.map(withoutUndefined),
      parameters_customization: config.parameters_customization,
      ...(config.working_dir !== undefined ? { working_dir: config.working_dir } : {}),
      environments: config.environments,
    },
  });
}

export function formatAlgorithmDocument(algorithm: Algorithm): string {
  return JSON.stringify(algorithmEditRequest(algorithm), null, 2) + '\n';
}

/** Parses a saved document, throwing InvalidInputError naming the field (or the line of a syntax error). */
export function parseAlgorithmDocument(text: string): ValidAlgorithmCreateRequest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError('Algorithm', [{ field: '', message: `is not valid JSON${jsonErrorLocation(text, error)}: ${(error as Error).message}` }]);
  }
  return parseAlgorithmCreateRequest(value);
}

/** " (line L, column C)" from V8's "at position N", so the user finds the mistake. */
function jsonErrorLocation(text: string, error: unknown): string {
  const position = /position (\d+)/.exec(String((error as Error)?.message))?.[1];
  if (position === undefined) return '';
  const before = text.slice(0, Number(position)).split('\n');
  return ` (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
