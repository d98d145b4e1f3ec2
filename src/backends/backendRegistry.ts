/**
 * The backends of a window, by id, added and removed while it runs (a setting changes, a sign-in):
 * the local one always, a ModelArts one per signed-in region and project, a test's in-memory one.
 * Every job, event, sample, algorithm and state change comes out of here tagged with its backend,
 * so views, panels, logs and commands hold one registry instead of one engine.
 */
import { InvalidInputError } from '../core/errors';
import { DisposableStore, Emitter, toDisposable, type Disposable, type Event } from '../core/events';
import type { JobChange } from '../core/job';
import type { JobEventAdded } from '../core/jobEvent';
import type { ResourceSampleAdded } from '../core/resourceSample';
import type { JobRef } from './jobRef';
import type { AlgorithmChange, BackendState, TrainingBackend } from './trainingBackend';

export type BackendJobChange = JobChange & { readonly backend: string };
export type BackendEventAdded = JobEventAdded & { readonly backend: string };
export type BackendSampleAdded = ResourceSampleAdded & { readonly backend: string };
export type BackendAlgorithmChange = AlgorithmChange & { readonly backend: string };
export interface BackendStateChange {
  readonly backend: string;
  readonly state: BackendState;
}
export interface BackendsChange {
  readonly added?: TrainingBackend;
  readonly removed?: TrainingBackend;
}

/** `backend "x" is not configured`, naming what is. */
export function unknownBackend(id: string, known: readonly string[], field = 'backend'): InvalidInputError {
  return new InvalidInputError('Backend', [{ field, message: `backend "${id}" is not configured (configured: ${known.join(', ') || 'none'})` }]);
}

export class BackendRegistry implements Disposable {
  private readonly backends = new Map<string, { readonly backend: TrainingBackend; readonly subscriptions: DisposableStore; watch?: Disposable }>();
  /** Holders of watch(): while there are any, every polling backend is watched. */
  private watchers = 0;
  private readonly disposables = new DisposableStore();
  private readonly backendsEmitter = this.disposables.register(new Emitter<BackendsChange>());
  private readonly stateEmitter = this.disposables.register(new Emitter<BackendStateChange>());
  private readonly jobEmitter = this.disposables.register(new Emitter<BackendJobChange>());
  private readonly eventEmitter = this.disposables.register(new Emitter<BackendEventAdded>());
  private readonly sampleEmitter = this.disposables.register(new Emitter<BackendSampleAdded>());
  private readonly algorithmEmitter = this.disposables.register(new Emitter<BackendAlgorithmChange>());
  /** A backend was added or removed. */
  readonly onDidChangeBackends: Event<BackendsChange> = this.backendsEmitter.event;
  readonly onDidChangeState: Event<BackendStateChange> = this.stateEmitter.event;
  readonly onDidChangeJob: Event<BackendJobChange> = this.jobEmitter.event;
  readonly onDidAddEvent: Event<BackendEventAdded> = this.eventEmitter.event;
  readonly onDidAddResourceSample: Event<BackendSampleAdded> = this.sampleEmitter.event;
  readonly onDidChangeAlgorithm: Event<BackendAlgorithmChange> = this.algorithmEmitter.event;

  /** Adds a backend (its id must be new); disposing the result removes it again. */
  add(backend: TrainingBackend): Disposable {
    if (this.backends.has(backend.id)) throw new Error(`a backend with id "${backend.id}" is registered already`);
    const subscriptions = new DisposableStore();
    const id = backend.id;
    subscriptions.register(backend.onDidChangeState((state) => this.stateEmitter.fire({ backend: id, state })));
    subscriptions.register(backend.onDidChangeJob((change) => this.jobEmitter.fire({ ...change, backend: id })));
    subscriptions.register(backend.onDidAddEvent((added) => this.eventEmitter.fire({ ...added, backend: id })));
    subscriptions.register(backend.onDidAddResourceSample((added) => this.sampleEmitter.fire({ ...added, backend: id })));
    subscriptions.register(backend.onDidChangeAlgorithm((change) => this.algorithmEmitter.fire({ ...change, backend: id })));
    this.backends.set(id, { backend, subscriptions, ...(this.watchers > 0 && backend.polling ? { watch: backend.polling.watch() } : {}) });
    this.backendsEmitter.fire({ added: backend });
    return toDisposable(() => this.remove(id));
  }

  /** Removes a backend (its jobs leave the views); it is not disposed here: its owner does that. */
  remove(id: string): void {
    const entry = this.backends.get(id);
    if (!entry) return;
    entry.subscriptions.dispose();
    entry.watch?.dispose();
    this.backends.delete(id);
    this.backendsEmitter.fire({ removed: entry.backend });
  }

  get(id: string): TrainingBackend | undefined {
    return this.backends.get(id)?.backend;
  }

  /** The backend, or InvalidInputError `backend "x" is not configured` (never another backend). */
  require(id: string, field = 'backend'): TrainingBackend {
    const backend = this.get(id);
    if (!backend) throw unknownBackend(id, [...this.backends.keys()], field);
    return backend;
  }

  /** The backend of a job reference. */
  of(ref: JobRef): TrainingBackend {
    return this.require(ref.backend);
  }

  /**
   * Keeps every backend that polls (ModelArts) polling, also those added later, until the result is
   * disposed: a visible view, an API caller listening. A backend with push needs none.
   */
  watch(): Disposable {
    this.watchers += 1;
    if (this.watchers === 1) for (const entry of this.backends.values()) entry.watch ??= entry.backend.polling?.watch();
    let disposed = false;
    return toDisposable(() => {
      if (disposed) return;
      disposed = true;
      this.watchers -= 1;
      if (this.watchers > 0) return;
      for (const entry of this.backends.values()) {
        entry.watch?.dispose();
        delete entry.watch;
      }
    });
  }

  /** `event`, whose listeners keep every polling backend watched while they listen. */
  watchedBy<T>(event: Event<T>): Event<T> {
    return (listener, thisArgs, disposables) => {
      const subscription = event(listener, thisArgs);
      const watch = this.watch();
      const both = toDisposable(() => (subscription.dispose(), watch.dispose()));
      disposables?.push(both);
      return both;
    };
  }

  /** Every backend, in the order they were added (the local one first). */
  list(): TrainingBackend[] {
    return [...this.backends.values()].map((entry) => entry.backend);
  }

  get size(): number {
    return this.backends.size;
  }

  dispose(): void {
    for (const entry of this.backends.values()) {
      entry.subscriptions.dispose();
      entry.watch?.dispose();
    }
    this.backends.clear();
    this.disposables.dispose();
  }
}
