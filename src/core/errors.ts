/** Errors every layer can throw and the UI can explain. */
import type { z } from 'zod';

export interface FieldIssue {
  /** Dotted path of the offending field as a user writes it, e.g. `algorithm.parameters[0].name`. */
  readonly field: string;
  readonly message: string;
}

export class ModelArtsError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input that does not fit: one or more fields, each named with what is allowed. */
export class InvalidInputError extends ModelArtsError {
  constructor(
    /** What was being validated, e.g. "Training job spec" or "Setting modelarts.local.dockerHost". */
    readonly subject: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(`${subject} is invalid: ${issues.map(formatIssue).join('; ')}`, 'ModelArts.InvalidInput');
  }

  get fields(): string[] {
    return this.issues.map((issue) => issue.field);
  }
}

function formatIssue(issue: FieldIssue): string {
  return issue.field ? `${issue.field}: ${issue.message}` : issue.message;
}

export class NotFoundError extends ModelArtsError {
  constructor(
    readonly kind: 'job' | 'algorithm' | 'dataset' | 'engine' | 'task' | 'output',
    readonly id: string,
  ) {
    super(`No ${kind} "${id}" exists (it may have been deleted).`, 'ModelArts.NotFound');
  }
}

/** An action the object's current state does not allow (stop a finished job, delete a running one). */
export class InvalidStateError extends ModelArtsError {
  constructor(message: string) {
    super(message, 'ModelArts.InvalidState');
  }
}

export class EngineUnavailableError extends ModelArtsError {
  constructor(
    readonly engine: string,
    reason: string,
  ) {
    super(`The ${engine} engine is not reachable: ${reason}`, 'ModelArts.EngineUnavailable');
  }
}

/** The user or a caller cancelled; shown to nobody. */
export class CancelledError extends ModelArtsError {
  constructor(what = 'Operation') {
    super(`${what} was cancelled.`, 'ModelArts.Cancelled');
  }
}

export function isCancellation(error: unknown): boolean {
  return (
    error instanceof CancelledError ||
    (error instanceof Error && (error.name === 'AbortError' || error.name === 'Canceled'))
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Formats a zod path the way users write fields: `a.b[0].c`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Turns zod issues into field issues, naming unknown keys individually. */
export function issuesFromZod(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ field: fieldPath([...path, key]), message: 'is not a known field (check its spelling)' });
      }
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Report the branch that got furthest rather than "invalid input".
      const best = [...issue.errors].sort((a, b) => deepest(b) - deepest(a))[0] ?? [];
      const nested = best.map((inner) => ({ ...inner, path: [...path, ...inner.path] }));
      issues.push(...issuesFromZod({ issues: nested } as unknown as z.ZodError));
    } else {
      issues.push({ field: fieldPath(path), message: issue.message });
    }
  }
  return issues;
}

function deepest(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((issue) => issue.path.length));
}

export function invalidInput(subject: string, error: z.ZodError, prefix: readonly PropertyKey[] = []): InvalidInputError {
  return new InvalidInputError(subject, issuesFromZod(error, prefix));
}
