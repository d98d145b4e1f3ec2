/**
 * The route table of the contract server: every documented path and method, the reference's
 * operation name, how it authenticates, the schemas of its body and query, and its handler.
 * A path not in the table gets the gateway's 404 APIG.0101.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { AlgorithmStore } from './algorithmsApi';
import { type AlgorithmBody, type AlgorithmsQuery, algorithmBodySchema, algorithmsQuerySchema } from './algorithmSchemas';
import type { Identity } from './auth';
import { listEngines, listFlavors } from './catalogApi';
import { type ApiError, type ApiResponse, iamError, invalidParameter, modelArtsError } from './errors';
import { type TokenRequest, type TokenStore, createToken, listProjects, projectsQuerySchema, tokenQuerySchema, tokenRequestSchema } from './iamApi';
import {
  type EventsQuery,
  type JobCreateRequest,
  type JobSearchRequest,
  descriptionSchema,
  eventsQuerySchema,
  flavorsQuerySchema,
  jobCreateSchema,
  jobSearchQuerySchema,
  jobSearchSchema,
  logUrlQuerySchema,
  noQuerySchema,
  terminateSchema,
} from './jobSchemas';
import type { TrainingJobs } from './jobsApi';
import type { JournalEntry } from './journal';
import type { ResolvedOptions } from './options';
import { LOG_LINK_PREFIX, type TaskLogs } from './taskLogs';

export interface RequestContext {
  readonly params: Readonly<Record<string, string>>;
  readonly query: unknown;
  readonly body: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly identity: Identity | undefined;
  readonly entry: JournalEntry;
  /** The server's clock (skewed by a fault). */
  readonly now: number;
}

/** Which error a malformed body or query gets on this route. */
export type ErrorStyle = 'modelarts' | 'events' | 'iam';

export interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly operation: string;
  /** 'signed': AK/SK or token; 'none': the token request and log links. */
  readonly auth: 'signed' | 'none';
  readonly body?: z.ZodType;
  readonly query: z.ZodType;
  readonly errors: ErrorStyle;
  readonly handle: (ctx: RequestContext) => ApiResponse | Promise<ApiResponse>;
}

export interface RouteDeps {
  readonly options: ResolvedOptions;
  readonly tokens: TokenStore;
  readonly jobs: TrainingJobs;
  readonly algorithms: AlgorithmStore;
  readonly logs: TaskLogs;
  readonly url: () => string;
}

export function validationError(style: ErrorStyle, field: string, problem: string): ApiError {
  if (style === 'iam') return iamError(400, 'Bad Request', `Invalid ${field}: ${problem}`);
  if (style === 'events') return modelArtsError(400, 'ModelArts.50004000', `Bad request. ${field}: ${problem}`);
  return invalidParameter(field, problem);
}

/** The query of a log link: the parts of a presigned OBS URL. */
const logLinkQuerySchema = z.object({ AWSAccessKeyId: z.string().optional(), Expires: z.string().optional(), Signature: z.string().optional() });

const userId = (ctx: RequestContext) => Buffer.from(ctx.identity?.userName ?? '').toString('hex').slice(0, 32);
const param = (ctx: RequestContext, name: string) => ctx.params[name] ?? '';

