/**
 * Reads a task's log file from the start and then follows it while it grows, in batches of lines,
 * until the log is complete. Memory stays bounded whatever the log's size: at most one read
 * buffer of lines is held at a time.
 */
import * as fs from 'node:fs';
import type { Event } from '../../core/events';
import { LineSplitter } from '../../core/lines';

export interface FollowOptions {
  /** True once nothing will be appended any more. */
  isComplete(): boolean;
  /** Fires when the file may have grown or the log may have become complete. */
  changes: Event<unknown>;
  signal?: AbortSignal;
  /** Safety net for changes made by another process, which `changes` does not see. */
  recheckMs?: number;
  chunkBytes?: number;
}

export async function* followLogFile(file: string, options: FollowOptions): AsyncGenerator<string[]> {
  const chunk = Buffer.allocUnsafe(options.chunkBytes ?? 1 << 20);
  const lines = new LineSplitter();
  let offset = 0;
  let handle: fs.promises.FileHandle | undefined;
  try {
    for (;;) {
      if (options.signal?.aborted) return;
      // Read the completion flag before reading, so data written before completion is never missed.
      const complete = options.isComplete();
      handle ??= await openIfExists(file);
      if (handle) {
        for (;;) {
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          const batch = lines.push(chunk.subarray(0, bytesRead));
          if (batch.length) yield batch;
          if (options.signal?.aborted) return;
        }
      }
      if (complete) {
        const last = lines.end();
        if (last !== undefined) yield [last];
        return;
      }
      await nextChange(options);
    }
  } finally {
    await handle?.close();
  }
}

async function openIfExists(file: string): Promise<fs.promises.FileHandle | undefined> {
  try {
    return await fs.promises.open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function nextChange(options: FollowOptions): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      subscription.dispose();
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', done);
      resolve();
    };
    const subscription = options.changes(done);
    const timer = setTimeout(done, options.recheckMs ?? 1000);
    options.signal?.addEventListener('abort', done, { once: true });
  });
}
