/**
 * Authentication of every request but the token request, as the API gateway does it: an AK/SK
 * signature (with security token for temporary credentials, date window and lock-out after
 * repeated failures) or an IAM token; then the project in the URL must be the credentials' project.
 */
import { AUTH_FAILURES, authFailure, modelArtsError } from './errors';
import type { Faults } from './faults';
import type { TokenStore } from './iamApi';
import type { AuthMethod, JournalEntry } from './journal';
import type { ResolvedOptions } from './options';
import { type ArrivedRequest, formatSdkDate, parseAuthorization, parseSdkDate, signatureMatches, signedHeaderMissing } from './signature';

export interface Identity {
  readonly method: Exclude<AuthMethod, 'none'>;
  readonly principal: string;
  /** The IAM user behind the credentials ('' when a key names none). */
  readonly userName: string;
  /** The project a token is scoped to; undefined for AK/SK (any project of the account). */
  readonly tokenProjectId: string | undefined;
  readonly scoped: boolean;
}

interface LockState {
  failures: number;
  lockedUntil: number;
}

export class Authenticator {
  private readonly locks = new Map<string, LockState>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly tokens: TokenStore,
    private readonly faults: Faults,
  ) {}

  authenticate(request: ArrivedRequest, entry: JournalEntry): Identity {
    const authorization = single(request.headers['authorization']);
    if (authorization) return this.akSk(request, authorization, entry);
    const token = single(request.headers['x-auth-token']);
    if (token) return this.token(token);
    throw authFailure('missing', AUTH_FAILURES.missing);
  }

  /** The project id in a ModelArts URL must be the credentials' project (and match X-Project-Id). */
  checkProject(identity: Identity, urlProjectId: string, headerProjectId: string | undefined): void {
    const expected = identity.method === 'token' ? identity.tokenProjectId : this.options.projectId;
    if (urlProjectId !== expected || (headerProjectId !== undefined && headerProjectId !== urlProjectId)) {
      throw modelArtsError(403, 'ModelArts.0210', `The project ID ${urlProjectId} in the URL does not match the project of the credentials.`);
    }
  }

  private akSk(request: ArrivedRequest, authorization: string, entry: JournalEntry): Identity {
    const auth = parseAuthorization(authorization);
    if (!auth) throw authFailure('malformed', AUTH_FAILURES.signature);
    entry.principal = auth.accessKey;
    const key = this.options.accessKeys.find((k) => k.ak === auth.accessKey);
    if (!key) throw authFailure('unknown-ak', AUTH_FAILURES.unknownAk(auth.accessKey));
    const now = this.faults.now();
    const lock = this.locks.get(key.ak);
    if (lock && lock.lockedUntil > now) throw authFailure('locked', AUTH_FAILURES.locked);

    for (const required of ['host', 'x-sdk-date']) {
      if (!auth.signedHeaders.includes(required)) throw authFailure('unsigned-header', AUTH_FAILURES.unsignedHeader(required));
    }
    if (signedHeaderMissing(auth, request)) throw authFailure('malformed', AUTH_FAILURES.signature);
    const sdkDate = single(request.headers['x-sdk-date']) ?? '';
    const signedAt = parseSdkDate(sdkDate);
    if (signedAt === undefined) throw authFailure('malformed', AUTH_FAILURES.signature);

    if (this.faults.clockSkewMs !== 0) {
      entry.faults.push('clock-skew');
      this.faults.recordSkew(request.method, request.rawPath, entry.operation);
    }
    if (Math.abs(now - signedAt) > this.options.timing.maxClockSkewMs) {
      throw authFailure('stale-date', AUTH_FAILURES.staleDate(sdkDate, formatSdkDate(now)));
    }
    if (!signatureMatches(request, auth, key.sk, sdkDate)) {
      this.countFailure(key.ak, now);
      throw authFailure('signature', AUTH_FAILURES.signature);
    }
    if (key.securityToken !== undefined) {
      const sent = single(request.headers['x-security-token']);
      if (sent !== key.securityToken || !auth.signedHeaders.includes('x-security-token')) {
        throw authFailure('security-token', AUTH_FAILURES.securityToken);
      }
      if (key.expiresAt !== undefined && key.expiresAt <= now) throw authFailure('security-token-expired', AUTH_FAILURES.securityTokenExpired);
    }
    this.locks.delete(key.ak);
    return { method: 'aksk', principal: key.ak, userName: key.userName ?? '', tokenProjectId: undefined, scoped: true };
  }

  private token(value: string): Identity {
    const issued = this.tokens.find(value);
    if (!issued) throw authFailure('bad-token', AUTH_FAILURES.badToken);
    if (issued.expiresAt <= this.faults.now()) throw authFailure('expired-token', 'The token must be updated.', 'APIG.0307');
    return { method: 'token', principal: issued.userName, userName: issued.userName, tokenProjectId: issued.projectId, scoped: issued.projectId !== undefined };
  }

  private countFailure(ak: string, now: number): void {
    if (!this.options.akLockout) return;
    const state = this.locks.get(ak) ?? { failures: 0, lockedUntil: 0 };
    state.failures += 1;
    if (state.failures >= this.options.akLockout.failures) {
      state.lockedUntil = now + this.options.akLockout.durationMs;
      state.failures = 0;
    }
    this.locks.set(ak, state);
  }
}

export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
