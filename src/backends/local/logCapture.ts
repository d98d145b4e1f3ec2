/**
 * Captures a task container's stdout and stderr into the task's log file, each line exactly once.
 * Docker keeps a container's whole log, so on (re)attach the capture counts the complete lines
 * already in the file and skips as many from Docker's replay: nothing is duplicated or lost when
 * the extension host or the Docker daemon restarts mid-job.
 */
import type Docker from 'dockerode';
import * as fs from 'node:fs';
import { LineSplitter } from '../../core/lines';

const HEADER = 8;

/** Counts "\n" bytes in a file (0 if it does not exist), reading 1 MiB at a time. */
export async function countLines(file: string): Promise<number> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let count = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return count;
      let at = buffer.indexOf(10);
      while (at >= 0 && at < bytesRead) {
        count += 1;
        at = buffer.indexOf(10, at + 1);
      }
    }
  } finally {
    await handle.close();
  }
}

/**
 * Splits Docker's multiplexed log stream (8-byte frame headers: stream type, 3 zero bytes, size)
 * into lines, stdout and stderr each with their own splitter so a partial line of one is never
 * glued to the other.
 */
export class DockerLogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  private readonly splitters = [new LineSplitter(), new LineSplitter(), new LineSplitter()];

  push(chunk: Buffer): string[] {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const lines: string[] = [];
    let offset = 0;
    while (data.length - offset >= HEADER) {
      const type = data[offset] ?? 1;
      const size = data.readUInt32BE(offset + 4);
      if (data.length - offset - HEADER < size) break;
      const payload = data.subarray(offset + HEADER, offset + HEADER + size);
      const splitter = this.splitters[type] ?? this.splitters[1]!;
      for (const line of splitter.push(payload)) lines.push(line);
      offset += HEADER + size;
    }
    data = data.subarray(offset);
    // Keep only the unparsed tail (copied, so the big chunk can be collected).
    this.pending = data.length ? Buffer.from(data) : Buffer.alloc(0);
    return lines;
  }

  end(): string[] {
    return this.splitters.map((s) => s.end()).filter((line): line is string => line !== undefined);
  }
}

export interface LogCaptureOptions {
  /** Called after each batch of lines reached the file. */
  onAppend(): void;
  onError(error: unknown): void;
}

export class TaskLogCapture {
  /** Resolves when Docker ended the stream (the container stopped) and the file is flushed. */
  readonly done: Promise<void>;
  private stream: NodeJS.ReadableStream | undefined;
  private stopped = false;

  private constructor(done: Promise<void>) {
    this.done = done;
  }

  static async start(container: Docker.Container, file: string, options: LogCaptureOptions): Promise<TaskLogCapture> {
    let skip = await countLines(file);
    const stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const out = fs.createWriteStream(file, { flags: 'a' });
    const demuxer = new DockerLogDemuxer();
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const capture = new TaskLogCapture(done);
    capture.stream = stream;

    const write = (lines: string[]) => {
      if (skip > 0) {
        const skipped = Math.min(skip, lines.length);
        skip -= skipped;
        lines = skipped ? lines.slice(skipped) : lines;
      }
      if (lines.length === 0) return true;
      const ok = out.write(lines.join('\n') + '\n');
      options.onAppend();
      return ok;
    };

    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      write(demuxer.end());
      out.end(() => {
        options.onAppend();
        resolveDone();
      });
    };

    stream.on('data', (chunk: Buffer) => {
      if (!write(demuxer.push(chunk))) {
        // Bounded memory: let the file catch up before reading more from Docker.
        stream.pause();
        out.once('drain', () => stream.resume());
      }
    });
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', (error: unknown) => {
      if (!capture.stopped) options.onError(error);
      finish();
    });
    out.on('error', (error) => options.onError(error));
    return capture;
  }

  /** Stops reading (the engine is shutting down); the file keeps what was captured. */
  stop(): void {
    this.stopped = true;
    (this.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
  }
}
