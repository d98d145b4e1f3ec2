/**
 * Runs training jobs for real: stages code and inputs from OBS on the host (containers cannot
 * reach the host's 127.0.0.1), runs one container per task on a network of the job's own when
 * distributed, captures logs and metrics, uploads outputs (and logs, when asked) when the tasks
 * end, and walks the job through its phases and events.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { taskHostName } from '../../../src/core/contract';
import { type EventLevel, type EventSource, makeEvent } from './jobEvents';
import { type JobRecord, type Phase, type TaskRecord, isTerminal } from './jobModel';
import { type Obs, childOf } from './obs';
import type { ResolvedOptions } from './options';
import { CONTRACT_LABELS, type TaskMounts, taskContainerOptions } from './taskContainer';
import { TaskSampler } from './taskMetrics';

export interface RunnerDeps {
  readonly docker: Docker;
  readonly obs: Obs;
  readonly options: ResolvedOptions;
  readonly serverId: string;
  readonly dataDir: string;
}

class SetupError extends Error {
  constructor(
    message: string,
    readonly phase: Phase,
    readonly secondary: string,
  ) {
    super(message);
  }
}

export function addEvent(job: JobRecord, level: EventLevel, source: EventSource, message: string): void {
  job.events.push(makeEvent(level, source, message));
}

export function setPhase(job: JobRecord, phase: Phase, secondary: string = phase): void {
  job.phase = phase;
  job.secondaryPhase = secondary;
}

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(3);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

function openFolder(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777);
  return dir;
}

/** Staged code must be readable (and writable, for __pycache__) by the container user. */
function openTree(dir: string): void {
  fs.chmodSync(dir, 0o777);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) openTree(full);
    else fs.chmodSync(full, 0o666);
  }
}

interface TaskRun {
  readonly task: TaskRecord;
  readonly container: Docker.Container;
  readonly exited: Promise<number>;
  /** The attach stream has ended: every line of the task is in its log file. */
  readonly streamEnded: Promise<void>;
  readonly log: fs.WriteStream;
  sampler?: TaskSampler;
}

export class JobRunner {
  private readonly runs = new Map<string, TaskRun[]>();
  private readonly finished = new Map<string, Promise<void>>();

  constructor(private readonly deps: RunnerDeps) {}

  start(job: JobRecord): void {
    this.finished.set(job.id, this.run(job));
  }

  /** Stops the job's tasks: SIGTERM, then SIGKILL after the grace period. */
  async terminate(job: JobRecord): Promise<void> {
    job.terminateRequested = true;
    job.abort.abort();
    const grace = Math.ceil(this.deps.options.timing.terminateGraceMs / 1000);
    await Promise.all((this.runs.get(job.id) ?? []).map((run) => run.container.stop({ t: grace }).catch(() => undefined)));
  }

  /** Kills the job at once and forgets its files (after delete). */
  async discard(job: JobRecord): Promise<void> {
    job.terminateRequested = true;
    job.abort.abort();
    await Promise.all((this.runs.get(job.id) ?? []).map((run) => run.container.kill().catch(() => undefined)));
    await this.finished.get(job.id)?.catch(() => undefined);
    this.finished.delete(job.id);
    fs.rmSync(this.jobDir(job), { recursive: true, force: true });
  }

  /** Ends every job and removes every container and network this server made. */
  async stopAll(jobs: readonly JobRecord[]): Promise<void> {
    for (const job of jobs) {
      job.terminateRequested = true;
      job.abort.abort();
    }
    await removeLabelled(this.deps.docker, this.deps.serverId);
    await Promise.allSettled([...this.finished.values()]);
    await removeLabelled(this.deps.docker, this.deps.serverId);
  }

  private jobDir(job: JobRecord): string {
    return path.join(this.deps.dataDir, job.id);
  }

  private async run(job: JobRecord): Promise<void> {
    const signal = job.abort.signal;
    const { timing } = this.deps.options;
    let network: string | undefined;
    try {
      await sleep(timing.creatingMs, signal);
      if (signal.aborted) return this.finish(job);
      setPhase(job, 'Pending', 'Queuing');
      addEvent(job, 'Info', 'Job', 'The training job is waiting for resources.');
      await sleep(timing.pendingMs, signal);
      const mounts = await this.stage(job, signal);
      if (job.plan.nodeCount > 1 && !signal.aborted) {
        network = (await this.deps.docker.createNetwork({ Name: `modelarts-contract-${this.deps.serverId}-${job.id}`, Driver: 'bridge', Labels: this.labels(job) })).id;
      }
      if (signal.aborted) return this.finish(job);
      const runs = await this.createTasks(job, mounts, network);
      if (signal.aborted) return this.finish(job);
      await this.runTasks(job, runs);
      await this.deliver(job, mounts);
      this.finish(job);
    } catch (error) {
      if (error instanceof SetupError) {
        addEvent(job, 'Error', 'Job', error.message);
        this.finish(job, error.phase, error.secondary);
      } else {
        addEvent(job, 'Error', 'Job', `Training job failed: ${(error as Error).message}`);
        this.finish(job, 'Failed');
      }
    } finally {
      await this.cleanUp(job, network);
    }
  }

