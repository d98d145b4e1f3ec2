/**
 * Following a task's log on ModelArts, which has no stream: the log preview holds the last part
 * of the log (`content`, `current_size` of `full_size` bytes), so the tail polls it and takes only
 * the bytes after what it has. When the preview's window has moved past them (a fast log over the
 * preview's size limit), the whole log is read once from its OBS link instead. Lines are emitted
 * complete, each once and in order; the last one (without a newline) when the job has ended.
 */
import { CancelledError } from '../../core/errors';
import { abortableDelay } from '../../core/events';
import type { LogPreview } from './schemas';

export interface LogSource {
  /** The preview now, or undefined before the task has a log. */
  preview(signal?: AbortSignal): Promise<LogPreview | undefined>;
  /** The whole log as it is now (through its OBS link). */
  fullLog(signal?: AbortSignal): Promise<Buffer>;
  /** Whether the job has ended (its log is complete); asked before each preview. */
  ended(): Promise<boolean>;
}

export interface TailOptions {
  readonly signal?: AbortSignal;
  readonly intervalMs: number;
  /** Told each time the whole log had to be read (the window had moved on). */
  readonly onFullRead?: () => void;
  /** A failure worth waiting out (throttling, a 5xx, a dropped connection): the tail goes on after the interval. */
  readonly transient?: (error: unknown) => boolean;
}

function previewBytes(preview: LogPreview): { start: number; bytes: Buffer; exact: boolean } {
  const bytes = Buffer.from(preview.content ?? preview.context ?? '', 'utf8');
  // The window is the log's last bytes. A window cut inside a character comes back re-encoded with
  // another length: its byte offsets are then not to be trusted.
  const exact = bytes.length === preview.current_size;
  return { start: Math.max(0, preview.full_size - bytes.length), bytes, exact };
}

/** Complete lines from a byte stream, keeping the unfinished end (and split characters) for later. */
class LineSplitter {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const last = data.lastIndexOf(0x0a);
    if (last < 0) {
      this.rest = data;
      return [];
    }
    this.rest = data.subarray(last + 1);
    return data
      .subarray(0, last)
      .toString('utf8')
      .split('\n')
      .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  }

  end(): string[] {
    const rest = this.rest.toString('utf8');
    this.rest = Buffer.alloc(0);
    return rest ? [rest] : [];
  }
}

export async function* tailLog(source: LogSource, options: TailOptions): AsyncGenerator<string[]> {
  const lines = new LineSplitter();
  let offset = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    let done = false;
    let complete: string[] = [];
    try {
      done = await source.ended();
      const preview = await source.preview(options.signal);
      if (preview) {
        const shown = previewBytes(preview);
        let { start, bytes } = shown;
        if (offset < start || (!shown.exact && offset < preview.full_size)) {
          options.onFullRead?.();
          bytes = await source.fullLog(options.signal);
          start = 0;
        }
        const fresh = bytes.subarray(Math.max(0, offset - start));
        offset = start + bytes.length;
        complete = lines.push(fresh);
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      if (!options.transient?.(error)) throw error;
      done = false;
    }
    if (complete.length) yield complete;
    if (done) {
      const last = lines.end();
      if (last.length) yield last;
      return;
    }
    try {
      await abortableDelay(options.intervalMs, options.signal, () => new CancelledError('Following the log'));
    } catch {
      return;
    }
  }
}

/** The whole log of a task as text (the preview when it holds all of it). */
export async function readWholeLog(source: Pick<LogSource, 'preview' | 'fullLog'>, signal?: AbortSignal): Promise<string> {
  const preview = await source.preview(signal);
  if (!preview) return '';
  const { start, bytes, exact } = previewBytes(preview);
  return (start === 0 && exact ? bytes : await source.fullLog(signal)).toString('utf8');
}

