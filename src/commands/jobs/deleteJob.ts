import * as vscode from 'vscode';
import { z } from 'zod';
import { invalidInput } from '../../core/errors';
import { jobArgument } from './jobArgument';
import type { CommandContext } from '../registry';

const optionsSchema = z.strictObject({ deleteOutputs: z.boolean({ error: 'must be true or false' }).optional() });

/**
 * Deletes a finished job with its containers, staging and logs. Interactive, it asks for DELETE
 * first, as the console does. Arguments: a node, a job id or `{jobId}`, then `{deleteOutputs}`
 * to also delete what it uploaded to its output locations (kept by default).
 */
export async function deleteJob({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ deleted: string } | undefined> {
  const { backend, job } = await jobArgument(services, 'delete', 'modelarts.jobs.delete', args[0]);
  const { id, name } = job.metadata;
  const parsed = optionsSchema.safeParse(args[1] ?? {});
  if (!parsed.success) throw invalidInput('modelarts.jobs.delete options', parsed.error);
  const deleteOutputs = parsed.data.deleteOutputs ?? false;
  if (interactive) {
    const kept = job.algorithm.outputs.some((output) => output.remote) ? ' Outputs already delivered to their storage locations are kept.' : '';
    const answer = await vscode.window.showInputBox({
      title: `Delete Training Job ${name}`,
      prompt: `The job, its log and its events are deleted and cannot be restored.${kept} Type DELETE to delete it.`,
      placeHolder: 'DELETE',
      ignoreFocusOut: true,
      validateInput: (value) => (value === 'DELETE' ? undefined : 'Type DELETE in capital letters to delete the job.'),
    });
    if (answer !== 'DELETE') return undefined;
  }
  await backend.deleteJob(id, { deleteOutputs });
  services.log.info(`Deleted training job ${name} (${id})`);
  return { deleted: id };
}
