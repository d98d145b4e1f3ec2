/**
 * The IAM part of the contract server: password tokens (`POST /v3/auth/tokens`, the one call
 * that needs no authentication) and the project lookup a client does to find its project id
 * (`GET /v3/projects?name=<region>`). Issued tokens are kept here so requests can be checked.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type ApiResponse, iamError } from './errors';
import type { ResolvedOptions } from './options';

export interface IssuedToken {
  readonly token: string;
  readonly userName: string;
  readonly userId: string;
  /** Undefined for a domain-scoped token. */
  readonly projectId: string | undefined;
  readonly issuedAt: number;
  expiresAt: number;
}

const scopeRef = z.object({ id: z.string().optional(), name: z.string().optional() });

export const tokenRequestSchema = z.object({
  auth: z.object({
    identity: z.object({
      methods: z.array(z.string()).min(1),
      password: z
        .object({
          user: z.object({
            id: z.string().optional(),
            name: z.string().optional(),
            password: z.string(),
            domain: scopeRef.optional(),
          }),
        })
        .optional(),
    }),
    scope: z.object({ project: scopeRef.optional(), domain: scopeRef.optional() }).optional(),
  }),
});
export type TokenRequest = z.output<typeof tokenRequestSchema>;

export const tokenQuerySchema = z.object({ nocatalog: z.enum(['true', 'false']).optional() });
export const projectsQuerySchema = z.object({ name: z.string().optional() });

/** IAM writes times with microseconds: 2020-01-04T09:05:22.701000Z. */
export function iamTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class TokenStore {
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(private readonly options: ResolvedOptions) {}

  issue(userName: string, userId: string, projectId: string | undefined, now: number): IssuedToken {
    // Real tokens are long PKI blobs starting with "MII"; clients must not assume a size.
    const token = `MII${randomBytes(384).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
    const issued: IssuedToken = { token, userName, userId, projectId, issuedAt: now, expiresAt: now + this.options.timing.tokenLifetimeMs };
    this.tokens.set(token, issued);
    return issued;
  }

  find(token: string): IssuedToken | undefined {
    return this.tokens.get(token);
  }

  /** Makes every token issued so far expired (a test of token renewal). */
  expireAll(now: number): void {
    for (const token of this.tokens.values()) token.expiresAt = Math.min(token.expiresAt, now - 1);
  }
}

const unauthorized = () => iamError(401, 'Unauthorized', 'The username or password is wrong.');

function userIdOf(name: string): string {
  return Buffer.from(name).toString('hex').padEnd(32, '0').slice(0, 32);
}

export function createToken(
  options: ResolvedOptions,
  tokens: TokenStore,
  request: TokenRequest,
  nocatalog: boolean,
  serverUrl: string,
  now: number,
): ApiResponse {
  const { identity, scope } = request.auth;
  if (!identity.methods.includes('password') || !identity.password) {
    throw iamError(400, 'Bad Request', `Unsupported authentication methods: ${identity.methods.join(', ')}. This server issues password tokens.`);
  }
  const { user } = identity.password;
  const domain = user.domain;
  if (domain && domain.name !== undefined && domain.name !== options.domain.name) throw unauthorized();
  if (domain && domain.id !== undefined && domain.id !== options.domain.id) throw unauthorized();
  const known = options.users.find((u) => (user.name !== undefined ? u.name === user.name : (u.id ?? userIdOf(u.name)) === user.id));
  if (!known || known.password !== user.password || (user.name !== undefined && !domain)) throw unauthorized();

  let projectId: string | undefined;
  if (scope?.project) {
    const matches = scope.project.id !== undefined ? scope.project.id === options.projectId : scope.project.name === options.projectName;
    if (!matches) throw iamError(400, 'Bad Request', `Project ${scope.project.id ?? scope.project.name ?? ''} could not be found.`);
    projectId = options.projectId;
  } else if (!scope?.domain) {
    throw iamError(400, 'Bad Request', 'A scope (project or domain) is required.');
  }

  const userId = known.id ?? userIdOf(known.name);
  const issued = tokens.issue(known.name, userId, projectId, now);
  const domainRef = { id: options.domain.id, name: options.domain.name };
  const body = {
    token: {
      expires_at: iamTime(issued.expiresAt),
      issued_at: iamTime(issued.issuedAt),
      methods: ['password'],
      ...(projectId ? { project: { id: projectId, name: options.projectName, domain: domainRef } } : { domain: domainRef }),
      user: { id: userId, name: known.name, domain: domainRef, password_expires_at: '' },
      roles: [{ id: randomUUID().replace(/-/g, ''), name: 'te_admin' }],
      ...(nocatalog ? {} : { catalog: catalog(options, serverUrl) }),
    },
  };
  return { status: 201, headers: { 'X-Subject-Token': issued.token }, body };
}

function catalog(options: ResolvedOptions, serverUrl: string) {
  return ['modelarts', 'iam'].map((type) => ({
    id: `${type}-${options.region}`,
    name: type,
    type,
    endpoints: [{ id: `${type}-${options.region}-public`, interface: 'public', region: options.region, region_id: options.region, url: serverUrl }],
  }));
}

export function listProjects(options: ResolvedOptions, name: string | undefined, serverUrl: string): ApiResponse {
  const self = `${serverUrl}/v3/projects${name !== undefined ? `?name=${encodeURIComponent(name)}` : ''}`;
  const project = {
    id: options.projectId,
    name: options.projectName,
    domain_id: options.domain.id,
    enabled: true,
    description: '',
    parent_id: options.domain.id,
    is_domain: false,
    links: { self: `${serverUrl}/v3/projects/${options.projectId}` },
  };
  const projects = name === undefined || name === options.projectName ? [project] : [];
  return { status: 200, body: { projects, links: { self, previous: null, next: null } } };
}
