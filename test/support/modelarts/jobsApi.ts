/**
 * The training-job operations of the contract server: create, search, show, description update,
 * delete (asynchronous: readable for a while, then 2775), terminate, events, log preview and log
 * link, and running metrics. Jobs are kept in memory and run by the JobRunner.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inputLocalDir, outputLocalDir, taskHostName, taskNames } from '../../../src/core/contract';
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

  /**
   * Test support: inserts `count` finished jobs (phase Completed) without running anything, for
   * lists longer than real runs allow. Fields: name `seeded-job-<n>` (n = 0 … count-1, the oldest 0),
   * create times one minute apart ending a minute ago, `duration` 30-300 s, one task `worker-0`
   * that exited 0 (its log was never written: preview 204, log link 2818), the first preset engine,
   * the first flavor, parameters `epochs` and `lr`, input `data_url` and output `train_url` under
   * `obs://modelarts-seeded/`, and four events. Answered as any job (search, show, events, delete).
   */
  seed(count: number): string[] {
    const { engines, flavors, accessKeys } = this.deps.options;
    const engine = engines[0];
    const flavor = flavors[0];
    if (!engine || !flavor) throw new Error('seeding jobs needs a preset engine and a flavor');
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const id = randomUUID();
      const name = `seeded-job-${String(i).padStart(String(count - 1).length, '0')}`;
      const createTime = now - (count - i) * 60_000;
      const startTime = createTime + 5_000;
      const endTime = startTime + 30_000 + ((i * 7919) % 270_000);
      const code = `obs://modelarts-seeded/jobs/${name}/code/`;
      const output = `obs://modelarts-seeded/jobs/${name}/outputs/train_url/`;
      const event = (message: string, time: number, source: 'Job' | 'Task' = 'Job') => makeEvent('Info', source, message, time);
      const job: JobRecord = {
        id,
        createTime,
        metadata: { name, description: 'seeded', workspace_id: '0', user_name: accessKeys[0]?.userName ?? '', annotations: undefined },
        algorithm: {
          code_dir: code,
          boot_file: `${code}train.py`,
          parameters: [
            { name: 'epochs', value: '10' },
            { name: 'lr', value: '0.01' },
          ],
          inputs: [{ name: 'data_url', local_dir: inputLocalDir('data_url'), remote: { obs: { obs_url: 'obs://modelarts-seeded/data/' } } }],
          outputs: [{ name: 'train_url', local_dir: outputLocalDir('train_url'), remote: { obs: { obs_url: output } } }],
          engine: { engine_id: engine.engine_id, engine_name: engine.engine_name, engine_version: engine.engine_version },
        },
        spec: {
          resource: {
            policy: 'regular',
            flavor_id: flavor.flavor_id,
            flavor_name: flavor.flavor_name,
            node_count: 1,
            flavor_detail: { flavor_type: flavor.flavor_type, ...(flavor.billing ? { billing: { ...flavor.billing } } : {}), flavor_info: structuredClone(flavor.flavor_info) },
          },
          log_export_path: {},
        },
        algorithmName: '',
        plan: {
          image: engine.localImage,
          codeDir: { bucket: 'modelarts-seeded', key: `jobs/${name}/code/` },
          codeDirUrl: code,
          bootFileUrl: `${code}train.py`,
          localCodeDir: undefined,
          command: undefined,
          parameters: [
            { name: 'epochs', value: '10' },
            { name: 'lr', value: '0.01' },
          ],
          inputs: [{ name: 'data_url', localDir: inputLocalDir('data_url'), location: { bucket: 'modelarts-seeded', key: 'data/' } }],
          outputs: [{ name: 'train_url', localDir: outputLocalDir('train_url'), location: { bucket: 'modelarts-seeded', key: `jobs/${name}/outputs/train_url/` } }],
          environments: {},
          workingDir: undefined,
          nodeCount: 1,
          cpuCores: flavor.flavor_info.cpu.core_num,
          memoryGiB: flavor.flavor_info.memory.size,
          logExport: undefined,
        },
        phase: 'Completed',
        secondaryPhase: 'Completed',
        startTime,
        endTime,
        nodeCountMetrics: [
          [startTime, 1],
          [endTime, 0],
        ],
        runningRecords: [{ start_at: Math.floor(startTime / 1000), end_at: Math.floor(endTime / 1000), start_type: 'init_or_rescheduled', end_reason: 'job completed' }],
        tasks: [{ task: 'worker-0', index: 0, logFile: path.join(this.deps.dataDir, id, 'logs', 'worker-0.log'), started: false, exitCode: 0, message: '', cpu: [], mem: [] }],
        events: [
          event('Training job created.', createTime),
          event('Training job is running.', startTime),
          event('[worker-0] Training finished. Exit code 0.', endTime, 'Task'),
          event('Training job completed.', endTime),
        ],
        deleteRequestedAt: undefined,
        abort: new AbortController(),
        terminateRequested: false,
      };
      this.jobs.set(id, job);
      ids.push(id);
    }
    return ids;
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
