/**
 * Dev containers: a training job's container, run for development. The container is built from the
 * same plan and the same container spec as the job's task (image, user, paths, staged inputs,
 * output folders, flags, MA_* variables, limits), with three differences: the code folder is
 * bind-mounted instead of copied (edits are live), the boot file may run under debugpy listening on
 * a port published on 127.0.0.1 only, and the container belongs to no job.
 *
 * Nothing is left behind: `remove()` is idempotent, every failed launch removes what it made, and
 * containers whose owning process died (an editor that crashed) are swept at the next connection.
 */
import type Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { bootArguments, containerBootFile, containerCodeDir, MA_USER_GID, MA_USER_UID, PYTHON } from '../../core/contract';
import { CancelledError, InvalidInputError, InvalidStateError } from '../../core/errors';
import { parseJobCreateRequest, type TrainingJob, type ValidJobCreateRequest } from '../../core/job';
import type { Logger } from '../../core/logger';
import { openUpForContainerUser, readableByContainerUser } from '../../storage/fileModes';
import type { StoreLocation } from '../../storage/objectStore';
import type { DevContainer, DevContainerHost, DevContainerOptions, DevContainerOutput, DevContainerShell } from '../capabilities';
import { taskContainerSpec } from './containerSpec';
import { LABELS, MANAGED_BY, containerInspectSchema, containerSummarySchema, dockerErrorMessage, isDockerStatus, parseDocker } from './docker';
import type { LocalJobPlan } from './jobPlanner';

/** debugpy's port inside the container; Docker publishes it on a free port of 127.0.0.1. */
export const DEBUGPY_PORT = 5678;
/** Labels a dev container with its owner, `<host name>:<process id>`, so a crashed owner's containers can be swept. */
export const DEV_OWNER_LABEL = 'org.modelarts-training.dev-owner';
/** Output folders of this many recent dev sessions are kept; older ones are removed at a launch. */
const KEPT_SESSIONS = 5;
const LISTEN_TIMEOUT_MS = 60_000;
const LISTEN_POLL_MS = 50;

export interface DevContainerDeps {
  readonly docker: Docker;
  readonly storeId: string;
  /** Folder of the dev sessions' output folders. */
  readonly devRoot: string;
  readonly logger: Logger;
  /** Docker runs on this machine (bind mounts and 127.0.0.1 reach it); otherwise why not. */
  readonly localDocker: () => string | undefined;
  readonly ensureAvailable: () => Promise<void>;
  readonly plan: (request: ValidJobCreateRequest, id: string) => Promise<LocalJobPlan>;
  readonly stageStoreInput: (
    name: string,
    location: StoreLocation,
    signal: AbortSignal | undefined,
    progress: (message: string) => void,
  ) => Promise<{ readonly dir: string; readonly release: () => void; readonly message: string }>;
}

/** The command that runs the boot file under debugpy, waiting for the editor to attach before it starts. */
export function debugCommand(algorithm: TrainingJob['algorithm']): string[] {
  return [
    PYTHON,
    // Frozen stdlib modules would keep breakpoints in them from binding.
    '-Xfrozen_modules=off',
    '-m',
    'debugpy',
    '--listen',
    `0.0.0.0:${DEBUGPY_PORT}`,
    '--wait-for-client',
    containerBootFile(algorithm.code_dir, algorithm.boot_file),
    ...bootArguments(algorithm),
  ];
}

/** Whether /proc/net/tcp{,6} text shows a socket listening on `port` (state 0A). */
export function listensOn(procNetTcp: string, port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return procNetTcp.split('\n').some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1]?.toUpperCase().endsWith(`:${hex}`) === true && fields[3] === '0A';
  });
}

