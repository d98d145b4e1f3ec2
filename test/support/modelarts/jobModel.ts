/**
 * A training job as the contract server keeps it (phase, tasks, events, the run plan) and as it
 * answers it (the documented job object), plus the search of training-job-searches: filters,
 * sorting and pages numbered by `offset`.
 */
import { invalidParameter, modelArtsError } from './errors';
import type { JobEvent } from './jobEvents';
import type { JobSearchRequest } from './jobSchemas';
import type { ObsLocation } from './obs';

export type Phase = 'Creating' | 'Pending' | 'Running' | 'Failed' | 'Completed' | 'Terminating' | 'Terminated' | 'Abnormal';

const TERMINAL: ReadonlySet<Phase> = new Set(['Failed', 'Completed', 'Terminated', 'Abnormal']);

export function isTerminal(phase: Phase): boolean {
  return TERMINAL.has(phase);
}

/** ModelArts allows a stop only while the job is being created, waits or runs. */
export function canTerminate(phase: Phase): boolean {
  return phase === 'Creating' || phase === 'Pending' || phase === 'Running';
}

export interface Channel {
  readonly name: string;
  /** Path inside the container. */
  readonly localDir: string;
  readonly location: ObsLocation;
}

/** What the runner needs to run the job: resolved image, code, channels, resources. */
export interface RunPlan {
  readonly image: string;
  readonly codeDir: ObsLocation | undefined;
  /** The code_dir and boot_file URLs as the contract helpers take them. */
  readonly codeDirUrl: string;
  readonly bootFileUrl: string;
  readonly localCodeDir: string | undefined;
  readonly command: string | undefined;
  readonly parameters: ReadonlyArray<{ readonly name: string; readonly value?: string }>;
  readonly inputs: readonly Channel[];
  readonly outputs: readonly Channel[];
  readonly environments: Readonly<Record<string, string>>;
  readonly workingDir: string | undefined;
  readonly nodeCount: number;
  readonly cpuCores: number;
  readonly memoryGiB: number;
  readonly logExport: ObsLocation | undefined;
}

export interface TaskRecord {
  readonly task: string;
  readonly index: number;
  readonly logFile: string;
  /** The task's process has started (its log exists). */
  started: boolean;
  exitCode: number | undefined;
  message: string | undefined;
  /** Metric samples, one per interval since the task started; -1 = no data. */
  readonly cpu: number[];
  readonly mem: number[];
}

export interface RunningRecord {
  start_at: number;
  end_at?: number;
  start_type: 'init_or_rescheduled' | 'restarted';
  end_reason?: string;
  end_related_task?: string;
}

export interface JobRecord {
  readonly id: string;
  readonly createTime: number;
  readonly metadata: {
    readonly name: string;
    description: string;
    readonly workspace_id: string;
    readonly user_name: string;
    readonly annotations: Readonly<Record<string, string>> | undefined;
  };
  /** The `algorithm` object as answered. */
  readonly algorithm: Readonly<Record<string, unknown>>;
  /** The `spec` object as answered. */
  readonly spec: Readonly<Record<string, unknown>>;
  readonly algorithmName: string;
  readonly plan: RunPlan;
  phase: Phase;
  secondaryPhase: string;
  startTime: number;
  endTime: number | undefined;
  nodeCountMetrics: Array<[number, number]> | null;
  readonly runningRecords: RunningRecord[];
  readonly tasks: TaskRecord[];
  readonly events: JobEvent[];
  deleteRequestedAt: number | undefined;
  readonly abort: AbortController;
  terminateRequested: boolean;
}

function duration(job: JobRecord, now: number): number {
  if (!job.startTime) return 0;
  return Math.max(0, (job.endTime ?? now) - job.startTime);
}

/** The documented job object (create, show, search items, terminate). */
export function jobView(job: JobRecord, now = Date.now()): Record<string, unknown> {
  const exited = job.tasks.filter((t) => t.exitCode !== undefined);
  return {
    kind: 'job',
    metadata: {
      id: job.id,
      name: job.metadata.name,
      description: job.metadata.description,
      create_time: job.createTime,
      workspace_id: job.metadata.workspace_id,
      user_name: job.metadata.user_name,
      ...(job.metadata.annotations ? { annotations: { ...job.metadata.annotations } } : {}),
    },
    status: {
      phase: job.phase,
      secondary_phase: job.secondaryPhase,
      duration: duration(job, now),
      start_time: job.startTime,
      node_count_metrics: job.nodeCountMetrics ? job.nodeCountMetrics.map((p) => [...p]) : null,
      tasks: job.tasks.map((t) => t.task),
      ...(exited.length ? { task_statuses: exited.map((t) => ({ task: t.task, exit_code: t.exitCode, message: t.message ?? '' })) } : {}),
      ...(job.runningRecords.length ? { running_records: job.runningRecords.map((r) => ({ ...r })) } : {}),
    },
    algorithm: structuredClone(job.algorithm),
    spec: structuredClone(job.spec),
  };
}

