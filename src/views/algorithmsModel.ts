/**
 * The algorithms the sidebar shows, for every backend: a cache per backend kept current by its
 * change events (no polling), reloaded whenever the backend becomes available, newest first. A
 * failed load is kept as state so the tree can show it with a Retry action instead of a pop-up.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import type { Algorithm } from '../core/algorithm';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';

export type AlgorithmsLoadState =
  | { readonly kind: 'idle' | 'loading' | 'loaded' }
  | { readonly kind: 'failed'; readonly message: string };

class BackendAlgorithms {
  readonly algorithms = new Map<string, Algorithm>();
  sorted: Algorithm[] | undefined;
  loading: Promise<void> | undefined;
  state: AlgorithmsLoadState = { kind: 'idle' };
}

export class AlgorithmsModel implements vscode.Disposable {
  private readonly backends = new Map<string, BackendAlgorithms>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscriptions: Array<{ dispose(): void }> = [this.changeEmitter];

  constructor(
    private readonly registry: BackendRegistry,
    private readonly log: Logger,
  ) {
    const add = (id: string, available: boolean) => {
      this.backends.set(id, new BackendAlgorithms());
      if (available) void this.reload(id);
    };
    for (const backend of registry.list()) add(backend.id, backend.state.kind === 'available');
    this.subscriptions.push(
      registry.onDidChangeAlgorithm(({ backend, kind, algorithm }) => {
        const entry = this.backends.get(backend);
        if (!entry) return;
        if (kind === 'deleted') entry.algorithms.delete(algorithm.metadata.id);
        else entry.algorithms.set(algorithm.metadata.id, algorithm);
        entry.sorted = undefined;
        this.changeEmitter.fire();
      }),
      registry.onDidChangeState(({ backend, state }) => {
        if (state.kind === 'available') void this.reload(backend);
        else this.changeEmitter.fire();
      }),
      registry.onDidChangeBackends(({ added, removed }) => {
        if (added) add(added.id, added.state.kind === 'available');
        if (removed) this.backends.delete(removed.id);
        this.changeEmitter.fire();
      }),
    );
  }

  state(backend: string): AlgorithmsLoadState {
    return this.backends.get(backend)?.state ?? { kind: 'idle' };
  }

  /** A backend's algorithms, newest first. */
  list(backend: string): readonly Algorithm[] {
    const entry = this.backends.get(backend);
    if (!entry) return [];
    entry.sorted ??= [...entry.algorithms.values()].sort((a, b) => b.metadata.create_time - a.metadata.create_time);
    return entry.sorted;
  }

  /** Every backend's algorithms, with their backend. */
  all(): Array<{ readonly backend: string; readonly algorithm: Algorithm }> {
    return [...this.backends.keys()].flatMap((backend) => this.list(backend).map((algorithm) => ({ backend, algorithm })));
  }

  get(backend: string, id: string): Algorithm | undefined {
    return this.backends.get(backend)?.algorithms.get(id);
  }

  /** The backends holding an algorithm with this id. */
  backendsOf(id: string): string[] {
    return [...this.backends.entries()].filter(([, entry]) => entry.algorithms.has(id)).map(([backend]) => backend);
  }

  /** Loads a backend's algorithms again (every backend's without one). */
  async reload(backend?: string): Promise<void> {
    await Promise.all((backend ? [backend] : [...this.backends.keys()]).map((id) => this.load(id)));
  }

  private load(id: string): Promise<void> {
    const entry = this.backends.get(id);
    const backend = this.registry.get(id);
    if (!entry || !backend) return Promise.resolve();
    entry.loading ??= (async () => {
      entry.state = { kind: 'loading' };
      this.changeEmitter.fire();
      try {
        const algorithms = await backend.listAlgorithms();
        entry.algorithms.clear();
        for (const algorithm of algorithms) entry.algorithms.set(algorithm.metadata.id, algorithm);
        entry.state = { kind: 'loaded' };
      } catch (error) {
        this.log.error(`Could not load the algorithms of ${backend.displayName}: ${errorMessage(error)}`);
        entry.state = { kind: 'failed', message: errorMessage(error) };
      } finally {
        entry.sorted = undefined;
        entry.loading = undefined;
        this.changeEmitter.fire();
      }
    })();
    return entry.loading;
  }

  dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}
