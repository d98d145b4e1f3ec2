/**
 * Run on Another Backend ("Run on ModelArts" for a local job): the same job — code, boot file,
 * hyperparameters, inputs, outputs — created on another backend, with what that backend names its
 * own way translated (engine, flavor; backends/shared/jobTranslation.ts) and folders on this
 * machine (the code folder, input folders) uploaded to it first, after a confirmation that says
 * what changes and what is sent. Arguments: the job (a node, `{backend, jobId}`, an id), then
 * `{backend, flavorId?, name?}`; returns `{backend, jobId}`.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { backendIdSchema } from '../../backends/jobRef';
import { translateJob } from '../../backends/shared/jobTranslation';
import type { TrainingBackend } from '../../backends/trainingBackend';
import { InvalidInputError, invalidInput } from '../../core/errors';
import { jobNameSchema, toCreateRequest } from '../../core/job';
import { withCancellableProgress } from '../../cancellableProgress';
import type { CommandContext } from '../registry';
import { jobArgument } from './jobArgument';

const optionsSchema = z.strictObject({
  backend: backendIdSchema,
  flavorId: z.string().min(1).optional(),
  name: jobNameSchema.optional(),
});

/** Folders on this machine the job names: its code folder and input folders given as paths. */
function localFolders(request: ReturnType<typeof toCreateRequest>): string[] {
  const isPath = (value: string) => value.startsWith('/') || value.startsWith('./') || value.startsWith('file://');
  return [
    ...(request.algorithm.code_dir && isPath(request.algorithm.code_dir) ? [`code folder ${request.algorithm.code_dir}`] : []),
    ...(request.algorithm.inputs ?? []).flatMap((input) => (input.remote.obs && isPath(input.remote.obs.obs_url) ? [`input ${input.name} (${input.remote.obs.obs_url})`] : [])),
  ];
}

export async function runOnBackend({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ backend: string; jobId: string } | undefined> {
  const { backend: source, job } = await jobArgument(services, 'copy', 'modelarts.jobs.runOn', args[0]);
  let target: TrainingBackend;
  let options: z.output<typeof optionsSchema> | undefined;
  if (args[1] !== undefined || !interactive) {
    const parsed = optionsSchema.safeParse(args[1]);
    if (!parsed.success) throw invalidInput('modelarts.jobs.runOn options', parsed.error);
    options = parsed.data;
    target = services.backends.require(options.backend);
  } else {
    const others = services.backends.list().filter((b) => b.id !== source.id);
    if (!others.length) throw new InvalidInputError('Run on', [{ field: 'backend', message: `${source.displayName} is the only backend; sign in to ModelArts to run jobs there` }]);
    const picked = await vscode.window.showQuickPick(
      others.map((b) => ({ label: `$(${b.icon}) ${b.displayName}`, description: b.state.kind === 'available' ? 'available' : b.state.kind, backend: b })),
      { title: `Run ${job.metadata.name} on…`, placeHolder: 'The backend the same job runs on' },
    );
    if (!picked) return undefined;
    target = picked.backend;
  }
  if (target.id === source.id) throw new InvalidInputError('Run on', [{ field: 'backend', message: `the job already runs on ${source.displayName}; use Copy to run it again there` }]);
  const [engines, flavors] = await Promise.all([target.listPresetEngines(), target.listFlavors()]);
  const request = toCreateRequest(job);
  if (options?.name) request.metadata.name = options.name;
  const translation = translateJob(request, { displayName: target.displayName, engines, flavors, defaultFlavor: flavors.find((f) => f.default_reason !== undefined) }, options?.flavorId ? { flavorId: options.flavorId } : {});
  const sent = localFolders(request);
  if (interactive) {
    const detail = [
      ...(sent.length ? [`Uploaded to ${target.displayName} first: ${sent.join('; ')}.`] : []),
      ...(translation.changes.length ? [`Changed for ${target.displayName}: ${translation.changes.join('; ')}.`] : []),
      'Hyperparameters and outputs stay as they are; outputs kept on this machine go to the backend\'s own output location.',
    ].join('\n\n');
    const choice = await vscode.window.showInformationMessage(`Run ${job.metadata.name} on ${target.displayName}?`, { modal: true, detail }, 'Run');
    if (choice !== 'Run') return undefined;
  }
  const created = await withCancellableProgress(`ModelArts: ${job.metadata.name} on ${target.displayName}`, (signal, onProgress) =>
    target.createJob(translation.request, { signal, onProgress, uploadLocalInputs: true }),
  );
  services.log.info(`${job.metadata.name} (${source.id}) now runs on ${target.id} as ${created.metadata.id}${translation.changes.length ? `: ${translation.changes.join('; ')}` : ''}`);
  return { backend: target.id, jobId: created.metadata.id };
}
