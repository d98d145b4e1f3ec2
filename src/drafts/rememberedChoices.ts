/**
 * What Create Training Job and Promote offer first: the hyperparameters, inputs and flavor of the
 * last job of the same boot file (or algorithm) that *completed* — a job that failed on `epochs=ten`
 * teaches nothing — and the flavor last chosen. Kept in the workspace state, so they survive a reload
 * and the deletion of the job they came from.
 */
import type * as vscode from 'vscode';
import { z } from 'zod';
import type { BackendJobChange } from '../backends/backendRegistry';
import { LOCAL_BACKEND_ID } from '../backends/jobRef';
import type { Event } from '../core/events';
import type { JobParameter, TrainingJob } from '../core/job';
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

/** What is read back is checked: a damaged or foreign value is as if nothing were remembered. */
const completedRunSchema = z.object({
  jobName: z.string(),
  parameters: z.array(z.object({ name: z.string().min(1), value: z.string().optional() })),
  inputs: z.array(z.object({ name: z.string().min(1), location: z.string() })),
  flavorId: z.string().min(1),
  completedAt: z.number(),
});

const COMPLETED_PREFIX = 'modelarts.lastCompleted:';
const FLAVOR_PREFIX = 'modelarts.lastFlavor:';

/** Keys of today's local jobs are those of the version before backends (no backend in them): they still count. */
function keyOf(backend: string, code: CodeKey): string {
  const what = 'algorithmId' in code ? `algorithm:${code.algorithmId}` : `file:${code.bootFile}`;
  return backend === LOCAL_BACKEND_ID ? what : `${backend}|${what}`;
}

export function codeKeyOf(job: TrainingJob): CodeKey | undefined {
  if (job.algorithm.id) return { algorithmId: job.algorithm.id };
  return job.algorithm.boot_file ? { bootFile: job.algorithm.boot_file } : undefined;
}

export class RememberedChoices implements vscode.Disposable {
  private readonly subscription: { dispose(): void };

  constructor(
    private readonly memento: vscode.Memento,
    jobChanges: Event<BackendJobChange>,
  ) {
    this.subscription = jobChanges(({ backend, kind, job }) => {
      if (kind === 'updated' && job.status.phase === 'Completed') void this.rememberCompleted(backend, job);
    });
  }

  /** The last completed run of this code on this backend, if any. */
  lastCompleted(backend: string, code: CodeKey): CompletedRun | undefined {
    const parsed = completedRunSchema.safeParse(this.memento.get(COMPLETED_PREFIX + keyOf(backend, code)));
    return parsed.success ? parsed.data : undefined;
  }

  async rememberCompleted(backend: string, job: TrainingJob): Promise<void> {
    const code = codeKeyOf(job);
    if (!code) return;
    const run: CompletedRun = {
      jobName: job.metadata.name,
      parameters: job.algorithm.parameters.map(({ name, value }) => (value === undefined ? { name } : { name, value })),
      inputs: job.algorithm.inputs.flatMap((input) => (input.remote.obs ? [{ name: input.name, location: input.remote.obs.obs_url }] : [])),
      flavorId: job.spec.resource.flavor_id,
      completedAt: Date.now(),
    };
    await this.memento.update(COMPLETED_PREFIX + keyOf(backend, code), run);
  }

  /** The flavor chosen last on a backend (Create, Copy or Promote). */
  lastFlavor(backend: string): string | undefined {
    const saved = this.memento.get(FLAVOR_PREFIX + backend);
    return typeof saved === 'string' && saved ? saved : undefined;
  }

  async rememberFlavor(backend: string, flavorId: string): Promise<void> {
    await this.memento.update(FLAVOR_PREFIX + backend, flavorId);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}

/** The inputs of a run as the inputs step shows them. */
export function inputsText(run: CompletedRun): string {
  return formatChannelText(run.inputs);
}