  private labels(job: JobRecord): Record<string, string> {
    return { [CONTRACT_LABELS.server]: this.deps.serverId, [CONTRACT_LABELS.job]: job.id };
  }

  private forEachTask(job: JobRecord, level: EventLevel, message: string): void {
    for (const task of job.tasks) addEvent(job, level, 'Task', `[${task.task}]${message.startsWith('[') ? '' : ' '}${message}`);
  }

  /** Downloads code and inputs once; every task mounts them. Outputs get one folder per task. */
  private async stage(job: JobRecord, signal: AbortSignal): Promise<TaskMounts> {
    const dir = this.jobDir(job);
    const plan = job.plan;
    let codeHostDir: string | undefined;
    if (plan.codeDir) {
      this.forEachTask(job, 'Info', 'The training code is being downloaded.');
      const started = Date.now();
      codeHostDir = openFolder(path.join(dir, 'code'));
      try {
        await this.deps.obs.download(plan.codeDir, codeHostDir, signal);
      } catch (error) {
        if (signal.aborted) return { codeHostDir, inputHostDirs: {}, outputHostDirs: {} };
        throw new SetupError(`Failed to download the training code from ${plan.codeDirUrl}: ${(error as Error).message}`, 'Abnormal', 'CreateFailed');
      }
      openTree(codeHostDir);
      this.forEachTask(job, 'Info', `[time used: ${seconds(started)}s] Training code downloaded.`);
    }
    const inputHostDirs: Record<string, string> = {};
    for (const input of plan.inputs) {
      if (signal.aborted) break;
      this.forEachTask(job, 'Info', `Training input(parameter name: ${input.name}) Downloading.`);
      const started = Date.now();
      const hostDir = openFolder(path.join(dir, 'inputs', input.name));
      try {
        await this.deps.obs.download(input.location, hostDir, signal);
      } catch (error) {
        if (signal.aborted) break;
        throw new SetupError(`Failed to download the training input(parameter name: ${input.name}): ${(error as Error).message}`, 'Failed', 'Failed');
      }
      openTree(hostDir);
      inputHostDirs[input.name] = hostDir;
      this.forEachTask(job, 'Info', `[time used: ${seconds(started)}s] Download training input(parameter name: ${input.name}) finished.`);
    }
    const outputHostDirs: Record<string, string> = {};
    for (const task of job.tasks) {
      for (const output of plan.outputs) outputHostDirs[`${task.task}/${output.name}`] = openFolder(path.join(dir, 'outputs', task.task, output.name));
    }
    return { codeHostDir, inputHostDirs, outputHostDirs };
  }

  private async createTasks(job: JobRecord, mounts: TaskMounts, network: string | undefined): Promise<TaskRun[]> {
    const docker = this.deps.docker;
    try {
      await docker.getImage(job.plan.image).inspect();
    } catch {
      throw new SetupError(`Image ${job.plan.image} is not on this machine (it is never pulled).`, 'Abnormal', 'CreateFailed');
    }
    const runs: TaskRun[] = [];
    for (const task of job.tasks) {
      const outputs = Object.fromEntries(job.plan.outputs.map((o) => [o.name, mounts.outputHostDirs[`${task.task}/${o.name}`] ?? '']));
      const options = taskContainerOptions({ job, task: task.task, index: task.index, serverId: this.deps.serverId, mounts: { ...mounts, outputHostDirs: outputs }, network });
      const container = await docker.createContainer(options);
      const pod = `[Pod: ${taskHostName(job.id, task.task)}]`;
      addEvent(job, 'Info', 'K8S', `${pod} SuccessfulCreate: Created container`);
      // Attach and wait before start, or a fast exit is missed; 'next-exit' because the default
      // condition (not-running) answers at once for a container that has not started yet.
      const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadWriteStream;
      const log = fs.createWriteStream(task.logFile, { flags: 'a' });
      docker.modem.demuxStream(stream, log, log);
      const streamEnded = new Promise<void>((resolve) => {
        stream.on('end', () => resolve());
        stream.on('close', () => resolve());
        stream.on('error', () => resolve());
      });
      const exited = container.wait({ condition: 'next-exit' }).then((r: { StatusCode?: number }) => r.StatusCode ?? -1, () => -1);
      runs.push({ task, container, exited, streamEnded, log });
    }
    this.runs.set(job.id, runs);
    return runs;
  }

