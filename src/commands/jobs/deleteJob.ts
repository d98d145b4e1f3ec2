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
  let deleteOutputs = parsed.data.deleteOutputs ?? false;
  if (interactive) {
    const delivered = job.algorithm.outputs.flatMap((output) => (output.remote ? [output.remote.obs.obs_url] : []));
    const kept = delivered.length ? ' You choose next whether its outputs in storage go too.' : '';
    const answer = await vscode.window.showInputBox({
      title: `Delete Training Job ${name}`,
      prompt: `The job, its log and its events are deleted and cannot be restored.${kept} Type DELETE to delete it.`,
      placeHolder: 'DELETE',
      ignoreFocusOut: true,
      validateInput: (value) => (value === 'DELETE' ? undefined : 'Type DELETE in capital letters to delete the job.'),
    });
    if (answer !== 'DELETE') return undefined;
    if (delivered.length) {
      const items = [
        { label: 'Keep the outputs', detail: delivered.join(', '), remove: false },
        { label: 'Delete the outputs too', detail: `Everything under ${delivered.join(', ')}`, remove: true },
      ];
      const picked = await vscode.window.showQuickPick(items, { title: `Delete Training Job ${name}: its outputs`, placeHolder: 'What the job delivered to storage', ignoreFocusOut: true });
      if (!picked) return undefined;
      deleteOutputs = picked.remove;
    }
  }
  await backend.deleteJob(id, { deleteOutputs });
  services.log.info(`Deleted training job ${name} (${id})`);
  return { deleted: id };
}
