import * as vscode from 'vscode';
import { z } from 'zod';
import { invalidInput } from '../../core/errors';
import { uniqueName } from '../../core/format';
import { jobNameSchema } from '../../core/job';
import { saveJobAsAlgorithm as saveOnBackend } from '../../backends/shared/jobOperations';
import { jobArgument } from './jobArgument';
import { runSteps, textStep } from '../multiStep';
import type { CommandContext } from '../registry';

const optionsSchema = z.strictObject({
  name: jobNameSchema.optional(),
  description: z.string({ error: 'must be text' }).max(256, { error: 'must be at most 256 characters' }).optional(),
});

/**
 * "Save As Algorithm": keeps the job's code, boot file, engine, hyperparameters, inputs and outputs
 * as an algorithm new jobs can start from. Arguments: a node, a job id or `{jobId}`, then
 * `{name?, description?}`; returns the algorithm's id.
 */
export async function saveJobAsAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  const { backend, job } = await jobArgument(services, 'saveAsAlgorithm', 'modelarts.jobs.saveAsAlgorithm', args[0]);
  let options: z.output<typeof optionsSchema> = {};
  if (interactive) {
    const taken = new Set((await backend.listAlgorithms()).map((a) => a.metadata.name));
    const state = { name: uniqueName(job.metadata.name, (candidate) => taken.has(candidate)), description: job.metadata.description.slice(0, 256) };
    // Two steps with Back, like every multi-step flow: the name, then the description.
    await runSteps(`Save ${job.metadata.name} as Algorithm`, state, [
      textStep('name', {
        label: 'name',
        prompt: 'Name of the algorithm (its code, boot file, engine, hyperparameters and channels come from the job)',
        validate: (text) => {
          if (!jobNameSchema.safeParse(text).success) return `An algorithm name has 1 to 64 letters, digits, "-" and "_", such as ${uniqueName(job.metadata.name, (n) => taken.has(n))}.`;
          return taken.has(text) ? `An algorithm named ${text} exists already; ${uniqueName(text, (n) => taken.has(n))} is free.` : undefined;
        },
      }),
      textStep('description', {
        label: 'description',
        prompt: 'What the algorithm is for (at most 256 characters; may be empty)',
        validate: (text) => (text.length > 256 ? `The description has ${text.length} characters; at most 256 fit.` : undefined),
      }),
    ]);
    options = { name: state.name, ...(state.description ? { description: state.description } : {}) };
  } else {
    const parsed = optionsSchema.safeParse(args[1] ?? {});
    if (!parsed.success) throw invalidInput('modelarts.jobs.saveAsAlgorithm options', parsed.error);
    options = parsed.data;
  }
  const algorithm = await saveOnBackend(backend, job.metadata.id, options);
  services.log.info(`Saved training job ${job.metadata.name} as algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
  if (interactive) {
    void vscode.window.showInformationMessage(`Saved ${job.metadata.name} as algorithm ${algorithm.metadata.name}.`, 'Show Algorithms').then((choice) => {
      if (choice) void vscode.commands.executeCommand('modelarts.algorithms.focus');
    });
  }
  return algorithm.metadata.id;
}
