/**
 * The algorithm commands but create (createAlgorithm.ts): edit, delete, create a job from one,
 * refresh. From a menu or the palette they ask what is missing; called with arguments they ask
 * nothing and return their result.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import type { Algorithm } from '../../core/algorithm';
import { InvalidInputError, ModelArtsError, NotFoundError, invalidInput } from '../../core/errors';
import type { Services } from '../../services';
import { algorithmDocumentUri } from '../../views/algorithmFileSystem';
import { AlgorithmDetailNode, AlgorithmNode, describeAlgorithm } from '../../views/algorithmsTree';
import { JobDraft, type JobDraftSeed } from '../jobs/jobDraft';
import { withWorkspaceCodeDir } from '../trainingCode';
import type { CommandContext } from '../registry';

// ---- edit ---------------------------------------------------------------------------------------

const editArgsSchema = z.strictObject({
  id: z.string({ error: 'must be an algorithm id' }).min(1, { error: 'must be an algorithm id' }),
  request: z.record(z.string(), z.unknown(), { error: 'must be an algorithm request: an object with metadata and job_config' }),
});

/**
 * Interactive: opens the algorithm's JSON in an editor; saving it updates the algorithm.
 * Programmatic: `(id, request)` or `{id, request}` updates without opening; `(id)` alone opens.
 * Returns the algorithm id.
 */
export async function editAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  if (!interactive && (args.length > 1 || typeof args[0] !== 'string')) {
    const parsed = editArgsSchema.safeParse(typeof args[0] === 'string' ? { id: args[0], request: args[1] } : args[0]);
    if (!parsed.success) throw invalidInput('modelarts.algorithms.edit arguments', parsed.error);
    const algorithm = await services.engine.updateAlgorithm(parsed.data.id, withWorkspaceCodeDir(parsed.data.request, 'job_config'));
    services.log.info(`Updated algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
    return algorithm.metadata.id;
  }
  const algorithm = await targetAlgorithm(services, args[0], 'Edit Algorithm');
  if (!algorithm) return undefined;
  await vscode.window.showTextDocument(algorithmDocumentUri(algorithm), { preview: false });
  return algorithm.metadata.id;
}

// ---- delete -------------------------------------------------------------------------------------

/** Interactive: asks for confirmation naming the algorithm. Programmatic `(id)`: deletes at once. */
export async function deleteAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ deleted: string } | undefined> {
  const algorithm = await targetAlgorithm(services, args[0], 'Delete Algorithm');
  if (!algorithm) return undefined;
  if (interactive) {
    const choice = await vscode.window.showWarningMessage(
      `Delete the algorithm "${algorithm.metadata.name}"?`,
      { modal: true, detail: 'Training jobs already created from it are not affected. This cannot be undone.' },
      'Delete',
    );
    if (choice !== 'Delete') return undefined;
  }
  await services.engine.deleteAlgorithm(algorithm.metadata.id);
  services.log.info(`Deleted algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
  return { deleted: algorithm.metadata.id };
}

// ---- create a job -------------------------------------------------------------------------------

/**
 * Interactive: "Create Training Job" starting from the algorithm (it asks for the rest).
 * Programmatic `(id)`: returns that draft's seed without asking.
 */
export async function createJobFromAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<unknown> {
  const algorithm = await targetAlgorithm(services, args[0], 'Create Training Job from Algorithm');
  if (!algorithm) return undefined;
  const seed: JobDraftSeed = { algorithmId: algorithm.metadata.id };
  if (!interactive) return seed;
  return vscode.commands.executeCommand('modelarts.jobs.create', new JobDraft(seed));
}

// ---- refresh ------------------------------------------------------------------------------------

/** Reconnects if needed and reloads the algorithms; a failed load shows in the tree (and rejects a programmatic call). */
export async function refreshAlgorithms({ services, interactive }: CommandContext): Promise<{ state: string; algorithms: number }> {
  const state = await services.engine.connect();
  if (state.kind === 'available') await services.algorithms.reload();
  const load = services.algorithms.state;
  if (load.kind === 'failed' && !interactive) throw new ModelArtsError(`Could not load the algorithms: ${load.message}`, 'ModelArts.AlgorithmsUnavailable');
  return { state: state.kind, algorithms: state.kind === 'available' ? services.algorithms.list().length : 0 };
}

// ---- which algorithm ----------------------------------------------------------------------------

/** The algorithm a command is about: a tree node, an id or `{id}`; with none, asks. */
async function targetAlgorithm(services: Services, arg: unknown, title: string): Promise<Algorithm | undefined> {
  if (arg instanceof AlgorithmNode || arg instanceof AlgorithmDetailNode) return requireAlgorithm(services, arg.algorithm.metadata.id);
  if (typeof arg === 'string') return requireAlgorithm(services, arg);
  if (arg && typeof arg === 'object' && typeof (arg as { id?: unknown }).id === 'string') return requireAlgorithm(services, (arg as { id: string }).id);
  if (arg !== undefined) throw new InvalidInputError(title, [{ field: 'id', message: 'must be an algorithm id (or {id})' }]);
  return pickAlgorithm(services.algorithms.list(), title);
}

async function requireAlgorithm(services: Services, id: string): Promise<Algorithm> {
  const algorithm = await services.engine.getAlgorithm(id);
  if (!algorithm) throw new NotFoundError('algorithm', id);
  return algorithm;
}

async function pickAlgorithm(algorithms: readonly Algorithm[], title: string): Promise<Algorithm | undefined> {
  if (!algorithms.length) {
    const choice = await vscode.window.showInformationMessage('There are no algorithms yet.', 'Create Algorithm');
    if (choice) void vscode.commands.executeCommand('modelarts.algorithms.create');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    algorithms.map((algorithm) => ({ label: algorithm.metadata.name, description: describeAlgorithm(algorithm), detail: algorithm.metadata.description || undefined, algorithm })),
    { title, placeHolder: 'Pick an algorithm', matchOnDescription: true },
  );
  return picked?.algorithm;
}