const FILTER_KEYS = ['name', 'create_time', 'phase', 'algorithm_name', 'kind', 'user_id', 'runtime_type'] as const;
const OPERATORS = ['between', 'like', 'in', 'not'] as const;
export const SORT_KEYS = ['create_time', 'name', 'phase', 'duration'] as const;

type Filter = NonNullable<JobSearchRequest['filters']>[number];

function fieldOf(job: JobRecord, key: (typeof FILTER_KEYS)[number], userId: string): string {
  switch (key) {
    case 'name':
      return job.metadata.name;
    case 'create_time':
      return String(job.createTime);
    case 'phase':
      return job.phase;
    case 'algorithm_name':
      return job.algorithmName;
    case 'kind':
      return 'job';
    case 'user_id':
      return userId;
    case 'runtime_type':
      return 'default';
  }
}

function checkFilter(filter: Filter, index: number): void {
  if (!filter.key || !(FILTER_KEYS as readonly string[]).includes(filter.key)) {
    throw modelArtsError(400, 'ModelArts.2789', `Invalid filter key "${filter.key ?? ''}" in filters[${index}].key; use one of ${FILTER_KEYS.join(', ')}.`);
  }
  if (!filter.operator || !(OPERATORS as readonly string[]).includes(filter.operator)) {
    throw invalidParameter(`filters[${index}].operator`, `must be one of ${OPERATORS.join(', ')}`);
  }
}

/** Empty strings in a filter's values mean "no constraint" (the reference's example sends them). */
function matchesFilter(job: JobRecord, filter: Filter, userId: string): boolean {
  const values = (filter.value ?? []).filter((v) => v !== '');
  const actual = fieldOf(job, filter.key as (typeof FILTER_KEYS)[number], userId);
  if (filter.operator === 'between') {
    if (values.length === 0) return true;
    const [from, to] = [Number(filter.value?.[0] || -Infinity), Number(filter.value?.[1] || Infinity)];
    return Number(actual) >= from && Number(actual) <= to;
  }
  if (values.length === 0) return true;
  switch (filter.operator) {
    case 'like':
      return values.some((v) => actual.toLowerCase().includes(v.toLowerCase()));
    case 'in':
      return values.includes(actual);
    case 'not':
      return !values.includes(actual);
    default:
      return true;
  }
}

export interface SearchContext {
  readonly now: number;
  readonly userId: string;
  /** A `limit` given in the query string (the reference's example does that). */
  readonly queryLimit: number | undefined;
}

/** Default page size when neither body nor query sets one (the reference gives none). */
export const DEFAULT_SEARCH_LIMIT = 10;

export function searchJobs(jobs: readonly JobRecord[], request: JobSearchRequest, context: SearchContext) {
  const filters = request.filters ?? [];
  filters.forEach(checkFilter);
  const sortBy = request.sort_by ?? 'create_time';
  if (!(SORT_KEYS as readonly string[]).includes(sortBy)) {
    throw modelArtsError(400, 'ModelArts.2790', `Invalid sort_by "${sortBy}"; use one of ${SORT_KEYS.join(', ')}.`);
  }
  const order = request.order ?? 'desc';
  const limit = request.limit ?? context.queryLimit ?? DEFAULT_SEARCH_LIMIT;
  const offset = request.offset ?? 0;
  const key = (job: JobRecord): number | string =>
    sortBy === 'name' ? job.metadata.name : sortBy === 'phase' ? job.phase : sortBy === 'duration' ? duration(job, context.now) : job.createTime;
  const matching = jobs
    .filter((job) => filters.every((f) => matchesFilter(job, f, context.userId)))
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      const cmp = ka < kb ? -1 : ka > kb ? 1 : a.createTime - b.createTime || a.id.localeCompare(b.id);
      return order === 'asc' ? cmp : -cmp;
    });
  return {
    total: jobs.length,
    count: matching.length,
    limit,
    offset,
    sort_by: sortBy,
    order,
    group_by: request.group_by ?? '',
    workspace_id: '0',
    ai_project: 'default-ai-project',
    items: matching.slice(offset * limit, offset * limit + limit).map((job) => jobView(job, context.now)),
  };
}
