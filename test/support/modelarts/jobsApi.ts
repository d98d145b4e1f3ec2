/**
 * The training-job operations of the contract server: create, search, show, description update,
 * delete (asynchronous: readable for a while, then 2775), terminate, events, log preview and log
 * link, and running metrics. Jobs are kept in memory and run by the JobRunner.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { taskHostName, taskNames } from '../../../src/core/contract';
import type { AlgorithmStore } from './algorithmsApi';
import { type ApiResponse, empty, invalidParameter, jobNotFound, json, modelArtsError, notReady } from './errors';
import { type EventsQuery, type JobCreateRequest, type JobSearchRequest } from './jobSchemas';
import { makeEvent, queryEvents } from './jobEvents';
import { type JobRecord, canTerminate, jobView, searchJobs } from './jobModel';
import { planJob } from './jobPlanner';
import { type JobRunner, addEvent, setPhase } from './jobRunner';
import type { Obs } from './obs';
import type { ResolvedOptions } from './options';
import type { TaskLogs } from './taskLogs';
import { metricsView } from './taskMetrics';

export interface TrainingJobsDeps {
  readonly options: ResolvedOptions;
  readonly obs: Obs;
  readonly runner: JobRunner;
  readonly algorithms: AlgorithmStore;
  readonly logs: TaskLogs;
  readonly dataDir: string;
}

export class TrainingJobs {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: TrainingJobsDeps) {}

  all(): JobRecord[] {
    return [...this.jobs.values()];
  }

  /** The job, or 400 ModelArts.2775 (ModelArts answers an unknown job with 400, not 404). */
  get(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) throw jobNotFound(id);
    return job;
  }

  async create(request: JobCreateRequest, userName: string): Promise<ApiResponse> {
    const planned = await planJob(request, {
      options: this.deps.options,
      obs: this.deps.obs,
      findAlgorithm: (id) => this.deps.algorithms.find(id),
    });
    const id = randomUUID();
    const logDir = path.join(this.deps.dataDir, id, 'logs');
    fs.mkdirSync(logDir, { recursive: true });
    const job: JobRecord = {
      id,
      createTime: Date.now(),
      metadata: {
        name: request.metadata.name,
        description: request.metadata.description ?? '',
        workspace_id: request.metadata.workspace_id ?? '0',
        user_name: userName,
        annotations: request.metadata.annotations,
      },
      algorithm: planned.algorithm,
      spec: planned.spec,
      algorithmName: planned.algorithmName,
      plan: planned.plan,
      phase: 'Creating',
      secondaryPhase: 'Creating',
      startTime: 0,
      endTime: undefined,
      nodeCountMetrics: null,
      runningRecords: [],
      tasks: taskNames(planned.plan.nodeCount).map((task, index) => ({
        task,
        index,
        logFile: path.join(logDir, `${task}.log`),
        started: false,
        exitCode: undefined,
        message: undefined,
        cpu: [],
        mem: [],
      })),
      events: [makeEvent('Info', 'Job', 'Training job created.')],
      deleteRequestedAt: undefined,
      abort: new AbortController(),
      terminateRequested: false,
    };
    this.jobs.set(id, job);
    const answer = jobView(job);
    this.deps.runner.start(job);
    return json(201, answer);
  }

  search(request: JobSearchRequest, queryLimit: string | undefined, userId: string): ApiResponse {
    const limit = queryLimit !== undefined && /^\d+$/.test(queryLimit) ? Number(queryLimit) : undefined;
    if (limit !== undefined && (limit < 1 || limit > 50)) throw invalidParameter('limit', 'must be from 1 to 50');
    return json(200, searchJobs(this.all(), request, { now: Date.now(), userId, queryLimit: limit }));
  }

  show(id: string): ApiResponse {
    return json(200, jobView(this.get(id)));
  }

  updateDescription(id: string, description: string | undefined): ApiResponse {
    this.get(id).metadata.description = description ?? '';
    return empty(200);
  }

  /** Accepted at once; the job stays readable for the configured delay, then it is gone. */
  delete(id: string): ApiResponse {
    const job = this.get(id);
    if (job.deleteRequestedAt === undefined) {
      job.deleteRequestedAt = Date.now();
      addEvent(job, 'Info', 'Job', 'The training job is being deleted.');
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.jobs.delete(id);
        void this.deps.runner.discard(job);
      }, this.deps.options.timing.deleteDelayMs);
      this.timers.add(timer);
      if (canTerminate(job.phase)) {
        setPhase(job, 'Terminating');
        void this.deps.runner.terminate(job);
      }
    }
    return empty(202);
  }

  terminate(id: string, actionType: string): ApiResponse {
    const job = this.get(id);
    if (actionType !== 'terminate') {
      throw modelArtsError(400, 'ModelArts.2812', `Invalid action_type "${actionType}"; the only action is terminate.`);
    }
    if (!canTerminate(job.phase)) {
      throw modelArtsError(409, 'ModelArts.2796', `Training job ${id} cannot be terminated in phase ${job.phase}.`);
    }
    setPhase(job, 'Terminating');
    addEvent(job, 'Info', 'K8S', `[Job: modelarts-job-${id}] ExecuteAction: Start to execute action TerminateJob`);
    void this.deps.runner.terminate(job);
    return json(202, jobView(job));
  }

  events(id: string, query: EventsQuery): ApiResponse {
    return json(200, queryEvents(this.get(id).events, query, this.deps.options.eventTimeZoneMinutes));
  }

  private task(id: string, taskId: string) {
    const job = this.get(id);
    const task = job.tasks.find((t) => t.task === taskId);
    if (!task) throw invalidParameter('task_id', `${taskId} is not a task of training job ${id} (${job.tasks.map((t) => t.task).join(', ')})`);
    return { job, task };
  }

  /** The last window of the task's log; 204 (ModelArts.2776) before the task has started. */
  logPreview(id: string, taskId: string): ApiResponse {
    const { task } = this.task(id, taskId);
    const preview = task.started ? this.deps.logs.preview(task.logFile) : undefined;
    if (!preview) throw notReady('ModelArts.2776');
    return json(200, preview);
  }

  logUrl(id: string, taskId: string, contentType: string | undefined, serverUrl: string, now: number): ApiResponse {
    const { job, task } = this.task(id, taskId);
    if (!task.started) throw modelArtsError(400, 'ModelArts.2818', `The log of ${taskId} has not been generated yet.`);
    const name = `${taskHostName(job.id, task.task)}.log`;
    const type = contentType === 'application/octet-stream' ? 'application/octet-stream' : 'text/plain';
    return json(200, { obs_url: this.deps.logs.link(serverUrl, name, task.logFile, type, now) });
  }

  /** One value per sample interval since the task started; 204 (ModelArts.2777) before. */
  metrics(id: string, taskId: string): ApiResponse {
    const { task } = this.task(id, taskId);
    if (!task.started) throw notReady('ModelArts.2777');
    return json(200, metricsView(task));
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
