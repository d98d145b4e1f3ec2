/**
 * Everything a backend announces, kept per job from the moment the contract starts: job changes
 * (for the phase history) and events (to compare with listEvents). Waiting goes through what was
 * recorded, not getJob, so a test never sees a phase before its change has been announced.
 */
import * as assert from 'node:assert/strict';
import { DisposableStore, type Disposable } from '../../src/core/events';
import type { JobChange } from '../../src/core/job';
import type { JobEvent } from '../../src/core/jobEvent';
import { canTransition, type JobPhase } from '../../src/core/lifecycle';
import type { TrainingBackend } from '../../src/backends/trainingBackend';

interface Waiter {
  readonly id: string;
  readonly predicate: (change: JobChange) => boolean;
  readonly resolve: (change: JobChange) => void;
}

export class JobRecorder implements Disposable {
  private readonly changes = new Map<string, JobChange[]>();
  private readonly events = new Map<string, JobEvent[]>();
  private readonly waiters = new Set<Waiter>();
  private readonly subscriptions = new DisposableStore();

  constructor(private readonly backend: TrainingBackend) {
    this.subscriptions.register(
      backend.onDidChangeJob((change) => {
        const id = change.job.metadata.id;
        this.changes.set(id, [...(this.changes.get(id) ?? []), change]);
        for (const waiter of this.waiters) {
          if (waiter.id === id && waiter.predicate(change)) {
            this.waiters.delete(waiter);
            waiter.resolve(change);
          }
        }
      }),
    );
    this.subscriptions.register(backend.onDidAddEvent(({ jobId, event }) => this.events.set(jobId, [...(this.events.get(jobId) ?? []), event])));
  }

  changesOf(id: string): readonly JobChange[] {
    return this.changes.get(id) ?? [];
  }

  eventsOf(id: string): readonly JobEvent[] {
    return this.events.get(id) ?? [];
  }

  /** Names of every job whose creation was announced. */
  createdNames(): string[] {
    return [...this.changes.values()].flatMap((changes) => changes.filter((c) => c.kind === 'created').map((c) => c.job.metadata.name));
  }

  /** The first announced change of the job that satisfies `predicate` (one already recorded, or the next). */
  until(id: string, predicate: (change: JobChange) => boolean, timeoutMs: number, what: string): Promise<JobChange> {
    const seen = this.changesOf(id).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        void this.backend.getJob(id).then((job) => {
          const history = this.changesOf(id).map((c) => `${c.kind}:${c.job.status.phase}`).join(' → ');
          reject(new Error(`job ${id} did not reach ${what} within ${timeoutMs} ms; it is ${job?.status.phase ?? 'gone'} (${job?.status.secondary_phase ?? ''}); changes: ${history}`));
        }, reject);
      }, timeoutMs);
      const waiter: Waiter = {
        id,
        predicate,
        resolve: (change) => {
          clearTimeout(timer);
          resolve(change);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Checks the job's announced history: created first (Creating), every later phase reached by a
   * transition ModelArts allows, ending in `ending`. Returns the phases, in order.
   */
  assertHistory(id: string, ending: JobPhase): JobPhase[] {
    const changes = this.changesOf(id);
    assert.equal(changes[0]?.kind, 'created', `the first change of job ${id} is its creation`);
    assert.equal(changes[0]?.job.status.phase, 'Creating', 'a job is announced as Creating');
    assert.equal(changes.filter((c) => c.kind === 'created').length, 1, 'it is created once');
    const phases = changes.filter((c) => c.kind === 'updated').map((c) => c.job.status.phase);
    let from: JobPhase = 'Creating';
    for (const to of phases) {
      assert.ok(from === to || canTransition(from, to), `${from} → ${to} is not a ModelArts transition (Creating → ${phases.join(' → ')})`);
      from = to;
    }
    assert.equal(from, ending, `the job ends ${ending} (Creating → ${phases.join(' → ')})`);
    return ['Creating', ...phases];
  }

  dispose(): void {
    this.subscriptions.dispose();
    this.waiters.clear();
  }
}
