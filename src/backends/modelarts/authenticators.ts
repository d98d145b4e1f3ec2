/**
 * The two ways a ModelArts backend proves who it is: AK/SK signatures (`SDK-HMAC-SHA256`, with a
 * signed `X-Security-Token` for temporary credentials), or an IAM user's token (`POST
 * /v3/auth/tokens`, sent as `X-Auth-Token`, renewed before it expires and once more if the
 * service says it has). Both keep their secrets to themselves and name them for redaction.
 */
import { z } from 'zod';
import { CredentialsRefusedError } from './apiErrors';
import type { ModelArtsCredentials } from './config';
import type { Authenticator, HttpClient } from './httpClient';
import { signRequest } from './signer';

export class AccessKeyAuthenticator implements Authenticator {
  constructor(private readonly credentials: Extract<ModelArtsCredentials, { kind: 'accessKey' }>) {}

  get accessKey(): string {
    return this.credentials.accessKey;
  }

  async authorize(request: { method: string; url: URL; headers: Record<string, string>; body: string | undefined }, now: Date): Promise<Record<string, string>> {
    const { accessKey, secretKey, securityToken } = this.credentials;
    return signRequest({ method: request.method, url: request.url, headers: request.headers, body: request.body }, { accessKey, secretKey, ...(securityToken ? { securityToken } : {}) }, now);
  }

  secrets(): readonly string[] {
    return [this.credentials.secretKey, ...(this.credentials.securityToken ? [this.credentials.securityToken] : [])];
  }
}

const tokenAnswerSchema = z.object({
  token: z.object({
    expires_at: z.string(),
    project: z.object({ id: z.string(), name: z.string().optional() }).optional(),
  }),
});

/** Renew this long before the token's end (tokens live 24 h; IAM may end them sooner). */
const RENEW_BEFORE_MS = 60 * 60_000;

export class TokenAuthenticator implements Authenticator {
  private token: { value: string; expiresAt: number; projectId: string | undefined } | undefined;
  private fetching: Promise<void> | undefined;
  private client: HttpClient | undefined;

  constructor(
    private readonly credentials: Extract<ModelArtsCredentials, { kind: 'password' }>,
    private readonly iamEndpoint: string,
    /** The region (the project name a ModelArts token is scoped to) or a project id. */
    private readonly scope: { readonly projectName: string } | { readonly projectId: string },
    private readonly now: () => number = Date.now,
  ) {}

  /** The client that sends the token request (the backend's own, unauthenticated for that call). */
  attach(client: HttpClient): void {
    this.client = client;
  }

  /** The project the token is scoped to, once a token was issued. */
  get projectId(): string | undefined {
    return this.token?.projectId;
  }

  /** The token issued last, to keep instead of the password when the person does not want it kept. */
  get issued(): Extract<ModelArtsCredentials, { kind: 'token' }> | undefined {
    return this.token && { kind: 'token', token: this.token.value, expiresAt: this.token.expiresAt, ...(this.token.projectId ? { projectId: this.token.projectId } : {}) };
  }

  async authorize(request: { method: string; url: URL; headers: Record<string, string>; body: string | undefined }): Promise<Record<string, string>> {
    if (!this.token || this.token.expiresAt - this.now() < RENEW_BEFORE_MS) await this.issue();
    return { ...request.headers, 'X-Auth-Token': (this.token as { value: string }).value };
  }

  async renew(errorCode: string | undefined): Promise<boolean> {
    if (errorCode !== 'APIG.0307' && errorCode !== 'APIG.0301') return false;
    this.token = undefined;
    await this.issue();
    return true;
  }

  /** One token request at a time; concurrent callers share it. */
  issue(): Promise<void> {
    this.fetching ??= this.request().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  private async request(): Promise<void> {
    if (!this.client) throw new Error('TokenAuthenticator is not attached to a client');
    const { domainName, userName, password } = this.credentials;
    const scope = 'projectId' in this.scope ? { project: { id: this.scope.projectId } } : { project: { name: this.scope.projectName } };
    const response = await this.client.send({
      operation: 'KeystoneCreateUserTokenByPassword',
      method: 'POST',
      url: `${this.iamEndpoint}/v3/auth/tokens`,
      query: { nocatalog: 'true' },
      headers: { 'Content-Type': 'application/json;charset=utf8' },
      body: { auth: { identity: { methods: ['password'], password: { user: { name: userName, password, domain: { name: domainName } } } }, scope } },
      authenticate: false,
      idempotent: true,
    });
    const value = response.headers.get('x-subject-token');
    const answer = tokenAnswerSchema.safeParse(response.body);
    if (!value || !answer.success) throw new Error('IAM issued no token (no X-Subject-Token header or no token.expires_at)');
    const expiresAt = Date.parse(answer.data.token.expires_at);
    this.token = { value, expiresAt: Number.isNaN(expiresAt) ? this.now() + RENEW_BEFORE_MS * 2 : expiresAt, projectId: answer.data.token.project?.id };
  }

  secrets(): readonly string[] {
    return [this.credentials.password, ...(this.token ? [this.token.value] : [])];
  }
}

/** A token kept without its password: sent until it expires, then the backend needs a new sign-in. */
export class StaticTokenAuthenticator implements Authenticator {
  constructor(
    private readonly credentials: Extract<ModelArtsCredentials, { kind: 'token' }>,
    private readonly now: () => number = Date.now,
  ) {}

  get projectId(): string | undefined {
    return this.credentials.projectId;
  }

  async authorize(request: { method: string; url: URL; headers: Record<string, string>; body: string | undefined }): Promise<Record<string, string>> {
    if (this.credentials.expiresAt <= this.now()) {
      throw new CredentialsRefusedError(`The ModelArts token expired at ${new Date(this.credentials.expiresAt).toISOString()}; sign in again (or keep the password to have it renewed).`, 401, 'APIG.0307');
    }
    return { ...request.headers, 'X-Auth-Token': this.credentials.token };
  }

  secrets(): readonly string[] {
    return [this.credentials.token];
  }
}