  private async runTasks(job: JobRecord, runs: TaskRun[]): Promise<void> {
    const now = Date.now();
    setPhase(job, 'Running');
    job.startTime = now;
    job.nodeCountMetrics = [[now, job.plan.nodeCount]];
    job.runningRecords.push({ start_at: Math.floor(now / 1000), start_type: 'init_or_rescheduled' });
    addEvent(job, 'Info', 'Job', 'Training job is running.');
    const started: TaskRun[] = [];
    for (const run of runs) {
      if (job.terminateRequested) break;
      fs.appendFileSync(run.task.logFile, `[ModelArts Service Log]training start at ${new Date().toISOString()}, task ${run.task.task}\n`);
      run.task.started = true;
      await run.container.start();
      started.push(run);
      addEvent(job, 'Info', 'K8S', `[Pod: ${taskHostName(job.id, run.task.task)}] Started: Started container`);
      addEvent(job, 'Info', 'Task', `[${run.task.task}] training started.`);
      run.sampler = new TaskSampler(run.container, run.task, this.deps.options.timing.metricIntervalMs, job.plan.cpuCores);
      void run.sampler.start();
    }
    // A stop that came while the tasks were being started reaches the ones already running.
    if (job.terminateRequested) await this.terminate(job);
    let failed: TaskRecord | undefined;
    await Promise.all(
      started.map(async (run) => {
        const code = await run.exited;
        run.sampler?.stop();
        run.task.exitCode = code;
        run.task.message = code === 0 ? '' : `exit with ${code}`;
        await Promise.race([run.streamEnded, new Promise((resolve) => setTimeout(resolve, 5000))]);
        await new Promise<void>((resolve) => run.log.end(`[ModelArts Service Log]exit with ${code}\n`, () => resolve()));
        addEvent(job, 'Info', 'Task', `[${run.task.task}] Training finished. Exit code ${code}.`);
        if (code !== 0 && !failed && !job.terminateRequested) {
          failed = run.task;
          // One failed task fails the job: the others are stopped.
          await Promise.all(started.filter((r) => r !== run).map((r) => r.container.stop({ t: 1 }).catch(() => undefined)));
        }
      }),
    );
    const end = Date.now();
    job.nodeCountMetrics.push([end, 0]);
    const record = job.runningRecords.at(-1);
    if (record) {
      record.end_at = Math.floor(end / 1000);
      record.end_reason = job.terminateRequested ? 'job terminated' : failed ? `exit with ${failed.exitCode}` : 'job completed';
      if (failed) record.end_related_task = failed.task;
    }
  }

  /** Outputs (each task's) and logs go to OBS when the tasks have ended. */
  private async deliver(job: JobRecord, mounts: TaskMounts): Promise<void> {
    for (const task of job.tasks) {
      for (const output of job.plan.outputs) {
        const dir = mounts.outputHostDirs[`${task.task}/${output.name}`];
        if (!dir) continue;
        addEvent(job, 'Info', 'Task', `[${task.task}] Training output(parameter name: ${output.name}) Uploading.`);
        const started = Date.now();
        try {
          await this.deps.obs.upload(dir, output.location);
          addEvent(job, 'Info', 'Task', `[${task.task}][time used: ${seconds(started)}s] Upload training output(parameter name: ${output.name}) finished.`);
        } catch (error) {
          addEvent(job, 'Error', 'Task', `[${task.task}] Upload training output(parameter name: ${output.name}) failed: ${(error as Error).message}`);
          task.exitCode ||= 1;
        }
      }
      const logExport = job.plan.logExport;
      if (logExport && fs.existsSync(task.logFile)) {
        await this.deps.obs.put(childOf(logExport, `${taskHostName(job.id, task.task)}.log`), fs.readFileSync(task.logFile)).catch((error: Error) => {
          addEvent(job, 'Warning', 'Task', `[${task.task}] Exporting the log failed: ${error.message}`);
        });
      }
    }
  }

  private finish(job: JobRecord, phase?: Phase, secondary?: string): void {
    if (isTerminal(job.phase)) return;
    job.endTime = Date.now();
    if (job.terminateRequested) {
      setPhase(job, 'Terminated');
      addEvent(job, 'Info', 'Job', 'Training job was stopped manually.');
    } else if (phase) {
      setPhase(job, phase, secondary);
      addEvent(job, 'Error', 'Job', 'Training job failed.');
    } else if (job.tasks.every((t) => t.exitCode === 0)) {
      setPhase(job, 'Completed');
      addEvent(job, 'Info', 'Job', 'Training job completed.');
    } else {
      setPhase(job, 'Failed');
      addEvent(job, 'Error', 'Job', 'Training job failed.');
    }
  }

  private async cleanUp(job: JobRecord, network: string | undefined): Promise<void> {
    for (const run of this.runs.get(job.id) ?? []) {
      run.sampler?.stop();
      if (!run.log.writableEnded) run.log.end();
      await run.container.remove({ force: true }).catch(() => undefined);
    }
    this.runs.delete(job.id);
    if (network) await this.deps.docker.getNetwork(network).remove().catch(() => undefined);
  }
}

async function removeLabelled(docker: Docker, serverId: string): Promise<void> {
  const filters = { label: [`${CONTRACT_LABELS.server}=${serverId}`] };
  const containers = await docker.listContainers({ all: true, filters }).catch(() => []);
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  const networks = await docker.listNetworks({ filters }).catch(() => []);
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => undefined)));
}
