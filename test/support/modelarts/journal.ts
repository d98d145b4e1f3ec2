/**
 * The journal of the contract server: one entry per request, kept for assertions. Rejections
 * (validation issues, authentication failures) and undocumented fields are kept apart, so a test
 * can tell "the server refused X" from "the client sent a field the reference does not know".
 */
import type { AuthFailureReason } from './errors';
import type { FaultKind } from './faults';

export type AuthMethod = 'aksk' | 'token' | 'none';

export interface ValidationIssue {
  /** Dotted field path (`body.metadata.name`, `query.limit`). */
  readonly field: string;
  readonly message: string;
}

export interface JournalEntry {
  readonly seq: number;
  /** Epoch ms (real clock) the request arrived. */
  readonly time: number;
  readonly method: string;
  /** Path without the query, as sent. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | readonly string[]>>;
  /** Header names lower-cased, as Node received them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly rawBody: string;
  /** The parsed JSON body, or undefined when there was none (or it was not JSON). */
  body: unknown;
  /** The reference's name of the operation (`CreateTrainingJob`), or undefined for an unknown path. */
  operation: string | undefined;
  auth: AuthMethod;
  /** Access key or IAM user name the request authenticated as. */
  principal: string | undefined;
  authFailure: AuthFailureReason | undefined;
  readonly validationIssues: ValidationIssue[];
  /** Fields the reference does not document (`body.algorithm.foo`, `query.bar`); never a cause of rejection. */
  readonly undocumentedFields: string[];
  /** Faults injected into this request (clock-skew: the request was judged by a skewed clock). */
  readonly faults: FaultKind[];
  /** HTTP status answered; 0 when the connection was reset instead. */
  status: number | undefined;
  errorCode: string | undefined;
  responseBody: unknown;
  durationMs: number | undefined;
}

export interface EntryMatch {
  readonly method?: string;
  /** Exact path, or a pattern. */
  readonly path?: string | RegExp;
  readonly operation?: string;
  readonly status?: number;
}

export function matchesRequest(match: EntryMatch, method: string, path: string, operation: string | undefined): boolean {
  if (match.method && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match.operation && match.operation !== operation) return false;
  if (typeof match.path === 'string' && match.path !== path) return false;
  if (match.path instanceof RegExp && !match.path.test(path)) return false;
  return true;
}

export class Journal {
  private readonly list: JournalEntry[] = [];
  private seq = 0;

  begin(init: Pick<JournalEntry, 'method' | 'path' | 'query' | 'headers' | 'rawBody'>): JournalEntry {
    const entry: JournalEntry = {
      ...init,
      seq: ++this.seq,
      time: Date.now(),
      body: undefined,
      operation: undefined,
      auth: 'none',
      principal: undefined,
      authFailure: undefined,
      validationIssues: [],
      undocumentedFields: [],
      faults: [],
      status: undefined,
      errorCode: undefined,
      responseBody: undefined,
      durationMs: undefined,
    };
    this.list.push(entry);
    return entry;
  }

  /** Every request so far, oldest first. */
  get entries(): readonly JournalEntry[] {
    return [...this.list];
  }

  /** Requests matching method, path and/or operation (and status, if given). */
  filter(match: EntryMatch = {}): JournalEntry[] {
    return this.list.filter(
      (entry) => matchesRequest(match, entry.method, entry.path, entry.operation) && (match.status === undefined || entry.status === match.status),
    );
  }

  /** Requests of one operation, e.g. `requestsTo('ListTrainingJobs')`. */
  requestsTo(operation: string): JournalEntry[] {
    return this.filter({ operation });
  }

  last(match: EntryMatch = {}): JournalEntry | undefined {
    return this.filter(match).at(-1);
  }

  /** Requests that carried at least one field the reference does not document. */
  withUndocumentedFields(): JournalEntry[] {
    return this.list.filter((entry) => entry.undocumentedFields.length > 0);
  }

  /** `METHOD path: field` for every undocumented field sent, for a readable assertion message. */
  undocumentedFieldReport(): string[] {
    return this.list.flatMap((entry) => entry.undocumentedFields.map((field) => `${entry.method} ${entry.path}: ${field}`));
  }

  /** Requests refused for their input (schema or semantic validation). */
  withValidationIssues(): JournalEntry[] {
    return this.list.filter((entry) => entry.validationIssues.length > 0);
  }

  /** Requests answered with an error status (4xx/5xx) or a reset. */
  rejected(): JournalEntry[] {
    return this.list.filter((entry) => entry.status !== undefined && (entry.status === 0 || entry.status >= 400));
  }

  /** Requests a fault was injected into. */
  withFaults(kind?: FaultKind): JournalEntry[] {
    return this.list.filter((entry) => (kind ? entry.faults.includes(kind) : entry.faults.length > 0));
  }

  clear(): void {
    this.list.length = 0;
  }
}
