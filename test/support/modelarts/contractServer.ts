/**
 * The ModelArts contract server: a stand-in for ModelArts Standard's REST API v2 (training jobs,
 * algorithms, catalogs) and the IAM calls a client needs, on 127.0.0.1 over plain http. Every
 * request is journalled, authenticated as the API gateway would, validated against schemas
 * written from the public API reference, and may meet an injected fault; jobs run for real in
 * Docker with code and data from the S3 test server standing in for OBS.
 *
 *   const server = await startModelArtsContractServer({ timing: { deleteDelayMs: 500 } });
 *   // sign requests with DEFAULT_ACCESS_KEY against server.url, then read server.journal
 *   await server.stop();
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { z } from 'zod';
import { ensureS3Server } from '../s3Server';
import { AlgorithmStore } from './algorithmsApi';
import { Authenticator, single } from './auth';
import { undocumentedFields } from './documentedFields';
import { type ApiResponse, ApiError, AuthError, apigError, modelArtsError, requestId, unknownApi } from './errors';
import { Faults, type FaultRule } from './faults';
import { TokenStore } from './iamApi';
import { JobRunner } from './jobRunner';
import { TrainingJobs } from './jobsApi';
import { Journal, type JournalEntry } from './journal';
import { Obs } from './obs';
import { type AccessKeyOption, type ContractServerOptions, type IamUserOption, resolveOptions } from './options';
import { type ErrorStyle, type Route, buildRoutes, matchRoute, validationError } from './routes';
import { TaskLogs } from './taskLogs';

export interface ModelArtsContractServer {
  /** `http://127.0.0.1:<port>`: the ModelArts endpoint and the IAM endpoint alike. */
  readonly url: string;
  readonly region: string;
  readonly projectId: string;
  readonly projectName: string;
  readonly domain: { readonly id: string; readonly name: string };
  readonly accessKeys: readonly AccessKeyOption[];
  readonly users: readonly IamUserOption[];
  readonly journal: Journal;
  readonly faults: Faults;
  /** Value of the server label on its containers and networks. */
  readonly serverId: string;
  /** Every IAM token issued so far expires now. */
  expireTokens(): void;
  /** Ids of the jobs the server holds (deleted ones until their delay has passed). */
  jobIds(): string[];
  /**
   * Test support: adds `count` finished (Completed) jobs without running them, for long lists;
   * returns their ids, oldest first. Their fields are listed in the README (Options).
   */
  seedJobs(count: number): string[];
  /** Ends all jobs, removes every container and network it made and its files, closes the port. */
  stop(): Promise<void>;
}

const MAX_BODY = 16 * 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {};
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name);
    record[name] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return record;
}

function headerRecord(headers: http.IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
}

/** JSON null means "not given" to ModelArts' backends; zod then sees the field as absent. */
function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, stripNulls(v)]));
  }
  return value;
}

function fieldPath(parts: readonly PropertyKey[]): string {
  return parts.reduce<string>((text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)), '');
}

function validate(schema: z.ZodType, value: unknown, prefix: 'body' | 'query', style: ErrorStyle, entry: JournalEntry): unknown {
  const result = schema.safeParse(stripNulls(value));
  if (result.success) return result.data;
  for (const issue of result.error.issues) entry.validationIssues.push({ field: [prefix, fieldPath(issue.path)].filter(Boolean).join('.'), message: issue.message });
  const first = result.error.issues[0];
  throw validationError(style, fieldPath(first?.path ?? []) || prefix, first?.message ?? 'is invalid');
}

/** Refusals of the input itself (not lookups of things that do not exist, nor authentication). */
const NOT_VALIDATION = new Set(['ModelArts.2775', 'ModelArts.2755', 'ModelArts.2818']);

