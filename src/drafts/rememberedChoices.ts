/**
 * What Create Training Job and Promote offer first: the hyperparameters, inputs and flavor of the
 * last job of the same boot file (or algorithm) that *completed* — a job that failed on `epochs=ten`
 * teaches nothing — and the flavor last chosen. Kept in the workspace state, so they survive a reload
 * and the deletion of the job they came from.
 */
import type * as vscode from 'vscode';
import type { Event } from '../core/events';
import type { JobChange, JobParameter, TrainingJob } from '../core/job';
import { formatChannelText, type ChannelText } from '../core/jobText';

/** What a completed job leaves for the next one of the same code. */
export interface CompletedRun {
  readonly jobName: string;
  readonly parameters: readonly JobParameter[];
  readonly inputs: readonly ChannelText[];
  readonly flavorId: string;
  readonly completedAt: number;
}

/** The code a job runs, as remembered: its algorithm, else its boot file. */
export type CodeKey = { readonly algorithmId: string } | { readonly bootFile: string };

const COMPLETED_PREFIX = 'modelarts.lastCompleted:';
const FLAVOR_PREFIX = 'modelarts.lastFlavor:';

function keyOf(code: CodeKey): string {
  return 'algorithmId' in code ? `algorithm:${code.algorithmId}` : `file:${code.bootFile}`;
}

export function codeKeyOf(job: TrainingJob): CodeKey | undefined {
  if (job.algorithm.id) return { algorithmId: job.algorithm.id };
  return job.algorithm.boot_file ? { bootFile: job.algorithm.boot_file } : undefined;
}

export class RememberedChoices implements vscode.Disposable {
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly memento: vscode.Memento,
    jobChanges: Event<JobChange>,
    /** Which backend's flavors these are ("local" until there are others). */
    private readonly backend = 'local',
  ) {
    this.subscription = jobChanges(({ kind, job }) => {
      if (kind === 'updated' && job.status.phase === 'Completed') void this.rememberCompleted(job);
    });
  }

  /** The last completed run of this code, if any. */
  lastCompleted(code: CodeKey): CompletedRun | undefined {
    return this.memento.get<CompletedRun>(COMPLETED_PREFIX + keyOf(code));
  }

  async rememberCompleted(job: TrainingJob): Promise<void> {
    const code = codeKeyOf(job);
    if (!code) return;
    const run: CompletedRun = {
      jobName: job.metadata.name,
      parameters: job.algorithm.parameters.map(({ name, value }) => (value === undefined ? { name } : { name, value })),
      inputs: job.algorithm.inputs.flatMap((input) => (input.remote.obs ? [{ name: input.name, location: input.remote.obs.obs_url }] : [])),
      flavorId: job.spec.resource.flavor_id,
      completedAt: Date.now(),
    };
    await this.memento.update(COMPLETED_PREFIX + keyOf(code), run);
  }

  /** The flavor chosen last (Create, Copy or Promote). */
  get lastFlavor(): string | undefined {
    return this.memento.get<string>(FLAVOR_PREFIX + this.backend);
  }

  async rememberFlavor(flavorId: string): Promise<void> {
    await this.memento.update(FLAVOR_PREFIX + this.backend, flavorId);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}

/** The inputs of a run as the inputs step shows them. */
export function inputsText(run: CompletedRun): string {
  return formatChannelText(run.inputs);
}
