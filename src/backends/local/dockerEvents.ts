/**
 * Docker's event stream for the containers the local engine owns. Job phases follow these events:
 * nothing polls. The stream is opened before any container starts, and re-opened with `since` so
 * events during a short disconnect are replayed (handlers must therefore be idempotent).
 */
import type Docker from 'dockerode';
import { Emitter, type Disposable } from '../../core/events';
import { LineSplitter } from '../../core/lines';
import { dockerEventSchema, type DockerEvent, LABELS, MANAGED_BY } from './docker';

export class DockerEventStream implements Disposable {
  private readonly eventEmitter = new Emitter<DockerEvent>();
  private readonly endEmitter = new Emitter<Error>();
  /** A container event of a container the engine manages. */
  readonly onEvent = this.eventEmitter.event;
  /** The stream ended or failed: the engine is gone or restarting. */
  readonly onEnd = this.endEmitter.event;

  private stream: NodeJS.ReadableStream | undefined;
  /** Streams closed on purpose: their end is not a disconnect. */
  private readonly closing = new WeakSet<NodeJS.ReadableStream>();
  private lastEventSeconds: number | undefined;
  private disposed = false;

  constructor(
    private readonly docker: Docker,
    private readonly onMalformed: (line: string, error: unknown) => void,
  ) {}

  get connected(): boolean {
    return this.stream !== undefined;
  }

  /** Opens the stream; resolves once Docker accepted it, so later container starts are seen. */
  async connect(): Promise<void> {
    this.close();
    // Replay from a second before (or from the last event seen), closing any gap between
    // Docker answering and subscribing, and any gap of a reconnect.
    const since = this.lastEventSeconds ?? Math.floor(Date.now() / 1000) - 1;
    const stream = await this.docker.getEvents({
      since,
      filters: { type: ['container'], label: [`${LABELS.managedBy}=${MANAGED_BY}`] },
    } as Docker.GetEventsOptions);
    if (this.disposed) {
      destroy(stream);
      return;
    }
    this.stream = stream;
    const lines = new LineSplitter();
    let ended = false;
    const finish = (error: Error) => {
      if (ended) return;
      ended = true;
      if (this.stream === stream) this.stream = undefined;
      if (!this.disposed && !this.closing.has(stream)) this.endEmitter.fire(error);
    };
    stream.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) {
        if (line.trim()) this.dispatch(line);
      }
    });
    stream.on('error', (error: Error) => finish(error));
    stream.on('end', () => finish(new Error('the Docker event stream ended')));
    stream.on('close', () => finish(new Error('the Docker event stream closed')));
  }

  private dispatch(line: string): void {
    let event: DockerEvent;
    try {
      event = dockerEventSchema.parse(JSON.parse(line));
    } catch (error) {
      this.onMalformed(line, error);
      return;
    }
    this.lastEventSeconds = event.time;
    this.eventEmitter.fire(event);
  }

  private close(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      this.closing.add(stream);
      destroy(stream);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.close();
    this.eventEmitter.dispose();
    this.endEmitter.dispose();
  }
}

function destroy(stream: NodeJS.ReadableStream): void {
  const destroyable = stream as NodeJS.ReadableStream & { destroy?: () => void };
  destroyable.destroy?.();
}
