/**
 * The algorithm commands but create (createAlgorithm.ts): edit, delete, create a job from one,
 * refresh. From a menu or the palette they ask what is missing; called with arguments they ask
 * nothing and return their result.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { backendIdSchema, LOCAL_BACKEND_ID } from '../../backends/jobRef';
import type { TrainingBackend } from '../../backends/trainingBackend';
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
  backend: backendIdSchema.optional(),
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
    const backend = algorithmBackend(services, parsed.data.id, parsed.data.backend);
    const algorithm = await backend.updateAlgorithm(parsed.data.id, withWorkspaceCodeDir(parsed.data.request, 'job_config'));
    services.log.info(`Updated algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
    return algorithm.metadata.id;
  }
  const target = await targetAlgorithm(services, args[0], 'Edit Algorithm');
  if (!target) return undefined;
  await vscode.window.showTextDocument(algorithmDocumentUri(target.backend.id, target.algorithm), { preview: false });
  return target.algorithm.metadata.id;
}

// ---- delete -------------------------------------------------------------------------------------

/** Interactive: asks for confirmation naming the algorithm. Programmatic `(id)`: deletes at once. */
export async function deleteAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ deleted: string } | undefined> {
  const target = await targetAlgorithm(services, args[0], 'Delete Algorithm');
  if (!target) return undefined;
  const { algorithm } = target;
  if (interactive) {
    const choice = await vscode.window.showWarningMessage(
      `Delete the algorithm "${algorithm.metadata.name}"?`,
      { modal: true, detail: 'Training jobs already created from it are not affected. This cannot be undone.' },
      'Delete',
    );
    if (choice !== 'Delete') return undefined;
  }
  await target.backend.deleteAlgorithm(algorithm.metadata.id);
  services.log.info(`Deleted algorithm ${algorithm.metadata.name} (${algorithm.metadata.id})`);
  return { deleted: algorithm.metadata.id };
}

// ---- create a job -------------------------------------------------------------------------------

/**
 * Interactive: "Create Training Job" starting from the algorithm (it asks for the rest).
 * Programmatic `(id)`: returns that draft's seed without asking.
 */
export async function createJobFromAlgorithm({ services, interactive }: CommandContext, ...args: unknown[]): Promise<unknown> {
  const target = await targetAlgorithm(services, args[0], 'Create Training Job from Algorithm');
  if (!target) return undefined;
  const seed: JobDraftSeed = { algorithmId: target.algorithm.metadata.id, backend: target.backend.id };
  if (!interactive) return seed;
  return vscode.commands.executeCommand('modelarts.jobs.create', new JobDraft(seed));
}

// ---- refresh ------------------------------------------------------------------------------------

/** Reconnects if needed and reloads the algorithms (of `{backend}`, else of every backend); a failed load shows in the tree (and rejects a programmatic call). */
export async function refreshAlgorithms({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ state: string; algorithms: number }> {
  const named = args[0] && typeof args[0] === 'object' && typeof (args[0] as { backend?: unknown }).backend === 'string' ? services.backends.require((args[0] as { backend: string }).backend) : undefined;
  const backends = named ? [named] : services.backends.list();
  const states = await Promise.all(backends.map((backend) => backend.connect()));
  await Promise.all(backends.map((backend, index) => (states[index]?.kind === 'available' ? services.algorithms.reload(backend.id) : undefined)));
  const failed = backends.map((backend) => ({ backend, load: services.algorithms.state(backend.id) })).find(({ load }) => load.kind === 'failed');
  if (failed && failed.load.kind === 'failed' && !interactive) throw new ModelArtsError(`Could not load the algorithms of ${failed.backend.displayName}: ${failed.load.message}`, 'ModelArts.AlgorithmsUnavailable');
  const first = backends[0];
  const state = (named ? states[0] : states[0])?.kind ?? 'unavailable';
  const algorithms = backends.reduce((sum, backend, index) => sum + (states[index]?.kind === 'available' ? services.algorithms.list(backend.id).length : 0), 0);
  return { state: first ? state : 'unavailable', algorithms };
}

// ---- which algorithm ----------------------------------------------------------------------------

interface AlgorithmTarget {
  readonly backend: TrainingBackend;
  readonly algorithm: Algorithm;
}

/** The backend holding an algorithm: the one named, else whichever holds its id, else the local one. */
function algorithmBackend(services: Services, id: string, named: string | undefined): TrainingBackend {
  if (named) return services.backends.require(named);
  const holders = services.algorithms.backendsOf(id);
  return services.backends.require(holders[0] ?? LOCAL_BACKEND_ID);
}

/** The algorithm a command is about: a tree node, an id, `{id}` or `{backend, id}`; with none, asks. */
async function targetAlgorithm(services: Services, arg: unknown, title: string): Promise<AlgorithmTarget | undefined> {
  if (arg instanceof AlgorithmNode || arg instanceof AlgorithmDetailNode) return requireAlgorithm(services.backends.require(arg.backend), arg.algorithm.metadata.id);
  if (typeof arg === 'string') return requireAlgorithm(algorithmBackend(services, arg, undefined), arg);
  if (arg && typeof arg === 'object' && typeof (arg as { id?: unknown }).id === 'string') {
    const { id, backend } = arg as { id: string; backend?: unknown };
    return requireAlgorithm(algorithmBackend(services, id, typeof backend === 'string' ? backend : undefined), id);
  }
  if (arg !== undefined) throw new InvalidInputError(title, [{ field: 'id', message: 'must be an algorithm id (or {id}, {backend, id})' }]);
  return pickAlgorithm(services, title);
}

async function requireAlgorithm(backend: TrainingBackend, id: string): Promise<AlgorithmTarget> {
  const algorithm = await backend.getAlgorithm(id);
  if (!algorithm) throw new NotFoundError('algorithm', id);
  return { backend, algorithm };
}

async function pickAlgorithm(services: Services, title: string): Promise<AlgorithmTarget | undefined> {
  const all = services.algorithms.all();
  if (!all.length) {
    const choice = await vscode.window.showInformationMessage('There are no algorithms yet.', 'Create Algorithm');
    if (choice) void vscode.commands.executeCommand('modelarts.algorithms.create');
    return undefined;
  }
  const several = services.backends.size > 1;
  const picked = await vscode.window.showQuickPick(
    all.map(({ backend, algorithm }) => ({
      label: algorithm.metadata.name,
      description: describeAlgorithm(algorithm),
      detail: [several ? services.backends.get(backend)?.displayName : undefined, algorithm.metadata.description || undefined].filter(Boolean).join(' · ') || undefined,
      target: { backend: services.backends.require(backend), algorithm },
    })),
    { title, placeHolder: 'Pick an algorithm', matchOnDescription: true },
  );
  return picked?.target;
}
