/**
 * Debug Locally: a job of a backend that keeps its code elsewhere (ModelArts: on OBS) debugged in
 * a dev container on this machine, with the same code (downloaded from its `code_dir`), boot file,
 * hyperparameters and inputs (downloaded after a confirmation of their size), on the local preset
 * engine of the same framework and version (saying which). Arguments: the job (a node,
 * `{backend, jobId}`), then `{noDebug?}`; returns `{sessionId, codeDir}`.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import { translateEngine } from '../../backends/shared/jobTranslation';
import { formatBytes } from '../../core/format';
import { InvalidInputError, invalidInput } from '../../core/errors';
import { DEBUG_TYPE } from '../../core/launchConfig';
import { describeEngine } from '../../core/presetEngines';
import { requireDevContainers } from '../../debug/launchConfigurations';
import { jobArgument } from '../jobs/jobArgument';
import { requireTrust } from '../jobs/createJob';
import { withCancellableProgress } from '../../cancellableProgress';
import type { CommandContext } from '../registry';

const optionsSchema = z.strictObject({ noDebug: z.boolean({ error: 'must be true or false' }).optional() });

/** The part of an OBS file URL after its folder's: `obs://b/code/digits/train.py` in `obs://b/code/digits/` is `train.py`. */
function inside(folder: string, file: string): string {
  return file.startsWith(folder) ? file.slice(folder.length) : path.posix.basename(file);
}

export async function debugLocally({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ sessionId: string; codeDir: string } | undefined> {
  requireTrust();
  const { backend: source, job } = await jobArgument(services, 'copy', 'modelarts.jobs.debugLocally', args[0]);
  const parsed = optionsSchema.safeParse(args[1] ?? {});
  if (!parsed.success) throw invalidInput('modelarts.jobs.debugLocally options', parsed.error);
  const remote = source.remoteFiles;
  if (!remote) throw new InvalidInputError('Debug Locally', [{ field: 'backend', message: `${source.displayName} keeps its jobs' code on this machine: open it and press F5` }]);
  const { algorithm } = job;
  if (!algorithm.code_dir || !algorithm.boot_file) throw new InvalidInputError('Debug Locally', [{ field: 'algorithm.boot_file', message: `${job.metadata.name} runs a custom image's command, not a boot file; debugging needs a Python boot file` }]);
  const { backend: local } = requireDevContainers(services.backends);
  const engines = await local.listPresetEngines();
  const engine = algorithm.engine.engine_name && algorithm.engine.engine_version ? translateEngine({ engine_name: algorithm.engine.engine_name, engine_version: algorithm.engine.engine_version }, engines) : undefined;
  if (!engine) {
    throw new InvalidInputError('Debug Locally', [
      { field: 'algorithm.engine', message: `${local.displayName} has no engine like ${describeEngine({ engine_name: algorithm.engine.engine_name ?? algorithm.engine.image_url, engine_version: algorithm.engine.engine_version ?? '' })}; it has ${engines.map(describeEngine).join(', ') || 'none'}` },
    ]);
  }
  const inputs = algorithm.inputs.flatMap((input) => (input.remote.obs ? [{ name: input.name, url: input.remote.obs.obs_url }] : []));
  const sizes = await Promise.all(inputs.map((input) => remote.measure(input.url, `algorithm.inputs.${input.name}`)));
  const bytes = sizes.reduce((sum, s) => sum + s.bytes, 0);
  if (interactive && inputs.length) {
    const files = sizes.reduce((sum, s) => sum + s.files, 0);
    const choice = await vscode.window.showInformationMessage(
      `Debug ${job.metadata.name} locally?`,
      { modal: true, detail: `Its code (${algorithm.code_dir}) and inputs (${inputs.map((i) => `${i.name}: ${i.url}`).join(', ')}: ${files} files, ${formatBytes(bytes)}) are downloaded to this machine; it runs on ${describeEngine(engine)} here.` },
      'Download and Debug',
    );
    if (choice !== 'Download and Debug') return undefined;
  }
  const root = path.join(os.tmpdir(), 'modelarts-debug-locally', `${job.metadata.name}-${job.metadata.id.slice(0, 8)}`);
  const codeDir = path.join(root, 'code', path.posix.basename(algorithm.code_dir.replace(/\/+$/, '')) || 'code');
  const inputDirs: Record<string, string> = {};
  await withCancellableProgress(`ModelArts: ${job.metadata.name} to this machine`, async (signal, onProgress) => {
    await remote.download(algorithm.code_dir, codeDir, { signal, onProgress });
    for (const input of inputs) {
      inputDirs[input.name] = path.join(root, 'inputs', input.name);
      await remote.download(input.url, inputDirs[input.name] as string, { signal, onProgress });
    }
  });
  const config = {
    type: DEBUG_TYPE,
    request: 'launch',
    name: `Debug ${job.metadata.name} locally`,
    codeDir,
    bootFile: path.join(codeDir, ...inside(algorithm.code_dir, algorithm.boot_file).split('/')),
    engine: engine.engine_id,
    hyperparameters: Object.fromEntries(algorithm.parameters.map((p) => [p.name, p.value ?? true])),
    inputs: inputDirs,
    outputs: Object.fromEntries(algorithm.outputs.map((o) => [o.name, ''])),
    jobName: job.metadata.name,
  };
  services.log.info(`Debug ${job.metadata.name} (${source.id}) locally on ${describeEngine(engine)}: code in ${codeDir}`);
  let started: vscode.DebugSession | undefined;
  const listener = vscode.debug.onDidStartDebugSession((session) => {
    if (session.type === DEBUG_TYPE && session.name === config.name) started ??= session;
  });
  try {
    const noDebug = parsed.data.noDebug ?? false;
    const ok = await vscode.debug.startDebugging(undefined, { ...config, noDebug }, { noDebug });
    return ok && started ? { sessionId: started.id, codeDir } : undefined;
  } finally {
    listener.dispose();
  }
}
