/**
 * The algorithms the sidebar shows: a cache of the engine's algorithms kept current by its change
 * events (no polling), reloaded whenever the engine becomes available, newest first. A failed load
 * is kept as state so the tree can show it with a Retry action instead of a pop-up.
 */
import * as vscode from 'vscode';
import type { Algorithm } from '../core/algorithm';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { TrainingBackend } from '../backends/trainingBackend';

export type AlgorithmsLoadState =
  | { readonly kind: 'idle' | 'loading' | 'loaded' }
  | { readonly kind: 'failed'; readonly message: string };

export class AlgorithmsModel implements vscode.Disposable {
  private readonly algorithms = new Map<string, Algorithm>();
  private sorted: Algorithm[] | undefined;
  private loading: Promise<void> | undefined;
  private loadState: AlgorithmsLoadState = { kind: 'idle' };
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [this.changeEmitter];

  constructor(
    private readonly engine: TrainingBackend,
    private readonly log: Logger,
  ) {
    this.subscriptions.push(
      engine.onDidChangeAlgorithm(({ kind, algorithm }) => {
        if (kind === 'deleted') this.algorithms.delete(algorithm.metadata.id);
        else this.algorithms.set(algorithm.metadata.id, algorithm);
        this.sorted = undefined;
        this.changeEmitter.fire();
      }),
      engine.onDidChangeState((state) => {
        if (state.kind === 'available') void this.reload();
        else this.changeEmitter.fire();
      }),
    );
    if (engine.state.kind === 'available') void this.reload();
  }

  get state(): AlgorithmsLoadState {
    return this.loadState;
  }

  /** Every algorithm, newest first. */
  list(): readonly Algorithm[] {
    this.sorted ??= [...this.algorithms.values()].sort((a, b) => b.metadata.create_time - a.metadata.create_time);
    return this.sorted;
  }

  get(id: string): Algorithm | undefined {
    return this.algorithms.get(id);
  }

  reload(): Promise<void> {
    this.loading ??= (async () => {
      this.loadState = { kind: 'loading' };
      this.changeEmitter.fire();
      try {
        const algorithms = await this.engine.listAlgorithms();
        this.algorithms.clear();
        for (const algorithm of algorithms) this.algorithms.set(algorithm.metadata.id, algorithm);
        this.loadState = { kind: 'loaded' };
      } catch (error) {
        this.log.error(`Could not load the algorithms: ${errorMessage(error)}`);
        this.loadState = { kind: 'failed', message: errorMessage(error) };
      } finally {
        this.sorted = undefined;
        this.loading = undefined;
        this.changeEmitter.fire();
      }
    })();
    return this.loading;
  }

  dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}
