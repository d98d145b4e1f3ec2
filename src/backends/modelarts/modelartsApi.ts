/**
 * ModelArts' training API v2 as typed calls, one per operation of the reference, on one client and
 * project. Nothing here decides anything: paging, polling and rules live in the backend.
 */
import type { z } from 'zod';
import type { ApiRequest, HttpClient, HttpMethod } from './httpClient';
import {
  algorithmListSchema,
  cloudAlgorithmSchema,
  cloudJobSchema,
  enginesSchema,
  eventsPageSchema,
  flavorsSchema,
  jobSearchSchema,
  logPreviewSchema,
  logUrlSchema,
  metricsSchema,
  projectsSchema,
} from './schemas';

export interface SearchFilter {
  readonly key: 'name' | 'phase' | 'create_time' | 'algorithm_name';
  readonly operator: 'like' | 'in' | 'between' | 'not';
  readonly value: readonly string[];
}

export const PAGE_SIZE = 50;
/** Events per page of ListTrainingJobEvents. */
export const EVENTS_PAGE_SIZE = 100;

export class ModelArtsApi {
  constructor(
    private readonly client: HttpClient,
    private readonly endpoint: string,
    private readonly projectId: () => string,
  ) {}

  private request(operation: string, method: HttpMethod, path: string, extra: Partial<ApiRequest> = {}): ApiRequest {
    return { operation, method, url: `${this.endpoint}/v2/${this.projectId()}${path}`, ...extra };
  }

  private call<S extends z.ZodType>(schema: S, operation: string, method: HttpMethod, path: string, extra: Partial<ApiRequest> = {}): Promise<z.output<S>> {
    return this.client.call(this.request(operation, method, path, extra), schema);
  }

  /** A page of jobs (offset is a page number), newest first; searching is read-only, so it may be repeated. */
  searchJobs(page: number, filters: readonly SearchFilter[] = [], signal?: AbortSignal) {
    const body = { offset: page, limit: PAGE_SIZE, sort_by: 'create_time', order: 'desc', ...(filters.length ? { filters } : {}) };
    return this.call(jobSearchSchema, 'ListTrainingJobs', 'POST', '/training-job-searches', { body, idempotent: true, ...(signal ? { signal } : {}) });
  }

  showJob(id: string, signal?: AbortSignal) {
    return this.call(cloudJobSchema, 'ShowTrainingJobDetails', 'GET', `/training-jobs/${encodeURIComponent(id)}`, signal ? { signal } : {});
  }

  /** Never repeated blindly: the caller looks the job up by name after a lost answer. */
  createJob(body: unknown, signal?: AbortSignal) {
    return this.call(cloudJobSchema, 'CreateTrainingJob', 'POST', '/training-jobs', { body, idempotent: false, ...(signal ? { signal } : {}) });
  }

  /** Terminating twice is harmless (the second is refused with 2796), so it may be repeated. */
  terminateJob(id: string) {
    return this.client.send(this.request('StopTrainingJob', 'POST', `/training-jobs/${encodeURIComponent(id)}/actions`, { body: { action_type: 'terminate' }, idempotent: true }));
  }

  deleteJob(id: string) {
    return this.client.send(this.request('DeleteTrainingJob', 'DELETE', `/training-jobs/${encodeURIComponent(id)}`));
  }

  /** Events oldest first, a page at a time (offset counts records). */
  listEvents(id: string, offset: number, limit = EVENTS_PAGE_SIZE) {
    return this.call(eventsPageSchema, 'ListTrainingJobEvents', 'GET', `/training-jobs/${encodeURIComponent(id)}/events`, { query: { offset, limit, order: 'asc' } });
  }

  /** The log's last part (undefined: no log yet). */
  logPreview(id: string, task: string, signal?: AbortSignal) {
    return this.call(logPreviewSchema, 'ShowTrainingJobLogsPreview', 'GET', `/training-jobs/${encodeURIComponent(id)}/tasks/${encodeURIComponent(task)}/logs/preview`, signal ? { signal } : {});
  }

  /** A short-lived link to the whole log. */
  logUrl(id: string, task: string, signal?: AbortSignal) {
    return this.call(logUrlSchema, 'ShowObsUrlOfTrainingJobLogs', 'GET', `/training-jobs/${encodeURIComponent(id)}/tasks/${encodeURIComponent(task)}/logs/url`, {
      headers: { 'Content-Type': 'text/plain' },
      ...(signal ? { signal } : {}),
    });
  }

  metrics(id: string, task: string) {
    return this.call(metricsSchema, 'ShowTrainingJobMetrics', 'GET', `/training-jobs/${encodeURIComponent(id)}/metrics/${encodeURIComponent(task)}`);
  }

  flavors() {
    return this.call(flavorsSchema, 'ShowTrainingJobFlavors', 'GET', '/training-job-flavors');
  }

  engines() {
    return this.call(enginesSchema, 'ShowTrainingJobEngines', 'GET', '/training-job-engines');
  }

  /** A page of algorithms (offset counts records). */
  listAlgorithms(offset: number, limit = PAGE_SIZE) {
    return this.call(algorithmListSchema, 'ListAlgorithms', 'GET', '/algorithms', { query: { offset, limit, sort_by: 'create_time', order: 'desc' } });
  }

  showAlgorithm(id: string) {
    return this.call(cloudAlgorithmSchema, 'ShowAlgorithmByUuid', 'GET', `/algorithms/${encodeURIComponent(id)}`);
  }

  createAlgorithm(body: unknown) {
    return this.call(cloudAlgorithmSchema, 'CreateAlgorithm', 'POST', '/algorithms', { body });
  }

  updateAlgorithm(id: string, body: unknown) {
    return this.call(cloudAlgorithmSchema, 'ChangeAlgorithm', 'PUT', `/algorithms/${encodeURIComponent(id)}`, { body });
  }

  deleteAlgorithm(id: string) {
    return this.client.send(this.request('DeleteAlgorithm', 'DELETE', `/algorithms/${encodeURIComponent(id)}`));
  }
}

/** The project of a region, looked up (never created) through IAM. */
export async function lookUpProject(client: HttpClient, iamEndpoint: string, region: string): Promise<string> {
  const answer = await client.call({ operation: 'KeystoneListProjects', method: 'GET', url: `${iamEndpoint}/v3/projects`, query: { name: region } }, projectsSchema);
  const matching = answer.projects.filter((p) => p.name === region && p.enabled !== false);
  if (matching.length !== 1) {
    throw new Error(
      matching.length
        ? `IAM lists ${matching.length} projects named ${region}; set modelarts.cloud.projectId to the one to use`
        : `IAM lists no project named ${region} for these credentials; check the region, or set modelarts.cloud.projectId`,
    );
  }
  return (matching[0] as { id: string }).id;
}
