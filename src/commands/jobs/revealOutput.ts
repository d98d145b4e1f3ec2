import * as vscode from 'vscode';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import { JobPartNode } from '../../views/jobsTree';
import type { CommandContext } from '../registry';

/**
 * Shows where a job's output is kept on this machine (its checkpoints, for example). Arguments: an
 * output node or `{jobId, output}`; returns the folder.
 */
export async function revealOutput({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ path: string }> {
  const [first] = args;
  let jobId: string;
  let output: string;
  if (first instanceof JobPartNode && first.part.kind === 'output') {
    jobId = first.parent.id;
    output = first.part.name;
  } else if (first && typeof first === 'object' && typeof (first as { jobId?: unknown }).jobId === 'string' && typeof (first as { output?: unknown }).output === 'string') {
    ({ jobId, output } = first as { jobId: string; output: string });
  } else {
    throw new InvalidInputError('modelarts.jobs.revealOutput arguments', [{ field: 'output', message: 'give an output node, or {jobId, output} naming one of the job\'s outputs' }]);
  }
  const folder = services.engine.outputLocation(jobId, output);
  if (!folder) throw new NotFoundError('output', `${output} of job ${jobId} on this machine`);
  if (interactive) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(folder));
  return { path: folder };
}
