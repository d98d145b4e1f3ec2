/**
 * A backend's connection: its state (connecting, available, unavailable with the reason, or
 * needing credentials), one attempt at a time, and reconnecting by itself with a back-off that
 * doubles up to a bound while the service stays away. A reason is logged once per outage, not at
 * every retry. Credentials that were refused are not retried: that waits for new ones.
 */
import { Emitter, type Disposable, type Event } from '../../core/events';
import type { Logger } from '../../core/logger';
import type { BackendState } from '../trainingBackend';

export interface ConnectionOptions {
  /** Where the backend talks to, for the state (`unix:///var/run/docker.sock`, an https URL). */
  readonly endpoint: string;
  /** "Docker engine", "ModelArts (cn-north-4)": who is not reachable, in the log. */
  readonly label: string;
  /** One attempt: resolves with the state it reached, or throws why it failed. */
  readonly attempt: () => Promise<BackendState>;
  /** Why an attempt failed, in words. */
  readonly describeError: (error: unknown) => string;
  readonly logger: Logger;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Called when an attempt failed, before the next one is scheduled (the backend may note when it lost the service). */
  readonly onFailure?: () => void;
}

export class BackendConnection implements Disposable {
  private current: BackendState = { kind: 'connecting' };
  private readonly emitter = new Emitter<BackendState>();
  readonly onDidChangeState: Event<BackendState> = this.emitter.event;
  private connecting: Promise<BackendState> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private disposed = false;

  constructor(private readonly options: ConnectionOptions) {
    this.delay = options.minDelayMs ?? 1000;
  }

  get state(): BackendState {
    return this.current;
  }

  /** Connects (or reconnects); concurrent calls share one attempt; never throws. */
  connect(): Promise<BackendState> {
    this.connecting ??= this.run().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async run(): Promise<BackendState> {
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      const state = await this.options.attempt();
      if (this.disposed) return this.current;
      this.set(state);
      if (state.kind === 'available') this.delay = this.options.minDelayMs ?? 1000;
      else if (state.kind === 'unavailable') this.scheduleReconnect();
    } catch (error) {
      if (this.disposed) return this.current;
      this.failed(this.options.describeError(error));
    }
    return this.current;
  }

  /** The service went away (a dropped stream, a network error): unavailable, and a reconnect is scheduled. */
  lost(reason: string): void {
    if (this.disposed) return;
    this.failed(reason);
  }

  private failed(reason: string): void {
    const before = this.current;
    if (before.kind !== 'unavailable' || before.reason !== reason) {
      this.options.logger.warn(`${this.options.label} at ${this.options.endpoint} is not reachable: ${reason}`);
    }
    this.options.onFailure?.();
    this.set({ kind: 'unavailable', reason, endpoint: this.options.endpoint });
    this.scheduleReconnect();
  }

  /** Sets the state, telling listeners only when it changed (the same outage again changes nothing). */
  set(state: BackendState): void {
    const before = this.current;
    this.current = state;
    const same = before.kind === state.kind && (!('reason' in before) || ('reason' in state && before.reason === state.reason));
    if (!same) this.emitter.fire(state);
  }

  private scheduleReconnect(): void {
    if (this.disposed || this.timer !== undefined) return;
    const delay = this.delay;
    this.delay = Math.min(delay * 2, this.options.maxDelayMs ?? 30_000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
    // Retrying must never keep a process alive on its own.
    this.timer.unref();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.emitter.dispose();
  }
}