export function buildRoutes(deps: RouteDeps): Route[] {
  const { options, jobs, algorithms } = deps;
  const base = '/v2/{project_id}';
  const job = `${base}/training-jobs/{training_job_id}`;
  const modelarts = (method: string, pattern: string, operation: string, handle: Route['handle'], schemas: Partial<Pick<Route, 'body' | 'query' | 'errors'>> = {}): Route => ({
    method,
    pattern,
    operation,
    auth: 'signed',
    query: schemas.query ?? noQuerySchema,
    errors: schemas.errors ?? 'modelarts',
    ...(schemas.body ? { body: schemas.body } : {}),
    handle,
  });
  return [
    {
      method: 'POST',
      pattern: '/v3/auth/tokens',
      operation: 'KeystoneCreateUserTokenByPassword',
      auth: 'none',
      body: tokenRequestSchema,
      query: tokenQuerySchema,
      errors: 'iam',
      handle: (ctx) => createToken(options, deps.tokens, ctx.body as TokenRequest, (ctx.query as { nocatalog?: string }).nocatalog === 'true', deps.url(), ctx.now),
    },
    {
      method: 'GET',
      pattern: '/v3/projects',
      operation: 'KeystoneListProjects',
      auth: 'signed',
      query: projectsQuerySchema,
      errors: 'iam',
      handle: (ctx) => listProjects(options, (ctx.query as { name?: string }).name, deps.url()),
    },
    modelarts('POST', `${base}/training-jobs`, 'CreateTrainingJob', (ctx) => jobs.create(ctx.body as JobCreateRequest, ctx.identity?.userName ?? ''), { body: jobCreateSchema }),
    modelarts(
      'POST',
      `${base}/training-job-searches`,
      'ListTrainingJobs',
      (ctx) => jobs.search((ctx.body ?? {}) as JobSearchRequest, (ctx.query as { limit?: string }).limit, userId(ctx)),
      { body: jobSearchSchema, query: jobSearchQuerySchema },
    ),
    modelarts('GET', job, 'ShowTrainingJobDetails', (ctx) => jobs.show(param(ctx, 'training_job_id'))),
    modelarts('PUT', job, 'ChangeTrainingJobDescription', (ctx) => jobs.updateDescription(param(ctx, 'training_job_id'), (ctx.body as { description?: string }).description), {
      body: descriptionSchema,
    }),
    modelarts('DELETE', job, 'DeleteTrainingJob', (ctx) => jobs.delete(param(ctx, 'training_job_id'))),
    modelarts('POST', `${job}/actions`, 'StopTrainingJob', (ctx) => jobs.terminate(param(ctx, 'training_job_id'), (ctx.body as { action_type: string }).action_type), {
      body: terminateSchema,
    }),
    modelarts('GET', `${job}/events`, 'ListTrainingJobEvents', (ctx) => jobs.events(param(ctx, 'training_job_id'), ctx.query as EventsQuery), {
      query: eventsQuerySchema,
      errors: 'events',
    }),
    modelarts('GET', `${job}/tasks/{task_id}/logs/preview`, 'ShowTrainingJobLogsPreview', (ctx) => jobs.logPreview(param(ctx, 'training_job_id'), param(ctx, 'task_id'))),
    modelarts(
      'GET',
      `${job}/tasks/{task_id}/logs/url`,
      'ShowObsUrlOfTrainingJobLogs',
      (ctx) => {
        const header = ctx.headers['content-type'];
        const contentType = (ctx.query as { 'Content-Type'?: string })['Content-Type'] ?? (typeof header === 'string' ? header : undefined);
        return jobs.logUrl(param(ctx, 'training_job_id'), param(ctx, 'task_id'), contentType, deps.url(), ctx.now);
      },
      { query: logUrlQuerySchema },
    ),
    modelarts('GET', `${job}/metrics/{task_id}`, 'ShowTrainingJobMetrics', (ctx) => jobs.metrics(param(ctx, 'training_job_id'), param(ctx, 'task_id'))),
    modelarts('GET', `${base}/training-job-flavors`, 'ShowTrainingJobFlavors', (ctx) => listFlavors(options, (ctx.query as { flavor_type?: 'CPU' | 'GPU' }).flavor_type), {
      query: flavorsQuerySchema,
    }),
    modelarts('GET', `${base}/training-job-engines`, 'ShowTrainingJobEngines', () => listEngines(options)),
    modelarts('POST', `${base}/algorithms`, 'CreateAlgorithm', (ctx) => algorithms.create(ctx.body as AlgorithmBody, ctx.identity?.userName ?? ''), { body: algorithmBodySchema }),
    modelarts('GET', `${base}/algorithms`, 'ListAlgorithms', (ctx) => algorithms.list(ctx.query as AlgorithmsQuery), { query: algorithmsQuerySchema }),
    modelarts('GET', `${base}/algorithms/{algorithm_id}`, 'ShowAlgorithmByUuid', (ctx) => algorithms.show(param(ctx, 'algorithm_id'))),
    modelarts('PUT', `${base}/algorithms/{algorithm_id}`, 'ChangeAlgorithm', (ctx) => algorithms.update(param(ctx, 'algorithm_id'), ctx.body as AlgorithmBody, ctx.identity?.userName ?? ''), {
      body: algorithmBodySchema,
    }),
    modelarts('DELETE', `${base}/algorithms/{algorithm_id}`, 'DeleteAlgorithm', (ctx) => algorithms.delete(param(ctx, 'algorithm_id'))),
    {
      method: 'GET',
      pattern: `${LOG_LINK_PREFIX}/{token}/{object}`,
      operation: 'GetLogObject',
      auth: 'none',
      query: logLinkQuerySchema,
      errors: 'modelarts',
      handle: (ctx) => {
        const answer = deps.logs.serve(param(ctx, 'token'), Date.now());
        return { status: answer.status, headers: { 'Content-Type': answer.contentType }, body: answer.body };
      },
    },
  ];
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

/** The route of a method and path (a trailing slash is ignored). */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch | undefined {
  const segments = path.replace(/\/+$/, '').split('/');
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.pattern.split('/');
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((part, index) => {
      const segment = segments[index] ?? '';
      if (part.startsWith('{')) {
        if (!segment) return false;
        params[part.slice(1, -1)] = safeDecode(segment);
        return true;
      }
      return part === segment;
    });
    if (ok) return { route, params };
  }
  return undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
