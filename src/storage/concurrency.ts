/** Bounded concurrency for transfers: at most N operations in flight, cancellable. */
import { setMaxListeners } from 'node:events';
import { CancelledError } from '../core/errors';

/** Counts slots; `acquire` waits for a free one (or rejects when `signal` aborts while waiting). */
export class Semaphore {
  private available: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a semaphore needs at least one slot (got ${size})`);
    this.available = size;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    throwIfAborted(signal);
    if (this.available > 0) {
      this.available -= 1;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(cancelled(signal));
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.releaser();
  }

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.available += 1;
    };
  }
}

/**
 * Runs `task` for every item, at most `limit` at a time. The first failure (or an abort of
 * `signal`) stops scheduling and aborts the signal given to the tasks in flight; it is rethrown
 * once they have all settled, so nothing is still writing when this returns.
 */
export async function forEachConcurrently<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const controller = new AbortController();
  // Every request in flight listens to it: more than Node's default of 10 is expected.
  setMaxListeners(Math.max(10, limit * 4), controller.signal);
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) throw cancelled(signal);
  signal?.addEventListener('abort', onAbort, { once: true });
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    for (;;) {
      if (failure || controller.signal.aborted) return;
      const next = iterator.next();
      if (next.done) return;
      try {
        await task(next.value, controller.signal);
      } catch (error) {
        failure ??= { error };
        controller.abort(error);
        return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw cancelled(signal);
  if (failure) throw failure.error;
}

export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw cancelled(signal, what);
}

/** The error an aborted transfer ends with: the abort reason when it is already one of ours. */
export function cancelled(signal: AbortSignal | undefined, what = 'Transfer'): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof CancelledError) return reason;
  return new CancelledError(what);
}
