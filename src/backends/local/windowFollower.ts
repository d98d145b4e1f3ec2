/**
 * One writer per data folder: every VS Code window of a profile shares the local backend's data
 * folder, and only the window holding the writer lock follows Docker, captures logs and changes
 * records. Another window follows what it writes (records, logs, samples, algorithms) as it
 * changes, refuses changes, and takes over once that window is gone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Algorithm } from '../../core/algorithm';
import { errorMessage } from '../../core/errors';
import { otherWindowError, type LocalRuntime } from './localRuntime';
import { WriterLock, type LockHolder } from './writerLock';

export class WindowFollower {
  readonly lock: WriterLock;
  private current: { readonly holder: LockHolder; readonly stop: () => void } | undefined;

  constructor(
    private readonly runtime: LocalRuntime,
    /** Connects again (to take over as the writer). */
    private readonly reconnect: () => Promise<unknown>,
  ) {
    this.lock = new WriterLock(path.join(runtime.options.dataDir, 'engine.lock'));
  }

  /** Whether another window writes this data folder (and this one only follows it). */
  get following(): boolean {
    return this.current !== undefined;
  }

  /** Follows the window that holds the lock. */
  follow(holder: LockHolder): void {
    if (this.current) return;
    const { runtime } = this;
    const { dataDir } = runtime.options;
    runtime.logger.info(`Another window (process ${holder.pid}) runs the local engine for ${dataDir}; this one follows it.`);
    const pending = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const paths = [...pending];
      pending.clear();
      void this.applyForeignChanges(paths);
    };
    let watcher: fs.FSWatcher | undefined;
    try {
      watcher = fs.watch(dataDir, { recursive: true }, (_event, file) => {
        if (!file) return;
        pending.add(file.toString());
        timer ??= setTimeout(flush, 100);
      });
      watcher.on('error', (error) => runtime.logger.warn(`Watching ${dataDir} failed: ${errorMessage(error)}`));
    } catch (error) {
      runtime.logger.warn(`Cannot watch ${dataDir} (${errorMessage(error)}); jobs of the other window show after a refresh.`);
    }
    const takeOver = setInterval(() => {
      if (this.lock.tryAcquire().acquired) void this.reconnect();
    }, 2000);
    takeOver.unref();
    this.current = {
      holder,
      stop: () => {
        watcher?.close();
        clearTimeout(timer);
        clearInterval(takeOver);
      },
    };
  }

  /** Stops following (this window took over, or goes away). */
  stop(): void {
    this.current?.stop();
    this.current = undefined;
  }

  private async applyForeignChanges(paths: readonly string[]): Promise<void> {
    const { runtime } = this;
    const jobs = new Set<string>();
    let algorithms = false;
    for (const file of paths) {
      const parts = file.split(path.sep);
      if (parts[0] === 'jobs' && parts[1]) {
        if (parts[2] === 'logs' && parts[3]?.endsWith('.log')) runtime.logEmitter.fire(`${parts[1]}/${parts[3].slice(0, -4)}`);
        else if (parts[2] === 'stats.jsonl') void runtime.parts.stats.tail(parts[1]);
        else jobs.add(parts[1]);
      } else if (parts[0] === 'algorithms') {
        algorithms = true;
      }
    }
    for (const id of jobs) {
      const change = await runtime.store.refresh(id);
      if (change) runtime.ledger.announce(change);
    }
    if (algorithms) {
      const before = new Map(runtime.algorithms.list().map((a) => [a.metadata.id, JSON.stringify(a)]));
      await runtime.algorithms.load();
      for (const algorithm of runtime.algorithms.list()) {
        const was = before.get(algorithm.metadata.id);
        before.delete(algorithm.metadata.id);
        if (was !== JSON.stringify(algorithm)) runtime.algorithmEmitter.fire({ kind: was === undefined ? 'created' : 'updated', algorithm });
      }
      for (const gone of before.values()) runtime.algorithmEmitter.fire({ kind: 'deleted', algorithm: JSON.parse(gone) as Algorithm });
    }
  }

  /** Changes go through the one window that writes this data folder; this one takes over when it can. */
  async requireWriter(): Promise<void> {
    if (!this.current) return;
    if (this.lock.tryAcquire().acquired) {
      await this.reconnect();
      if (!this.current) return;
    }
    throw otherWindowError(this.current.holder.pid);
  }
}