function faultResponse(rule: FaultRule): ApiResponse | undefined {
  if (rule.kind === 'throttle') {
    const headers: Record<string, string> = rule.retryAfterSeconds !== undefined ? { 'Retry-After': String(rule.retryAfterSeconds) } : {};
    return apigError(429, 'APIG.0308', 'The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute', headers).response;
  }
  if (rule.kind === 'server-error') {
    const code = rule.errorCode ?? 'ModelArts.0010';
    const message = rule.errorMsg ?? 'Internal server error.';
    return (code.startsWith('APIG.') ? apigError(rule.status ?? 500, code, message) : modelArtsError(rule.status ?? 500, code, message)).response;
  }
  return undefined;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startModelArtsContractServer(options: ContractServerOptions = {}): Promise<ModelArtsContractServer> {
  const resolved = resolveOptions(options);
  const serverId = randomBytes(4).toString('hex');
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-contract-'));
  const docker = options.docker ?? new Docker();
  const journal = new Journal();
  const faults = new Faults();
  const tokens = new TokenStore(resolved);
  const authenticator = new Authenticator(resolved, tokens, faults);
  const obs = new Obs(options.obs ?? ensureS3Server);
  const logs = new TaskLogs(resolved.logPreviewBytes, resolved.timing.logUrlTtlMs);
  const runner = new JobRunner({ docker, obs, options: resolved, serverId, dataDir });
  const algorithms = new AlgorithmStore(resolved, obs);
  const jobs = new TrainingJobs({ options: resolved, obs, runner, algorithms, logs, dataDir });
  let url = '';
  const routes = buildRoutes({ options: resolved, tokens, jobs, algorithms, logs, url: () => url });

  interface Arrived {
    readonly req: http.IncomingMessage;
    readonly rawPath: string;
    readonly query: URLSearchParams;
    readonly rawBody: Buffer;
  }

  /** Gateway first (authentication, project), then the body and query, then the operation. */
  async function answerRequest(route: Route | undefined, params: Record<string, string>, arrived: Arrived, entry: JournalEntry): Promise<ApiResponse> {
    if (!route) throw unknownApi();
    const { req, rawPath, query, rawBody } = arrived;
    let parsed: unknown;
    let notJson = false;
    if (rawBody.length) {
      try {
        parsed = JSON.parse(rawBody.toString('utf8'));
      } catch {
        notJson = route.body !== undefined;
      }
    }
    entry.body = parsed;
    const queryValues = queryRecord(query);
    entry.undocumentedFields.push(...undocumentedFields(route.query, queryValues, 'query'));
    if (parsed !== undefined) entry.undocumentedFields.push(...undocumentedFields(route.body ?? z.object({}), parsed, 'body'));

    let identity;
    if (route.auth === 'signed') {
      identity = authenticator.authenticate({ method: req.method ?? 'GET', rawPath, query, headers: req.headers, rawBody }, entry);
      entry.auth = identity.method;
      entry.principal = identity.principal;
      if (params['project_id'] !== undefined) authenticator.checkProject(identity, params['project_id'], single(req.headers['x-project-id']));
    }
    if (notJson) throw route.errors === 'iam' ? validationError('iam', 'body', 'is not JSON') : modelArtsError(400, 'ModelArts.2787', 'The request body is not valid JSON.');
    const queryData = validate(route.query, queryValues, 'query', route.errors, entry);
    const bodyData = route.body ? validate(route.body, parsed ?? {}, 'body', route.errors, entry) : undefined;
    return route.handle({ params, query: queryData, body: bodyData, headers: req.headers, identity, entry, now: faults.now() });
  }

  function answerOf(error: unknown, entry: JournalEntry): ApiResponse {
    if (error instanceof AuthError) {
      entry.authFailure = error.reason;
      return error.response;
    }
    if (error instanceof ApiError) {
      const code = error.response.errorCode ?? '';
      if (error.response.status === 400 && !NOT_VALIDATION.has(code)) {
        const body = error.response.body as { error_msg?: string; error?: { message?: string } } | undefined;
        const message = body?.error_msg ?? body?.error?.message ?? code;
        if (!entry.validationIssues.some((issue) => message.includes(issue.message))) entry.validationIssues.push({ field: error.field ?? '', message });
      }
      return error.response;
    }
    return modelArtsError(500, 'ModelArts.0010', `Internal error: ${(error as Error)?.message ?? String(error)}`).response;
  }

  function write(res: http.ServerResponse, response: ApiResponse, entry: JournalEntry, started: number): void {
    const headers: Record<string, string> = { 'X-Request-Id': requestId(), Date: new Date(faults.now()).toUTCString(), ...response.headers };
    let payload: Buffer | undefined;
    if (response.body !== undefined && response.status !== 204) {
      if (Buffer.isBuffer(response.body) || typeof response.body === 'string') {
        payload = Buffer.from(response.body);
        headers['Content-Type'] ??= 'text/plain';
      } else {
        payload = Buffer.from(JSON.stringify(response.body));
        headers['Content-Type'] = 'application/json;charset=UTF-8';
      }
    }
    entry.status = response.status;
    entry.errorCode = response.errorCode ?? (response.body as { error_code?: string } | undefined)?.error_code;
    entry.responseBody = Buffer.isBuffer(response.body) ? `<${response.body.length} bytes>` : response.body;
    entry.durationMs = Date.now() - started;
    res.writeHead(response.status, { ...headers, 'Content-Length': String(payload?.length ?? 0) });
    res.end(payload);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const rawBody = await readBody(req);
    const target = req.url ?? '/';
    const rawPath = target.split('?')[0] ?? '/';
    const query = new URL(target, 'http://contract.invalid').searchParams;
    const method = req.method ?? 'GET';
    const entry = journal.begin({ method, path: rawPath, query: queryRecord(query), headers: headerRecord(req.headers), rawBody: rawBody.toString('utf8') });
    const match = matchRoute(routes, method, rawPath);
    entry.operation = match?.route.operation;
    const taken = faults.take(method, rawPath, entry.operation);
    const latency = taken.find((f) => f.kind === 'latency');
    const other = taken.find((f) => f.kind !== 'latency');
    for (const f of taken) entry.faults.push(f.kind);
    const reset = () => {
      entry.status = 0;
      entry.durationMs = Date.now() - started;
      req.socket.destroy();
    };
    if (latency?.kind === 'latency' && latency.when !== 'after') await delay(latency.delayMs);
    if (other?.kind === 'reset-before') return reset();
    let response = other ? faultResponse(other) : undefined;
    if (!response) {
      try {
        response = await answerRequest(match?.route, match?.params ?? {}, { req, rawPath, query, rawBody }, entry);
      } catch (error) {
        response = answerOf(error, entry);
      }
    }
    if (latency?.kind === 'latency' && latency.when === 'after') await delay(latency.delayMs);
    if (other?.kind === 'reset-after') return reset();
    write(res, response, entry, started);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopping: Promise<void> | undefined;
  return {
    url,
    region: resolved.region,
    projectId: resolved.projectId,
    projectName: resolved.projectName,
    domain: resolved.domain,
    accessKeys: resolved.accessKeys,
    users: resolved.users,
    journal,
    faults,
    serverId,
    expireTokens: () => tokens.expireAll(faults.now()),
    jobIds: () => jobs.all().map((job) => job.id),
    seedJobs: (count) => jobs.seed(count),
    stop: () =>
      (stopping ??= (async () => {
        jobs.dispose();
        await runner.stopAll(jobs.all());
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        obs.destroy();
        if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      })()),
  };
}

