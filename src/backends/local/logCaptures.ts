/**
 * Each running task's log, captured from Docker into the job's log file while it runs, and
 * followed from that file by readers (every line once, in order). A task's capture is opened once,
 * drained (bounded) when its container exits, and a log still being read when the bound passes (a
 * million lines) goes on in the background: the phase does not wait for it, and no line is dropped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DisposableStore, type Event } from '../../core/events';
import { errorMessage } from '../../core/errors';
import { isTerminalPhase } from '../../core/lifecycle';
import type { FollowLogOptions } from '../trainingBackend';
import { dockerErrorMessage } from './docker';
import { TaskLogCapture } from './logCapture';
import { followLogFile } from './logFollower';
import type { LocalRuntime } from './localRuntime';

/** A task's log capture, possibly still opening its stream. */
interface CaptureHandle {
  readonly done: Promise<void>;
  stop(): void;
  /** The container has exited; the rest of its log is being read in the background. */
  draining?: boolean;
}

export class LogCaptures {
  private readonly captures = new Map<string, CaptureHandle>();

  constructor(private readonly runtime: LocalRuntime) {}

  /** Whether a task's log is still being captured. */
  has(id: string, task: string): boolean {
    return this.captures.has(`${id}/${task}`);
  }

  /** The captures still reading a job's tasks. */
  pending(id: string, tasks: readonly string[]): Promise<void>[] {
    return tasks.flatMap((task) => {
      const capture = this.captures.get(`${id}/${task}`);
      return capture ? [capture.done] : [];
    });
  }

  ensure(id: string, task: string, containerId: string): void {
    const key = `${id}/${task}`;
    const existing = this.captures.get(key);
    if (existing?.draining) {
      // The previous run's log is still being read (a restart): the new run's capture follows it.
      void existing.done.finally(() => this.ensure(id, task, containerId));
      return;
    }
    if (existing) return;
    const { runtime } = this;
    const file = runtime.store.logFile(id, task);
    // Registered synchronously, so a second start event never opens a second capture.
    let capture: TaskLogCapture | undefined;
    let stopped = false;
    const starting = fs.promises.mkdir(path.dirname(file), { recursive: true }).then(() =>
      TaskLogCapture.start(runtime.docker.getContainer(containerId), file, {
        onAppend: () => runtime.logEmitter.fire(key),
        onError: (error) => runtime.logger.warn(`Log capture of ${key} failed: ${errorMessage(error)}`),
      }),
    );
    this.captures.set(key, {
      done: starting.then(
        (started) => {
          capture = started;
          if (stopped) started.stop();
          return started.done;
        },
        (error: unknown) => runtime.logger.warn(`Could not read the log of ${key}: ${dockerErrorMessage(error)}`),
      ),
      stop: () => {
        stopped = true;
        capture?.stop();
      },
    });
  }

  /** Waits (bounded) until the task's log is on disk, then forgets its capture. */
  async drain(id: string, task: string): Promise<void> {
    const key = `${id}/${task}`;
    const capture = this.captures.get(key);
    if (!capture) return;
    const limit = this.runtime.options.logDrainMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limit)));
    const outcome = await Promise.race([capture.done.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    const forget = () => {
      if (this.captures.get(key) === capture) this.captures.delete(key);
      this.runtime.logEmitter.fire(key);
    };
    if (outcome === 'timeout') {
      this.runtime.logger.info(`The log of ${key} is still being read ${limit} ms after its container's exit; it goes on in the background.`);
      capture.draining = true;
      void capture.done.finally(forget);
      return;
    }
    forget();
  }

  stop(id: string, task: string): void {
    const key = `${id}/${task}`;
    this.captures.get(key)?.stop();
    this.captures.delete(key);
    this.runtime.logEmitter.fire(key);
  }

  /** Every capture stops (the connection to Docker broke, or the backend is disposed); reconciliation reopens them. */
  stopAll(): void {
    for (const capture of this.captures.values()) capture.stop();
    this.captures.clear();
  }

  async readLog(id: string, task: string): Promise<string> {
    await this.runtime.ensureLoaded();
    this.runtime.requireTask(id, task);
    try {
      return await fs.promises.readFile(this.runtime.store.logFile(id, task), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    }
  }

  async *follow(id: string, task: string, options: FollowLogOptions = {}): AsyncGenerator<string[]> {
    const { runtime } = this;
    await runtime.ensureLoaded();
    runtime.requireTask(id, task);
    const key = `${id}/${task}`;
    const changes: Event<unknown> = (listener, _thisArgs, disposables) => {
      const store = new DisposableStore();
      store.register(runtime.logEmitter.event((changed) => changed === key && listener(changed)));
      store.register(runtime.ledger.onDidChangeJob((change) => change.job.metadata.id === id && listener(change)));
      disposables?.push(store);
      return store;
    };
    yield* followLogFile(runtime.store.logFile(id, task), {
      isComplete: () => {
        const record = runtime.store.get(id);
        return !record || (isTerminalPhase(record.job.status.phase) && !this.captures.has(key));
      },
      changes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
}
