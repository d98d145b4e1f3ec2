/**
 * Error answers of the contract server, in the three shapes a ModelArts client meets: the API
 * gateway's (`APIG.xxxx` with a request id), ModelArts' own (`ModelArts.xxxx`) and IAM's.
 * Handlers throw an ApiError; the server turns it into the HTTP answer.
 */
import { randomBytes } from 'node:crypto';

export interface ApiResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** JSON value, a raw string/Buffer (sent as is), or undefined for an empty body. */
  readonly body?: unknown;
  /** The error code this answer stands for, for the journal (also for bodiless 204s). */
  readonly errorCode?: string;
}

export class ApiError extends Error {
  constructor(
    readonly response: ApiResponse,
    /** The request field at fault, when one is. */
    readonly field?: string,
  ) {
    super(`${response.status} ${response.errorCode ?? ''}`.trim());
    this.name = 'ApiError';
  }
}

export function requestId(): string {
  return randomBytes(16).toString('hex');
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, body, headers };
}

/** An empty answer: ModelArts' "No Content" replies to delete and update. */
export function empty(status: number): ApiResponse {
  return { status };
}

export function modelArtsError(status: number, code: string, message: string, solution?: string): ApiError {
  return new ApiError({
    status,
    errorCode: code,
    body: { error_code: code, error_msg: message, ...(solution ? { error_solution: solution } : {}) },
  });
}

export function apigError(status: number, code: string, message: string, headers: Record<string, string> = {}): ApiError {
  return new ApiError({
    status,
    errorCode: code,
    headers,
    body: { error_msg: message, error_code: code, request_id: requestId() },
  });
}

/** IAM speaks Keystone's error shape. */
export function iamError(status: number, title: string, message: string): ApiError {
  return new ApiError({ status, errorCode: `IAM.${status}`, body: { error: { code: status, title, message } } });
}

/** A bodiless "not ready yet" answer (log or metrics of a task that has not started). */
export function notReady(code: string): ApiError {
  return new ApiError({ status: 204, errorCode: code });
}

const IAM_AUTH = 'Incorrect IAM authentication information';

/** The gateway's authentication refusals, by reason; the reason is kept in the journal. */
export const AUTH_FAILURES = {
  missing: `${IAM_AUTH}: x-auth-token not found`,
  signature: `${IAM_AUTH}: verify aksk signature fail`,
  unknownAk: (ak: string) => `${IAM_AUTH}: Get secretKey failed,ak:${ak},err:ak not exist`,
  staleDate: (signed: string, server: string) =>
    `${IAM_AUTH}: verify aksk signature fail, signature expired, signature time:${signed}, server time:${server}`,
  unsignedHeader: (name: string) => `${IAM_AUTH}: verify aksk signature fail, header ${name} must be signed`,
  securityToken: `${IAM_AUTH}: verify aksk signature fail, security token invalid`,
  securityTokenExpired: `${IAM_AUTH}: token expires`,
  locked: `${IAM_AUTH}: AK access failed to reach the limit,forbidden`,
  badToken: `${IAM_AUTH}: decrypt token fail`,
} as const;

export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'signature'
  | 'unknown-ak'
  | 'stale-date'
  | 'unsigned-header'
  | 'security-token'
  | 'security-token-expired'
  | 'locked'
  | 'bad-token'
  | 'expired-token';

export class AuthError extends ApiError {
  constructor(
    readonly reason: AuthFailureReason,
    response: ApiResponse,
  ) {
    super(response);
  }
}

export function authFailure(reason: AuthFailureReason, message: string, code = 'APIG.0301'): AuthError {
  return new AuthError(reason, { status: 401, errorCode: code, body: { error_msg: message, error_code: code, request_id: requestId() } });
}

/** ModelArts' invalid-parameter answer, naming the field. */
export function invalidParameter(field: string, problem: string): ApiError {
  const message = `Invalid parameter ${field}: ${problem}`;
  return new ApiError({ status: 400, errorCode: 'ModelArts.2788', body: { error_code: 'ModelArts.2788', error_msg: message } }, field);
}

export function jobNotFound(id: string): ApiError {
  return modelArtsError(400, 'ModelArts.2775', `Training job ${id} not found.`);
}

export function algorithmNotFound(id: string): ApiError {
  return modelArtsError(400, 'ModelArts.2755', `algorithm ${id} not found.`, 'Check whether the training project information in the request is valid.');
}

export function unknownApi(): ApiError {
  return apigError(404, 'APIG.0101', 'The API does not exist or has not been published in the environment');
}