function owner(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** Whether the process an owner label names is gone (only decidable on this host). */
function ownerGone(label: string | undefined): boolean {
  const [host, pid] = (label ?? '').split(':');
  if (host !== os.hostname() || !pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class LocalDevContainers implements DevContainerHost {
  private readonly live = new Map<string, LocalDevContainer>();
  private readonly leaving = new Set<LocalDevContainer>();

  constructor(private readonly deps: DevContainerDeps) {}

  get running(): readonly DevContainer[] {
    return [...this.live.values()];
  }

  async check(request: unknown, options: Pick<DevContainerOptions, 'debug'> = {}): Promise<TrainingJob> {
    return (await this.plan(request, 'dev-check', options.debug === true)).job;
  }

  /** Everything a launch checks before it creates anything. */
  private async plan(request: unknown, id: string, debug: boolean): Promise<LocalJobPlan> {
    const valid = parseJobCreateRequest(request);
    const nodes = valid.spec?.resource?.node_count ?? 1;
    if (nodes !== 1) {
      throw new InvalidInputError('Dev container', [
        { field: 'spec.resource.node_count', message: `must be 1: a dev container is one node (got ${nodes}); run several nodes as a training job` },
      ]);
    }
    const remote = this.deps.localDocker();
    if (remote) throw new InvalidStateError(`Dev containers need Docker on this machine: ${remote}`);
    await this.deps.ensureAvailable();
    const plan = await this.deps.plan(valid, id);
    if (debug && !plan.job.algorithm.boot_file) {
      throw new InvalidInputError('Dev container', [
        { field: 'algorithm.boot_file', message: 'is required to debug: debugpy runs the Python boot file (a custom command can only run without debugging)' },
      ]);
    }
    return plan;
  }

  async launch(request: unknown, options: DevContainerOptions = {}): Promise<DevContainer> {
    const id = `dev-${randomUUID().slice(0, 8)}`;
    const plan = await this.plan(request, id, options.debug === true);
    const { job } = plan;
    const progress = options.onProgress ?? (() => undefined);
    const signal = options.signal;
    const releases: Array<() => void> = [];
    const preparation: string[] = [];
    let container: Docker.Container | undefined;
    try {
      const inputDirs: Record<string, string> = {};
      for (const input of plan.inputs) {
        throwIfAborted(signal);
        if (input.source.kind === 'folder') {
          inputDirs[input.name] = input.source.hostDir;
          preparation.push(`Input ${input.name}: folder ${input.source.hostDir}, mounted read-only at ${input.localDir}.`);
          continue;
        }
        const staged = await this.deps.stageStoreInput(input.name, input.source.location, signal, progress);
        releases.push(staged.release);
        inputDirs[input.name] = staged.dir;
        preparation.push(staged.message);
      }
      throwIfAborted(signal);
      if (plan.codeDir !== undefined && !(await readableByContainerUser(plan.codeDir))) {
        preparation.push(`Warning: ${plan.codeDir} is not readable by others; the code runs as ma-user (UID ${MA_USER_UID}) and may not read it through the mount.`);
      }
      const outputDirs = await this.prepareOutputs(id, job);
      for (const output of job.algorithm.outputs) {
        preparation.push(`Output ${output.name}: ${output.local_dir} is ${outputDirs[output.name]} on this machine (kept after the session).`);
      }
      progress('Creating the dev container');
      const spec = devContainerSpec(plan, { id, inputDirs, outputDirs, storeId: this.deps.storeId, debug: options.debug === true });
      container = await this.deps.docker.createContainer(spec);
      const devContainer = new LocalDevContainer(this.deps, id, container, job, spec.Cmd as string[], outputDirs, preparation, releases, () => this.leave(id), options.onOutput);
      this.live.set(id, devContainer);
      await devContainer.start(options.debug === true, signal, progress);
      return devContainer;
    } catch (error) {
      if (container) {
        const made = this.live.get(id);
        if (made) await made.remove();
        else await removeContainer(this.deps, container.id);
      } else {
        for (const release of releases) release();
      }
      if (signal?.aborted) throw new CancelledError('Starting the dev container');
      throw error;
    }
  }

  /** Fresh output folders for the session, writable by ma-user; the oldest sessions' folders go. */
  private async prepareOutputs(id: string, job: TrainingJob): Promise<Record<string, string>> {
    await fs.promises.mkdir(this.deps.devRoot, { recursive: true });
    const sessions = await fs.promises.readdir(this.deps.devRoot, { withFileTypes: true });
    const dated = await Promise.all(
      sessions
        .filter((entry) => entry.isDirectory() && entry.name.startsWith('dev-') && ![...this.live.keys()].includes(entry.name))
        .map(async (entry) => ({ name: entry.name, at: (await fs.promises.stat(path.join(this.deps.devRoot, entry.name))).mtimeMs })),
    );
    dated.sort((a, b) => b.at - a.at);
    for (const old of dated.slice(KEPT_SESSIONS - 1)) await fs.promises.rm(path.join(this.deps.devRoot, old.name), { recursive: true, force: true });
    const dirs: Record<string, string> = {};
    for (const output of job.algorithm.outputs) {
      const dir = path.join(this.deps.devRoot, id, 'outputs', output.name);
      await fs.promises.mkdir(dir, { recursive: true });
      await openUpForContainerUser(dir);
      dirs[output.name] = dir;
    }
    return dirs;
  }

  /** Removes dev containers of this engine whose owning process is gone (an editor that crashed). */
  async sweep(): Promise<number> {
    const listed = await this.deps.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managedBy}=${MANAGED_BY}`, `${LABELS.store}=${this.deps.storeId}`, DEV_OWNER_LABEL] },
    });
    const containers = parseDocker(z.array(containerSummarySchema), listed, 'GET /containers/json');
    let removed = 0;
    for (const summary of containers) {
      if (!ownerGone(summary.Labels?.[DEV_OWNER_LABEL])) continue;
      await removeContainer(this.deps, summary.Id);
      removed++;
    }
    if (removed) this.deps.logger.info(`Removed ${removed} dev container(s) left behind by an editor that ended`);
    return removed;
  }

  /** A container being removed is no longer running, but removeAll() still waits for it. */
  private leave(id: string): void {
    const container = this.live.get(id);
    if (!container) return;
    this.live.delete(id);
    this.leaving.add(container);
    void container.remove().finally(() => this.leaving.delete(container));
  }

  /** Removes every dev container of this process, including those already on their way out (the editor is closing). */
  async removeAll(): Promise<void> {
    await Promise.all([...this.live.values(), ...this.leaving].map((container) => container.remove()));
  }
}

interface DevSpecOptions {
  readonly id: string;
  readonly inputDirs: Record<string, string>;
  readonly outputDirs: Record<string, string>;
  readonly storeId: string;
  readonly debug: boolean;
}

/** The task container spec of the job, with the code bind-mounted, debugpy's port published on 127.0.0.1, and no job label. */
export function devContainerSpec(plan: LocalJobPlan, options: DevSpecOptions): Docker.ContainerCreateOptions {
  const { job } = plan;
  const base = taskContainerSpec({
    job,
    local: { containers: {}, inputDirs: options.inputDirs, outputDirs: options.outputDirs, admitted: true, attempt: 0 },
    flavor: plan.flavor,
    task: 'worker-0',
    index: 0,
    storeId: options.storeId,
  });
  const codeBind = plan.codeDir === undefined ? [] : [`${plan.codeDir}:${containerCodeDir(job.algorithm.code_dir)}`];
  const port = `${DEBUGPY_PORT}/tcp`;
  return {
    ...base,
    name: `modelarts-${options.id}`,
    Cmd: options.debug ? debugCommand(job.algorithm) : base.Cmd,
    AttachStdout: true,
    AttachStderr: true,
    Labels: {
      [LABELS.managedBy]: MANAGED_BY,
      [LABELS.store]: options.storeId,
      [DEV_OWNER_LABEL]: owner(),
    },
    ...(options.debug ? { ExposedPorts: { [port]: {} } } : {}),
    HostConfig: {
      ...base.HostConfig,
      Binds: [...(base.HostConfig?.Binds ?? []), ...codeBind],
      ...(options.debug ? { PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] } } : {}),
    },
  };
}

const waitSchema = z.looseObject({ StatusCode: z.number() });
const publishedPortsSchema = z.looseObject({
  NetworkSettings: z.looseObject({
    Ports: z.record(z.string(), z.array(z.looseObject({ HostIp: z.string(), HostPort: z.string() })).nullable()).nullable().optional(),
  }),
});

class LocalDevContainer implements DevContainer {
  readonly exited: Promise<{ exitCode: number; oomKilled: boolean }>;
  private resolveExit!: (value: { exitCode: number; oomKilled: boolean }) => void;
  private attached: NodeJS.ReadWriteStream | undefined;
  private removing: Promise<void> | undefined;
  private readonly shells = new Set<DevContainerShell>();
  /** The last output, for the message when the program ends before debugpy listens. */
  private tail = '';
  debugPort: number | undefined;

  constructor(
    private readonly deps: DevContainerDeps,
    readonly id: string,
    private readonly container: Docker.Container,
    readonly job: TrainingJob,
    readonly command: readonly string[],
    readonly outputDirs: Readonly<Record<string, string>>,
    readonly preparation: readonly string[],
    private readonly releases: Array<() => void>,
    private readonly forget: () => void,
    private readonly sink: ((output: DevContainerOutput) => void) | undefined,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get containerId(): string {
    return this.container.id;
  }

  get codeMapping(): DevContainer['codeMapping'] {
    const codeDir = this.job.algorithm.code_dir;
    if (!codeDir) return undefined;
    return { localRoot: codeDir.replace(/[\\/]+$/, ''), remoteRoot: containerCodeDir(codeDir) };
  }

  /** Attaches to the output, starts, and when debugging waits until debugpy listens. */
  async start(debug: boolean, signal: AbortSignal | undefined, progress: (message: string) => void): Promise<void> {
    // Attach and wait before the start, or a fast exit and its output are missed.
    const stream = (await this.container.attach({ stream: true, stdout: true, stderr: true, logs: true })) as NodeJS.ReadWriteStream;
    this.attached = stream;
    const decoded = (name: 'stdout' | 'stderr') => {
      const sink = new PassThrough();
      const decoder = new StringDecoder('utf8');
      sink.on('data', (chunk: Buffer) => this.emitOutput(name, decoder.write(chunk)));
      sink.on('end', () => this.emitOutput(name, decoder.end()));
      return sink;
    };
    this.deps.docker.modem.demuxStream(stream, decoded('stdout'), decoded('stderr'));
    const waited = this.container.wait({ condition: 'next-exit' }) as Promise<unknown>;
    void waited.then(
      async (result) => {
        const { StatusCode } = parseDocker(waitSchema, result, 'POST /containers/{id}/wait');
        const inspect = await this.container.inspect().catch(() => undefined);
        const oomKilled = inspect ? parseDocker(containerInspectSchema, inspect, 'GET /containers/{id}/json').State.OOMKilled === true : false;
        this.resolveExit({ exitCode: StatusCode, oomKilled });
      },
      () => this.resolveExit({ exitCode: -1, oomKilled: false }),
    );
    progress(debug ? 'Starting the dev container and debugpy' : 'Starting the dev container');
    await this.container.start();
    if (!debug) return;
    const inspect = parseDocker(publishedPortsSchema, await this.container.inspect(), 'GET /containers/{id}/json');
    const binding = inspect.NetworkSettings.Ports?.[`${DEBUGPY_PORT}/tcp`]?.find((b) => b.HostIp === '127.0.0.1');
    const hostPort = Number(binding?.HostPort);
    if (!Number.isInteger(hostPort) || hostPort <= 0) throw new Error(`Docker did not publish debugpy's port ${DEBUGPY_PORT} on 127.0.0.1`);
    progress('Waiting for debugpy to listen');
    await this.waitForListener(signal);
    this.debugPort = hostPort;
  }

  private emitOutput(stream: 'stdout' | 'stderr', text: string): void {
    if (!text) return;
    this.tail = (this.tail + text).slice(-2000);
    this.sink?.({ stream, text });
  }

  /**
   * A published port accepts connections before anything listens behind it, so "connected" proves
   * nothing; the container's own socket table does. Polled until debugpy listens, the program
   * ends, the launch is cancelled or a minute passes.
   */
  private async waitForListener(signal: AbortSignal | undefined): Promise<void> {
    const started = Date.now();
    let ended = false;
    void this.exited.then(() => (ended = true));
    for (;;) {
      throwIfAborted(signal);
      if (ended) {
        const { exitCode } = await this.exited;
        throw new Error(`The program ended (exit code ${exitCode}) before debugpy listened${this.tail ? `:\n${this.tail.trim()}` : ''}`);
      }
      const table = await this.execText(['cat', '/proc/net/tcp', '/proc/net/tcp6']).catch(() => '');
      if (listensOn(table, DEBUGPY_PORT)) return;
      if (Date.now() - started > LISTEN_TIMEOUT_MS) throw new Error(`debugpy did not listen on port ${DEBUGPY_PORT} within ${LISTEN_TIMEOUT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, LISTEN_POLL_MS));
    }
  }

  private async execText(command: string[]): Promise<string> {
    const exec = await this.container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    this.deps.docker.modem.demuxStream(stream, out, new PassThrough().resume());
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    return Buffer.concat(chunks).toString('utf8');
  }

  async openShell(size: { readonly columns: number; readonly rows: number }): Promise<DevContainerShell> {
    const exec = await this.container.exec({
      // bash when the image has it, else sh; a login shell reads the image's profile.
      Cmd: ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi'],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: true,
      User: `${MA_USER_UID}:${MA_USER_GID}`,
    });
    const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as NodeJS.ReadWriteStream;
    const resize = async (columns: number, rows: number) => {
      await exec.resize({ w: columns, h: rows }).catch((error: unknown) => this.deps.logger.warn(`Resizing the dev container shell: ${dockerErrorMessage(error)}`));
    };
    await resize(size.columns, size.rows);
    const exited = new Promise<number>((resolve) => {
      const done = () =>
        void exec.inspect().then(
          (info: { ExitCode?: number | null }) => resolve(info.ExitCode ?? 0),
          () => resolve(-1),
        );
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
    });
    const shell: DevContainerShell = {
      stream,
      resize,
      exited,
      close: () => {
        (stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();
        this.shells.delete(shell);
      },
    };
    this.shells.add(shell);
    return shell;
  }

  remove(): Promise<void> {
    if (this.removing) return this.removing;
    this.removing = this.removeNow();
    this.forget();
    return this.removing;
  }

  private async removeNow(): Promise<void> {
    for (const shell of [...this.shells]) shell.close();
    await removeContainer(this.deps, this.container.id);
    (this.attached as (NodeJS.ReadWriteStream & { destroy?: () => void }) | undefined)?.destroy?.();
    this.resolveExit({ exitCode: -1, oomKilled: false });
    for (const release of this.releases.splice(0)) release();
  }
}

async function removeContainer(deps: DevContainerDeps, id: string): Promise<void> {
  try {
    await deps.docker.getContainer(id).remove({ force: true, v: true });
  } catch (error) {
    if (!isDockerStatus(error, 404) && !isDockerStatus(error, 409)) deps.logger.warn(`Could not remove dev container ${id}: ${dockerErrorMessage(error)}`);
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('Starting the dev container');
}
