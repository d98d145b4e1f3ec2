/**
 * CPU and memory of a running cloud job while someone looks at them (a job panel holds a watch of
 * that job): ModelArts has one value a minute per task and no push, so each poll of a watched
 * running job may read its metrics again (no more often than `readEveryMs`) and announce only the
 * values past the last one announced, task by task.
 */
import { errorMessage } from '../../core/errors';
import { toDisposable, type Disposable } from '../../core/events';
import type { TrainingJob } from '../../core/job';
import type { Logger } from '../../core/logger';
import type { ResourceSample } from '../../core/resourceSample';

interface Watched {
  holders: number;
  readAt: number;
  reading: boolean;
  /** Per task, the time of the last sample announced (or listed to the panel). */
  readonly last: Map<string, number>;
}

export class LiveSamples {
  private readonly jobs = new Map<string, Watched>();

  constructor(
    private readonly read: (job: TrainingJob) => Promise<ResourceSample[]>,
    private readonly announce: (jobId: string, sample: ResourceSample) => void,
    private readonly readEveryMs: number,
    private readonly logger: Logger,
  ) {}

  /** The job's samples are read while the result is not disposed. */
  watch(jobId: string): Disposable {
    const watched = this.jobs.get(jobId) ?? { holders: 0, readAt: 0, reading: false, last: new Map<string, number>() };
    watched.holders += 1;
    this.jobs.set(jobId, watched);
    return toDisposable(() => {
      watched.holders -= 1;
      if (watched.holders === 0 && this.jobs.get(jobId) === watched) this.jobs.delete(jobId);
    });
  }

  /** What a listing returned: later reads announce only what comes after it. */
  listed(jobId: string, samples: readonly ResourceSample[]): void {
    const watched = this.jobs.get(jobId);
    if (!watched) return;
    watched.readAt = Date.now();
    for (const sample of samples) this.advance(watched, sample);
  }

  /** A poll saw the job (running or not): reads its samples if it is watched and they are due. */
  async polled(job: TrainingJob): Promise<void> {
    const watched = this.jobs.get(job.metadata.id);
    if (!watched || watched.reading || job.status.phase !== 'Running' || Date.now() - watched.readAt < this.readEveryMs) return;
    watched.reading = true;
    watched.readAt = Date.now();
    try {
      for (const sample of await this.read(job)) {
        if (this.advance(watched, sample)) this.announce(job.metadata.id, sample);
      }
    } catch (error) {
      this.logger.debug(`Metrics of job ${job.metadata.id}: ${errorMessage(error)}`);
    } finally {
      watched.reading = false;
    }
  }

  forget(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** True when the sample is past the task's last one (which it becomes). */
  private advance(watched: Watched, sample: ResourceSample): boolean {
    const last = watched.last.get(sample.task);
    if (last !== undefined && sample.time <= last) return false;
    watched.last.set(sample.task, sample.time);
    return true;
  }
}
