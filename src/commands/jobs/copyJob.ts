import { z } from 'zod';
import { copyJob as copyOnBackend, copyName } from '../../backends/shared/jobOperations';
import { invalidInput } from '../../core/errors';
import { uniqueName } from '../../core/format';
import { formatParameterList, jobNameSchema, parameterSchema, parseParameterList, toCreateRequest, type ValidJobCreateRequest } from '../../core/job';
import { hyperparameterTextProblem } from '../../core/jobText';
import type { Services } from '../../services';
import { BACK, pickStep, runSteps, textStep } from '../multiStep';
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
 * Arguments: a node, a job id, `{jobId}` or `{backend, jobId}`, then `{name?, parameters?}`;
 * returns the new job's id (on the same backend).
 */
export async function copyJob({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  requireTrust();
  const { backend, job } = await jobArgument(services, 'copy', 'modelarts.jobs.copy', args[0]);
  if (!interactive) {
    const parsed = optionsSchema.safeParse(args[1] ?? {});
    if (!parsed.success) throw invalidInput('modelarts.jobs.copy options', parsed.error);
    const { name, parameters } = parsed.data;
    const copy = await copyOnBackend(backend, job.metadata.id, {
      ...(name ? { name } : {}),
      ...(parameters !== undefined ? { parameters: typeof parameters === 'string' ? parseParameterList(parameters) : parameters } : {}),
    });
    services.log.info(`Copied training job ${job.metadata.name} to ${copy.metadata.name} (${copy.metadata.id})`);
    return copy.metadata.id;
  }

  const request = toCreateRequest(job);
  request.metadata.name = await copyName(backend, job);
  const edited = await editCopy(services, backend.id, job.metadata.name, request);
  if (edited === 'json') {
    await services.drafts.open(request.metadata.name, request, backend.id);
    return undefined;
  }
  return createAndReveal(services, backend, edited);
}

interface CopyChoices {
  name: string;
  parameters: string;
  open?: 'create' | 'json';
}

/** Three steps with Back: the copy's name, its hyperparameters, then Create or Open as JSON. */
async function editCopy(services: Services, backend: string, original: string, request: ValidJobCreateRequest): Promise<ValidJobCreateRequest | 'json'> {
  const taken = (name: string) => services.jobs.list(backend).some((job) => job.metadata.name === name);
  const state: CopyChoices = { name: request.metadata.name, parameters: formatParameterList(request.algorithm.parameters ?? []) };
  await runSteps(`Copy Training Job ${original}`, state, [
    textStep('name', {
      label: 'name',
      prompt: 'Name of the copy (1 to 64 letters, digits, "-" and "_")',
      validate: (text) => {
        if (!jobNameSchema.safeParse(text).success) return `A job name has 1 to 64 letters, digits, "-" and "_", such as ${uniqueName(`${original}-copy`, taken)}.`;
        return taken(text) ? { warning: `A job named ${text} exists already; ${uniqueName(text, taken)} is free. Press Enter to use ${text} anyway.` } : undefined;
      },
    }),
    textStep('parameters', {
      label: 'hyperparameters',
      prompt: 'Passed to the boot file as --name=value flags; change any value before the copy starts.',
      validate: hyperparameterTextProblem,
    }),
    {
      run: async (s, position) => {
        const picked = await pickStep({
          position,
          label: 'review',
          items: [
            { label: '$(play) Create', description: `${s.name} with ${s.parameters || 'no hyperparameters'}`, value: 'create' as const },
            { label: '$(json) Open as JSON…', description: 'Edit the whole spec, then create it from the editor title', value: 'json' as const },
          ],
          placeholder: 'Create the copy now, or edit its whole spec first',
          matchOnDescription: false,
        });
        if (picked === BACK) return BACK;
        s.open = picked.value;
        return;
      },
    },
  ]);
  const edited: ValidJobCreateRequest = {
    ...request,
    metadata: { ...request.metadata, name: state.name },
    algorithm: { ...request.algorithm, parameters: parseParameterList(state.parameters) },
  };
  if (state.open === 'json') {
    Object.assign(request, edited);
    return 'json';
  }
  return edited;
}
