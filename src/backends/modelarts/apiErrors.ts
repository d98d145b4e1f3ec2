/**
 * What ModelArts and its gateway answer when a call fails, in plain words. Error bodies
 * (`{error_code, error_msg}`) become sentences that name the field or the resource; codes not
 * mapped here are shown verbatim with the HTTP status. Authentication failures, unreachable
 * services and answers of the wrong shape are errors of their own, so the backend can move to
 * `needsCredentials` or `unavailable` with the reason.
 */
import { ModelArtsError } from '../../core/errors';

/** ModelArts (and gateway) codes a training client meets, in the user's terms. */
const PLAIN_WORDS: Readonly<Record<string, string>> = {
  'ModelArts.2775': 'the training job does not exist (it may have been deleted)',
  'ModelArts.2755': 'the algorithm does not exist (it may have been deleted)',
  'ModelArts.2787': 'the request body is not JSON',
  'ModelArts.2780': 'the preset engine is not offered in this region',
  'ModelArts.2781': 'the flavor is not offered in this region',
  'ModelArts.2763': 'no flavor was given',
  'ModelArts.2793': 'more nodes than the flavor allows',
  'ModelArts.2757': 'the code folder (code_dir) is not a valid OBS folder',
  'ModelArts.2758': 'the boot file is missing from the code folder or is not a .py file',
  'ModelArts.2791': 'an OBS path is malformed',
  'ModelArts.2753': 'an input or output channel is invalid',
  'ModelArts.2806': 'a custom image needs a command',
  'ModelArts.2810': "the image is not in this region's SWR",
  'ModelArts.2789': 'a search filter is not supported',
  'ModelArts.2790': 'a sort key is not supported',
  'ModelArts.2812': 'only "terminate" is an action on a training job',
  'ModelArts.2796': 'the job cannot be stopped in its current phase',
  'ModelArts.2818': 'the log does not exist yet',
  'ModelArts.2819': 'the log was cleared (logs are kept 30 days)',
  'ModelArts.2799': 'too many requests: ModelArts is throttling this account',
  'ModelArts.0010': 'ModelArts had an internal error',
  'ModelArts.0210': 'the project does not belong to these credentials',
  'ModelArts.2786': 'the project does not belong to these credentials',
  'ModelArts.50004000': 'the events query is invalid',
  'APIG.0101': 'the API does not exist (check the ModelArts endpoint)',
  'APIG.0301': 'the credentials were refused',
  'APIG.0307': 'the token has expired',
  'APIG.0308': 'too many requests: the API gateway is throttling this account',
};

/** A call the service answered with an error. */
export class ModelArtsApiError extends ModelArtsError {
  constructor(
    /** The reference's operation name, e.g. CreateTrainingJob. */
    readonly operation: string,
    readonly status: number,
    readonly errorCode: string | undefined,
    /** The service's own text (already free of secrets). */
    readonly serviceMessage: string,
    readonly retryAfterMs?: number,
  ) {
    super(describeApiError(operation, status, errorCode, serviceMessage), errorCode ?? `HTTP.${status}`);
  }

  /** A throttling or server-side failure: worth another try for an idempotent call. */
  get transient(): boolean {
    return this.status === 429 || this.status >= 500 || this.errorCode === 'APIG.0308' || this.errorCode === 'ModelArts.2799';
  }

  get notFound(): boolean {
    return this.errorCode === 'ModelArts.2775' || this.errorCode === 'ModelArts.2755';
  }
}

/** The credentials were refused or have expired: nothing works until new ones are given. */
export class CredentialsRefusedError extends ModelArtsError {
  constructor(
    reason: string,
    readonly status: number,
    readonly errorCode: string | undefined,
  ) {
    super(reason, 'ModelArts.CredentialsRefused');
  }
}

/** The service could not be reached (DNS, connection refused or reset, TLS, a timeout). */
export class ServiceUnreachableError extends ModelArtsError {
  constructor(reason: string) {
    super(reason, 'ModelArts.Unreachable');
  }
}

/** The service answered something that is not what the reference documents. */
export class ProtocolError extends ModelArtsError {
  constructor(operation: string, problem: string) {
    super(`ModelArts answered ${operation} with an unexpected body: ${problem}`, 'ModelArts.Protocol');
  }
}

export function describeApiError(operation: string, status: number, errorCode: string | undefined, serviceMessage: string): string {
  const words = errorCode ? PLAIN_WORDS[errorCode] : undefined;
  const detail = serviceMessage.trim();
  if (words) return `ModelArts refused ${operation}: ${words}${detail ? ` (${errorCode}: ${detail})` : ` (${errorCode})`}.`;
  if (errorCode) return `ModelArts refused ${operation} with HTTP ${status} ${errorCode}${detail ? `: ${detail}` : ''}.`;
  return `ModelArts answered ${operation} with HTTP ${status}${detail ? `: ${detail}` : ''}.`;
}

/** The field a 2788 ("invalid parameter") message names, when it names one. */
export function fieldOfInvalidParameter(message: string): string | undefined {
  return /(?:parameter|field)\s*[:[(]?\s*["']?([A-Za-z_][\w.[\]]*)/i.exec(message)?.[1];
}
