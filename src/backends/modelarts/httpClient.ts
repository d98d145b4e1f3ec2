/**
 * One HTTP client per ModelArts backend: JSON in and out, every request authenticated (AK/SK
 * signature or IAM token), answers parsed with zod into the project's own types (unknown fields
 * tolerated, a missing one reported naming it), throttling and server errors retried with
 * exponential back-off and jitter, honouring Retry-After, for idempotent calls only, a stale
 * request time re-signed once with the server's clock, and cancellation reaching the socket.
 * No secret (SK, token, signature, password) ever appears in an error it throws.
 */
import type { z } from 'zod';
import { CancelledError, errorMessage, issuesFromZod } from '../../core/errors';
import { abortableDelay } from '../../core/events';
import { CredentialsRefusedError, ModelArtsApiError, ProtocolError, ServiceUnreachableError } from './apiErrors';
import { keepAliveFetch } from './keepAliveFetch';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ApiRequest {
  /** The reference's operation name, for messages and logs: `ListTrainingJobs`. */
  readonly operation: string;
  readonly method: HttpMethod;
  /** Absolute URL without query. */
  readonly url: string;
  readonly query?: Readonly<Record<string, string | number | readonly string[] | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Safe to send again after a throttle, a 5xx or a lost connection: GET, PUT, DELETE by default; POST never, unless said. */
  readonly idempotent?: boolean;
  /** False only for the token request itself. */
  readonly authenticate?: boolean;
  readonly signal?: AbortSignal;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** Puts credentials on a request; knows the secrets it must keep out of messages. */
export interface Authenticator {
  /** The headers to send (the given ones plus authentication), for the body bytes given. */
  authorize(request: { method: string; url: URL; headers: Record<string, string>; body: string | undefined }, now: Date): Promise<Record<string, string>>;
  /** The service refused the credentials: true if fresh ones were obtained (an expired token renewed) and the call may be repeated once. */
  renew?(errorCode: string | undefined): Promise<boolean>;
  /** Strings that must never leave the client in a message. */
  secrets(): readonly string[];
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface HttpClientOptions {
  readonly authenticator: Authenticator;
  readonly retry?: Partial<RetryPolicy>;
  /** Per attempt. */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  /** Told of each retry (for the log): never carries a secret. */
  readonly onRetry?: (operation: string, attempt: number, delayMs: number, reason: string) => void;
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
}

const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelayMs: 1000, maxDelayMs: 20_000 };
/** A request time this far from the server's is what APIG refuses; re-sign with the server's clock. */
const SKEW_THRESHOLD_MS = 5 * 60_000;

export class HttpClient {
  private clockOffsetMs = 0;
  private readonly retry: RetryPolicy;
  private readonly doFetch: typeof fetch;

  constructor(private readonly options: HttpClientOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.doFetch = options.fetch ?? keepAliveFetch();
  }

  /** The difference between the server's clock and ours, once a skew was seen. */
  get clockOffset(): number {
    return this.clockOffsetMs;
  }

  /** Sends the request and parses the answer's body with `schema` (undefined for 202/204 without body). */
  async call<S extends z.ZodType>(request: ApiRequest, schema: S): Promise<z.output<S>>;
  async call(request: ApiRequest): Promise<undefined>;
  async call(request: ApiRequest, schema?: z.ZodType): Promise<unknown> {
    const response = await this.send(request);
    if (!schema) return undefined;
    if (response.status === 204 || response.body === undefined) return undefined;
    const parsed = schema.safeParse(response.body);
    if (!parsed.success) {
      const issues = issuesFromZod(parsed.error).map((issue) => `${issue.field || '(the body)'} ${issue.message}`);
      throw new ProtocolError(request.operation, issues.slice(0, 3).join('; '));
    }
    return parsed.data;
  }

  /** Sends the request; resolves with any 2xx answer, throws the error the service meant otherwise. */
  async send(request: ApiRequest): Promise<ApiResponse> {
    const idempotent = request.idempotent ?? request.method !== 'POST';
    let renewed = false;
    let resigned = false;
    for (let attempt = 0; ; attempt += 1) {
      if (request.signal?.aborted) throw new CancelledError(request.operation);
      let failure: Error;
      try {
        const response = await this.attempt(request);
        if (response.status < 400) return response;
        const error = this.errorOf(request, response);
        if (error instanceof CredentialsRefusedError) {
          if (!resigned && this.adoptServerClock(response)) {
            resigned = true;
            continue;
          }
          if (!renewed && request.authenticate !== false && (await this.options.authenticator.renew?.(error.errorCode))) {
            renewed = true;
            continue;
          }
          throw error;
        }
        if (!(error instanceof ModelArtsApiError) || !error.transient || !idempotent) throw error;
        failure = error;
      } catch (error) {
        if (request.signal?.aborted) throw new CancelledError(request.operation);
        if (!(error instanceof ServiceUnreachableError)) throw error;
        if (!idempotent) throw error;
        failure = error;
      }
      if (attempt >= this.retry.retries) throw failure;
      const delay = this.delayBefore(attempt, failure);
      this.options.onRetry?.(request.operation, attempt + 1, delay, failure.message);
      await abortableDelay(delay, request.signal, () => new CancelledError(request.operation));
    }
  }

  private async attempt(request: ApiRequest): Promise<ApiResponse> {
    const url = new URL(request.url);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value === undefined) continue;
      for (const each of Array.isArray(value) ? value : [String(value)]) url.searchParams.append(name, each);
    }
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers: Record<string, string> = { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...request.headers };
    if (this.options.userAgent) headers['User-Agent'] = this.options.userAgent;
    const now = new Date(Date.now() + this.clockOffsetMs);
    const sent = request.authenticate === false ? headers : await this.options.authenticator.authorize({ method: request.method, url, headers, body }, now);
    // fetch sets Host from the URL itself, exactly as it was signed.
    const wire = Object.fromEntries(Object.entries(sent).filter(([name]) => name.toLowerCase() !== 'host'));
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.doFetch(url, { method: request.method, headers: wire, ...(body !== undefined ? { body } : {}), signal, redirect: 'error' });
      text = await response.text();
    } catch (error) {
      if (request.signal?.aborted) throw new CancelledError(request.operation);
      throw new ServiceUnreachableError(this.redact(`${request.operation} could not reach ${url.host}: ${networkReason(error, timeout.aborted)}`));
    }
    let parsed: unknown;
    if (text.trim()) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (response.status < 400) throw new ProtocolError(request.operation, `not JSON (HTTP ${response.status}, ${text.length} characters)`);
        parsed = { error_msg: text.slice(0, 300) };
      }
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  private errorOf(request: ApiRequest, response: ApiResponse): Error {
    const { code, message } = errorBody(response.body);
    const safe = this.redact(message);
    if (response.status === 401 || response.status === 403) {
      const reason = request.authenticate === false ? `IAM refused the user name, password or account name (HTTP ${response.status}${safe ? `: ${safe}` : ''}).` : credentialReason(code, safe, response.status);
      return new CredentialsRefusedError(this.redact(reason), response.status, code);
    }
    return new ModelArtsApiError(request.operation, response.status, code, safe, retryAfterMs(response.headers));
  }

  /** A refused signature whose date was off: take the server's clock from its Date header, once. */
  private adoptServerClock(response: ApiResponse): boolean {
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isNaN(date)) return false;
    const offset = date - Date.now();
    if (Math.abs(offset - this.clockOffsetMs) < SKEW_THRESHOLD_MS) return false;
    this.clockOffsetMs = offset;
    return true;
  }

  private delayBefore(attempt: number, failure: Error): number {
    const exponential = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
    // "Equal jitter": half fixed, half random, so a storm of clients spreads out.
    const jittered = exponential / 2 + (this.options.random ?? Math.random)() * (exponential / 2);
    const asked = failure instanceof ModelArtsApiError ? (failure.retryAfterMs ?? 0) : 0;
    return Math.max(jittered, Math.min(asked, 60_000));
  }

  /** The text with every secret the authenticator holds replaced. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.options.authenticator.secrets()) if (secret.length >= 6) out = out.split(secret).join('[redacted]');
    return out.replace(/Signature=[0-9a-f]{16,}/gi, 'Signature=[redacted]');
  }
}

function errorBody(body: unknown): { code: string | undefined; message: string } {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const nested = record.error && typeof record.error === 'object' ? (record.error as Record<string, unknown>) : undefined;
    const code = record.error_code ?? nested?.code;
    const message = record.error_msg ?? nested?.message ?? '';
    return { code: code === undefined ? undefined : String(code), message: String(message) };
  }
  return { code: undefined, message: '' };
}

function credentialReason(code: string | undefined, message: string, status: number): string {
  if (code === 'APIG.0307' || /token expires|token must be updated/i.test(message)) return 'The ModelArts token has expired; sign in again.';
  if (/ak not exist|secretkey failed/i.test(message)) return 'The access key ID is not known to Huawei Cloud (check the AK).';
  if (/signature/i.test(message) && /expired|time/i.test(message)) return "The request time was refused as too far from the server's clock (check this machine's clock).";
  if (/signature/i.test(message)) return 'The signature was refused: the secret access key (SK) does not match the AK.';
  if (/limit,forbidden|reach the limit/i.test(message)) return 'The access key is locked for five minutes after too many refused signatures.';
  if (/security.?token/i.test(message)) return 'The temporary credentials were refused (security token missing, wrong or expired).';
  if (/token/i.test(message)) return 'The ModelArts token was refused; sign in again.';
  if (code === 'ModelArts.0210' || code === 'ModelArts.2786') return 'The project is not one of these credentials\' projects (check the region and project id).';
  if (status === 403) return `These credentials may not do this on ModelArts (HTTP 403${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}); check the IAM user's permissions.`;
  return `The credentials were refused (HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}).`;
}

function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function networkReason(error: unknown, timedOut: boolean): string {
  if (timedOut) return 'no answer in time';
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = (cause as { code?: string } | undefined)?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'the connection was reset',
    ENOTFOUND: 'the host name is not known',
    ETIMEDOUT: 'the connection timed out',
    UND_ERR_SOCKET: 'the connection was closed',
    EAI_AGAIN: 'the host name could not be looked up',
  };
  return (code && known[code]) ?? errorMessage(cause ?? error);
}

