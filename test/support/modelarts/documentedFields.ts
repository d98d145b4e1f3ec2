/**
 * Finds the fields of a request that the API reference does not document, by walking the request
 * next to the zod schema written from the reference: a key the schema has no place for is
 * undocumented. Such fields are reported, never rejected (ModelArts ignores them), so a test can
 * assert that a client sends none.
 */
import type { z } from 'zod';

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly in?: z.ZodType;
  readonly getter?: () => z.ZodType;
  readonly catchall?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let depth = 0; depth < 20; depth += 1) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else break;
  }
  return current;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

/** Dotted paths (`algorithm.inputs[0].predownload`) of every key in `value` the schema does not describe. */
export function undocumentedFields(schema: z.ZodType, value: unknown, prefix = ''): string[] {
  const found: string[] = [];
  walk(schema, value, prefix, found);
  return found;
}

function walk(schema: z.ZodType, value: unknown, path: string, found: string[]): void {
  const target = unwrap(schema);
  const def = defOf(target);
  switch (def.type) {
    case 'object': {
      if (!isPlainObject(value)) return;
      for (const [key, child] of Object.entries(value)) {
        const described = def.shape?.[key];
        if (described) walk(described, child, join(path, key), found);
        else if (!def.catchall || defOf(def.catchall).type === 'never') found.push(join(path, key));
      }
      return;
    }
    case 'array':
      if (Array.isArray(value) && def.element) value.forEach((item, index) => walk(def.element as z.ZodType, item, `${path}[${index}]`, found));
      return;
    case 'record':
      if (isPlainObject(value) && def.valueType) for (const [key, child] of Object.entries(value)) walk(def.valueType, child, join(path, key), found);
      return;
    case 'union': {
      const options = def.options ?? [];
      const chosen = options.find((option) => option.safeParse(value).success) ?? options.find((option) => defOf(unwrap(option)).type === 'object');
      if (chosen) walk(chosen, value, path, found);
      return;
    }
    default:
      return;
  }
}
