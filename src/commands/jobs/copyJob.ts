import * as vscode from 'vscode';
import { z } from 'zod';
import { invalidInput } from '../../core/errors';
import { uniqueName } from '../../core/format';
import { formatParameterList, jobNameSchema, parameterSchema, parameterTextProblem, parseParameterList, toCreateRequest, type ValidJobCreateRequest } from '../../core/job';
import { jobArgument } from './jobArgument';
import { createAndReveal, requireTrust } from './createJob';
import type { CommandContext } from '../registry';

const optionsSchema = z.strictObject({
  name: jobNameSchema.optional(),
  /** Replace the hyperparameters: a list of {name, value}, or text such as "epochs=5 lr=0.01". */
  parameters: z.union([z.array(parameterSchema), z.string()], { error: 'must be a list of {name, value} or text such as "epochs=5 lr=0.01"' }).optional(),
});

/**
 * Creates a new job from an existing one's spec. Interactive, the copy's name and hyperparameters
 * come prefilled and editable, and the whole spec can be opened as JSON before it is created.
 * Arguments: a node, a job id or `{jobId}`, then `{name?, parameters?}`; returns the new job's id.
 */
export async function copyJob({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  requireTrust();
  const job = await jobArgument(services, 'copy', 'modelarts.jobs.copy', args[0]);
  const request = toCreateRequest(job);
  const taken = new Set(services.jobs.list().map((j) => j.metadata.name));
  request.metadata.name = uniqueName(`${job.metadata.name}-copy`, (name) => taken.has(name));

  if (!interactive) {
    const parsed = optionsSchema.safeParse(args[1] ?? {});
    if (!parsed.success) throw invalidInput('modelarts.jobs.copy options', parsed.error);
    const { name, parameters } = parsed.data;
    if (name) request.metadata.name = name;
    if (parameters !== undefined) request.algorithm.parameters = typeof parameters === 'string' ? parseParameterList(parameters) : parameters;
    const copy = await services.engine.createJob(request);
    services.log.info(`Copied training job ${job.metadata.name} to ${copy.metadata.name} (${copy.metadata.id})`);
    return copy.metadata.id;
  }

  const edited = await editCopy(job.metadata.name, request);
  if (!edited) return undefined;
  if (edited === 'json') {
    await services.drafts.open(request.metadata.name, request);
    return undefined;
  }
  return createAndReveal(services, edited);
}

async function editCopy(original: string, request: ValidJobCreateRequest): Promise<ValidJobCreateRequest | 'json' | undefined> {
  const title = `Copy Training Job ${original}`;
  const name = await vscode.window.showInputBox({
    title: `${title} (1/3): name`,
    value: request.metadata.name,
    ignoreFocusOut: true,
    validateInput: (value) => {
      const result = jobNameSchema.safeParse(value);
      return result.success ? undefined : `metadata.name ${result.error.issues[0]?.message ?? 'is invalid'}`;
    },
  });
  if (name === undefined) return undefined;
  const parameters = await vscode.window.showInputBox({
    title: `${title} (2/3): hyperparameters`,
    prompt: 'Passed to the boot file as --name=value flags; change any value before the copy starts.',
    value: formatParameterList(request.algorithm.parameters ?? []),
    ignoreFocusOut: true,
    validateInput: parameterTextProblem,
  });
  if (parameters === undefined) return undefined;
  const edited: ValidJobCreateRequest = {
    ...request,
    metadata: { ...request.metadata, name },
    algorithm: { ...request.algorithm, parameters: parseParameterList(parameters) },
  };
  const choice = await vscode.window.showQuickPick(
    [
      { label: '$(play) Create', description: `${name} with ${parameters || 'no hyperparameters'}`, value: 'create' as const },
      { label: '$(json) Open as JSON…', description: 'Edit the whole spec, then create it from the editor title', value: 'json' as const },
    ],
    { title: `${title} (3/3)`, placeHolder: 'Create the copy now, or edit its whole spec first', ignoreFocusOut: true },
  );
  if (!choice) return undefined;
  if (choice.value === 'json') {
    Object.assign(request, edited);
    return 'json';
  }
  return edited;
}
