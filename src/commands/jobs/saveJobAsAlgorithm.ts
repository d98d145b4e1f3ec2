import * as vscode from 'vscode';
import { z } from 'zod';
import { invalidInput } from '../../core/errors';
import { uniqueName } from '../../core/format';
import { jobNameSchema } from '../../core/job';
import { jobArgument } from './jobArgument';
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
  const job = await jobArgument(services, 'saveAsAlgorithm', 'modelarts.jobs.saveAsAlgorithm', args[0]);
  let options: z.output<typeof optionsSchema> = {};
  if (interactive) {
    const taken = new Set((await services.engine.listAlgorithms()).map((a) => a.metadata.name));
    const name = await vscode.window.showInputBox({
      title: `Save ${job.metadata.name} as Algorithm`,
      prompt: 'Name of the algorithm (its code, boot file, engine, hyperparameters and channels come from the job)',
      value: uniqueName(job.metadata.name, (candidate) => taken.has(candidate)),
      ignoreFocusOut: true,
      validateInput: (value) => {
        if (taken.has(value)) return `metadata.name: an algorithm named ${value} exists already`;
        const result = jobNameSchema.safeParse(value);
        return result.success ? undefined : `metadata.name ${result.error.issues[0]?.message ?? 'is invalid'}`;
      },
    });
    if (name === undefined) return undefined;
    options = { name, ...(job.metadata.description ? { description: job.metadata.description.slice(0, 256) } : {}) };
  } else {
    const parsed = optionsSchema.safeParse(args[1] ?? {});
    if (!parsed.success) throw invalidInput('modelarts.jobs.saveAsAlgorithm options', parsed.error);
    options = parsed.data;
  }
  const algorithm = await services.engine.saveJobAsAlgorithm(job.metadata.id, options);
  services.log.info(`Saved training job ${job.metadata.name} as algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
  if (interactive) {
    void vscode.window.showInformationMessage(`Saved ${job.metadata.name} as algorithm ${algorithm.metadata.name}.`, 'Show Algorithms').then((choice) => {
      if (choice) void vscode.commands.executeCommand('modelarts.algorithms.focus');
    });
  }
  return algorithm.metadata.id;
}
