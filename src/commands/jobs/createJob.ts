/**
 * "Create Training Job". Interactive, it is the multi-step flow of jobWizard.ts (it asks "Run on"
 * first when there are several backends); started from a folder, a Python file, a dataset or an
 * algorithm (a JobDraft), those steps come filled in. With a spec object (and `{backend}`, else the
 * local backend) it asks nothing, creates the job and returns its id.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LOCAL_BACKEND_ID } from '../../backends/jobRef';
import type { JobRef } from '../../backends/jobRef';
import type { TrainingBackend } from '../../backends/trainingBackend';
import { InvalidInputError, ModelArtsError } from '../../core/errors';
import type { TrainingJob } from '../../core/job';
import { withCancellableProgress } from '../../cancellableProgress';
import { DRAFT_SCHEME } from '../../drafts/jobSpecDrafts';
import type { Services } from '../../services';
import { backendOption } from '../backendChoice';
import type { CommandContext } from '../registry';
import { codeFromUri, withWorkspaceCodeDir } from '../trainingCode';
import { JobDraft } from './jobDraft';
import { askForJob } from './jobWizard';

export async function createJob({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  requireTrust();
  if (!interactive) {
    const backend = backendOption(services, args[1]);
    const job = await backend.createJob(withWorkspaceCodeDir(args[0], 'algorithm'));
    services.log.info(`Created training job ${job.metadata.name} (${job.metadata.id}) on ${backend.displayName}`);
    return job.metadata.id;
  }
  // A folder or file the menu passed decides the code; the active editor's file is only offered first.
  const seed = args[0] instanceof JobDraft ? args[0].seed : args[0] instanceof vscode.Uri ? await codeFromUri(args[0]) : {};
  const suggested = args[0] === undefined ? await codeFromUri(activePythonFile()) : {};
  const outcome = await askForJob(services, seed, suggested);
  if (outcome.open === 'json') {
    await services.drafts.open(outcome.request.metadata.name, outcome.request, outcome.backend.id);
    return undefined;
  }
  // A backend that cannot read this machine uploads its input folders too: the review step showed where.
  return createAndReveal(services, outcome.backend, outcome.request, outcome.backend.uploads ? { uploadLocalInputs: true } : {});
}

/**
 * "Create Training Job" in the title of a job spec opened as JSON: creates the job from the
 * document's text as it is now, on the backend the draft was opened for (or `{backend}`).
 * Arguments: `{uri, backend?}` (programmatic), the draft's URI (the editor title passes it), or
 * none for the active editor's.
 */
export async function createJobFromDraft({ services }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  requireTrust();
  const [first] = args;
  const given = first && typeof first === 'object' && typeof (first as { uri?: unknown }).uri === 'string' ? vscode.Uri.parse((first as { uri: string }).uri) : undefined;
  const uri = first instanceof vscode.Uri ? first : (given ?? vscode.window.activeTextEditor?.document.uri);
  if (!uri) throw new ModelArtsError('Open a job spec (a .job.json document) to create a training job from it.', 'ModelArts.NoDraft');
  const document = await vscode.workspace.openTextDocument(uri);
  let spec: unknown;
  try {
    spec = JSON.parse(document.getText());
  } catch (error) {
    throw new ModelArtsError(`${path.basename(uri.path)} is not valid JSON: ${(error as Error).message}`, 'ModelArts.InvalidJson');
  }
  // The file's own "backend" says where it runs unless the command was told; it is not sent.
  const { backend: inFile, ...job } = spec && typeof spec === 'object' && !Array.isArray(spec) ? (spec as { backend?: unknown }) : { backend: undefined };
  const told = first && typeof first === 'object' && !(first instanceof vscode.Uri) ? (first as { backend?: unknown }).backend : undefined;
  const wanted = told ?? inFile ?? services.drafts.backendOf(uri) ?? LOCAL_BACKEND_ID;
  if (typeof wanted !== 'string') {
    throw new InvalidInputError(path.basename(uri.path), [{ field: 'backend', message: `must be a backend id such as "local" (configured: ${services.backends.list().map((b) => b.id).join(', ')})` }]);
  }
  const backend = services.backends.require(wanted, 'backend');
  const id = await createAndReveal(services, backend, withWorkspaceCodeDir(spec && typeof spec === 'object' && !Array.isArray(spec) ? job : spec, 'algorithm'), backend.uploads ? { uploadLocalInputs: true } : {});
  if (uri.scheme === DRAFT_SCHEME) await services.drafts.discard(uri);
  return id;
}

/** Creates the job with progress in the jobs view, reveals it and follows its log. */
export async function createAndReveal(services: Services, backend: TrainingBackend, request: unknown, options: { readonly uploadLocalInputs?: boolean } = {}): Promise<string> {
  const name = (request as { metadata?: { name?: unknown } })?.metadata?.name;
  const title = `Creating ${typeof name === 'string' ? name : 'training job'}`;
  // Uploads to another backend can take a while: a notification with Cancel; otherwise the view's own progress.
  const job = options.uploadLocalInputs
    ? await withCancellableProgress(`ModelArts: ${title} on ${backend.displayName}`, (signal, onProgress) => backend.createJob(request, { signal, onProgress, uploadLocalInputs: true }))
    : await vscode.window.withProgress({ location: { viewId: 'modelarts.jobs' }, title }, (progress) => backend.createJob(request, { onProgress: (message) => progress.report({ message }) }));
  services.log.info(`Created training job ${job.metadata.name} (${job.metadata.id}) on ${backend.displayName}`);
  const ref = { backend: backend.id, id: job.metadata.id };
  await revealJob(services, ref, job);
  if (services.settings.showLogsOnCreate) services.jobLogs.show(ref, job, job.status.tasks[0] ?? 'worker-0', true);
  return job.metadata.id;
}

export async function revealJob(services: Services, ref: JobRef, job: TrainingJob): Promise<void> {
  services.jobsTree.setFilter({});
  await services.jobsView.reveal(services.jobsTree.nodeFor(ref.backend, job), { select: true, focus: false }).then(undefined, () => undefined);
}

export function requireTrust(): void {
  if (!vscode.workspace.isTrusted) {
    throw new ModelArtsError(
      'Training jobs run code from this workspace, so they are disabled until you trust it (Manage Workspace Trust).',
      'ModelArts.Untrusted',
    );
  }
}

function activePythonFile(): vscode.Uri | undefined {
  const document = vscode.window.activeTextEditor?.document;
  return document && document.languageId === 'python' && document.uri.scheme === 'file' ? document.uri : undefined;
}
