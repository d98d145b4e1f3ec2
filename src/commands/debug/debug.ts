/**
 * The dev-container commands: debug or run a Python file in its job's container, open a shell in
 * a running dev container, and promote what is being debugged (or a launch configuration, or a
 * file) to a training job with the same image, code, boot file, arguments, inputs and outputs.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { bootCommand } from '../../core/contract';
import { InvalidInputError, ModelArtsError } from '../../core/errors';
import { uniqueName } from '../../core/format';
import { parseJobCreateRequest, type JobCreateRequest } from '../../core/job';
import { DEBUG_TYPE, inLaunchTerms } from '../../core/launchConfig';
import { devContainerTerminal, type DevSession } from '../../debug/devSessions';
import {
  LaunchConfigurationProvider,
  activePythonFile,
  launchRequestFor,
  requireDevContainers,
  substituteVariables,
  type LaunchRequest,
} from '../../debug/launchConfigurations';
import { translateJob } from '../../backends/shared/jobTranslation';
import type { TrainingBackend } from '../../backends/trainingBackend';
import type { Services } from '../../services';
import { flavorItems } from '../../drafts/flavorChoice';
import { createAndReveal, requireTrust } from '../jobs/createJob';
import { backendOption } from '../backendChoice';
import type { CommandContext } from '../registry';

/** Debugs a Python file (the editor title's, a `{file}` argument, or the active editor's) in a dev container; returns the session id. */
export function debugInDevContainer(context: CommandContext, ...args: unknown[]): Promise<{ sessionId: string } | undefined> {
  return startSession(context, args[0], false);
}

/** The same container without debugpy (what Ctrl+F5 does for a launch configuration). */
export function runInDevContainer(context: CommandContext, ...args: unknown[]): Promise<{ sessionId: string } | undefined> {
  return startSession(context, args[0], true);
}

async function startSession({ services }: CommandContext, arg: unknown, noDebug: boolean): Promise<{ sessionId: string } | undefined> {
  requireTrust();
  const file = fileArgument(arg) ?? activePythonFile();
  if (!file) throw new ModelArtsError('Open the Python file that starts training (or pass {file}) to run it in a dev container.', 'ModelArts.NoFile');
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
  const config = (await launchConfigurationFor(services, file, folder)) ?? (await new LaunchConfigurationProvider(services).configurationFor(file, folder));
  let started: vscode.DebugSession | undefined;
  const listener = vscode.debug.onDidStartDebugSession((session) => {
    if (session.type === DEBUG_TYPE && session.name === config.name) started ??= session;
  });
  try {
    const ok = await vscode.debug.startDebugging(folder, { ...config, noDebug }, { noDebug });
    return ok && started ? { sessionId: started.id } : undefined;
  } finally {
    listener.dispose();
  }
}

/** Opens a terminal on a shell in a dev container: `{sessionId}`, else the active session's, else one picked. */
export async function openDevContainerShell({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ containerId: string; terminal: string } | undefined> {
  const dev = await devSessionArgument(services, args[0], interactive);
  if (!dev) return undefined;
  const terminal = devContainerTerminal(dev, services.log);
  terminal.show();
  return { containerId: dev.container.containerId, terminal: terminal.name };
}

/**
 * "Promote to Training Job": from the active dev session, a `modelarts` launch configuration or
 * a Python file. Interactive, it shows the job that will be created (with its command line) and
 * creates it on confirm; with an argument (`{sessionId}`, `{configuration, folder?}`, `{file}` or
 * a file URI) it creates it at once. Returns the job id.
 */
export async function promoteToJob({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  requireTrust();
  const source = await promotionSource(services, args[0], interactive);
  if (!source) return undefined;
  const { backend } = requireDevContainers(services.backends);
  let target = backendOption(services, args[1] ?? { backend: backend.id });
  const taken = new Set((await target.listJobs()).map((job) => job.metadata.name));
  let request: JobCreateRequest = { ...source.request, metadata: { ...source.request.metadata, name: uniqueName(source.request.metadata.name, (name) => taken.has(name)) } };
  if (interactive) {
    const reviewed = await reviewPromotion(services, backend, source, request);
    if (reviewed === undefined) return undefined;
    if (reviewed === 'json') {
      await services.drafts.open(request.metadata.name, request);
      return undefined;
    }
    if ('runOn' in reviewed) target = reviewed.runOn;
    else request = reviewed;
  }
  try {
    if (target !== backend) return await promoteElsewhere(services, backend, target, request);
    return await createAndReveal(services, backend, request);
  } catch (error) {
    throw source.config ? inLaunchTerms(error, source.config, request) : error;
  }
}

/** The dev session's job on another backend (ModelArts): engine and flavor translated, this machine's folders uploaded. */
async function promoteElsewhere(services: Services, source: TrainingBackend, target: TrainingBackend, request: JobCreateRequest): Promise<string> {
  const [engines, flavors, sourceEngines] = await Promise.all([target.listPresetEngines(), target.listFlavors(), source.listPresetEngines()]);
  const { request: translated } = translateJob(parseJobCreateRequest(request), { displayName: target.displayName, engines, flavors, defaultFlavor: flavors.find((f) => f.default_reason !== undefined) }, { sourceEngines });
  return createAndReveal(services, target, translated, { uploadLocalInputs: true });
}

interface PromotionSource {
  readonly label: string;
  readonly request: JobCreateRequest;
  readonly config?: LaunchRequest['config'];
  /** Why the job gets its flavor. */
  readonly flavorReason?: string;
}

/**
 * The job promotion will create, with its flavor (and why) and command line: Create, Change
 * Flavor…, or Open as JSON…. Resolves with the request to create, 'json', or undefined (closed).
 */
async function reviewPromotion(services: Services, backend: TrainingBackend, source: PromotionSource, initial: JobCreateRequest): Promise<JobCreateRequest | 'json' | { readonly runOn: TrainingBackend } | undefined> {
  let request = initial;
  let reason = source.flavorReason ?? '';
  for (;;) {
    const planned = await requireDevContainers(services.backends).host.check(request).catch((error: unknown) => {
      throw source.config ? inLaunchTerms(error, source.config, request) : error;
    });
    const command = bootCommand(planned.algorithm).map((part, index) => (index === 1 ? path.posix.basename(part) : part)).join(' ');
    const picked = await vscode.window.showQuickPick(
      [
        {
          label: `$(rocket) Create training job ${request.metadata.name}`,
          description: `${planned.spec.resource.flavor_name} × 1${reason ? ` (${reason})` : ''}`,
          detail: `${planned.algorithm.engine.image_url} · ${command}`,
          value: 'create' as const,
        },
        { label: '$(server) Change Flavor…', description: `now ${planned.spec.resource.flavor_id}`, value: 'flavor' as const },
        ...services.backends
          .list()
          .filter((other) => other !== backend && other.state.kind === 'available')
          .map((other) => ({ label: `$(${other.icon}) Run on ${other.displayName}…`, description: 'its engine and flavor; this machine\'s folders uploaded first', value: 'elsewhere' as const, other })),
        { label: '$(json) Open as JSON…', description: 'Review or edit the whole spec, then create it from the editor title', value: 'json' as const },
      ],
      { title: `Promote ${source.label} to a Training Job`, placeHolder: 'The same image, code, boot file, arguments, inputs and outputs', ignoreFocusOut: true },
    );
    if (!picked) return undefined;
    if (picked.value === 'elsewhere' && 'other' in picked) return { runOn: picked.other };
    if (picked.value !== 'flavor') {
      await services.remembered.rememberFlavor(backend.id, planned.spec.resource.flavor_id);
      return picked.value === 'json' ? 'json' : request;
    }
    const flavors = await backend.listFlavors();
    const current = flavors.find((f) => f.flavor_id === planned.spec.resource.flavor_id);
    const flavor = await vscode.window.showQuickPick(
      flavorItems(flavors, current && { flavor: current, reason: reason || 'current' }),
      { title: `Promote ${source.label}: flavor`, placeHolder: 'CPU and memory of the job\'s node', ignoreFocusOut: true },
    );
    if (flavor) {
      request = { ...request, spec: { ...request.spec, resource: { ...request.spec?.resource, flavor_id: flavor.flavor.flavor_id } } };
      reason = 'chosen now';
    }
  }
}

async function promotionSource(services: Services, arg: unknown, interactive: boolean): Promise<PromotionSource | undefined> {
  const given = arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) ? (arg as Record<string, unknown>) : undefined;
  if (typeof given?.sessionId === 'string') {
    const dev = services.devSessions.all.find((s) => s.session.id === given.sessionId);
    if (!dev) throw new ModelArtsError(`No ModelArts debug session ${given.sessionId} is running.`, 'ModelArts.NoDevSession');
    return fromSession(dev);
  }
  if (given?.configuration !== undefined) {
    const folder = folderArgument(given.folder);
    const config = typeof given.configuration === 'string' ? namedConfiguration(given.configuration, folder) : given.configuration;
    return fromConfiguration(services, config, folder);
  }
  const file = fileArgument(arg);
  if (file) return fromFile(services, file);
  if (arg !== undefined) {
    throw new InvalidInputError('modelarts.debug.promote', [{ field: '', message: 'takes {sessionId}, {configuration, folder?}, {file} or a Python file URI' }]);
  }
  const active = services.devSessions.get();
  if (active) return fromSession(active);
  const open = activePythonFile();
  if (open) return fromFile(services, open);
  const configurations = modelartsConfigurations();
  if (!configurations.length) {
    throw new ModelArtsError('Nothing to promote: start a ModelArts debug session, open the Python file that starts training, or add a "modelarts" configuration to launch.json.', 'ModelArts.NothingToPromote');
  }
  if (configurations.length === 1 || !interactive) return fromConfiguration(services, configurations[0]?.config, configurations[0]?.folder);
  const picked = await vscode.window.showQuickPick(
    configurations.map((entry) => ({ label: entry.name, description: entry.folder?.name, entry })),
    { title: 'Promote to Training Job', placeHolder: 'Which launch configuration?' },
  );
  return picked ? fromConfiguration(services, picked.entry.config, picked.entry.folder) : undefined;
}

function fromSession(dev: DevSession): PromotionSource {
  return { label: `debug session "${dev.session.name}"`, request: dev.request, ...(dev.flavorReason ? { flavorReason: dev.flavorReason } : {}) };
}

async function fromConfiguration(services: Services, config: unknown, folder: vscode.WorkspaceFolder | undefined): Promise<PromotionSource> {
  const launch = await launchRequestFor(services, substituteVariables(config, folder), folder);
  return { label: `"${launch.config.name}"`, request: launch.request, config: launch.config, flavorReason: launch.flavorReason };
}

/** A launch.json configuration whose boot file is this file, else one made for it. */
async function fromFile(services: Services, file: string): Promise<PromotionSource> {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file));
  const config = await launchConfigurationFor(services, file, folder);
  if (config) return fromConfiguration(services, config, folder);
  return fromConfiguration(services, await new LaunchConfigurationProvider(services).configurationFor(file, folder), folder);
}

/** The launch.json configuration that debugs `file`, if there is one. */
async function launchConfigurationFor(services: Services, file: string, folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration | undefined> {
  for (const entry of modelartsConfigurations(folder)) {
    try {
      const { request } = await launchRequestFor(services, substituteVariables(entry.config, entry.folder), entry.folder);
      if (request.algorithm.boot_file && path.resolve(request.algorithm.boot_file) === path.resolve(file)) return entry.config as vscode.DebugConfiguration;
    } catch {
      // A configuration that does not parse is not this file's.
    }
  }
  return undefined;
}

interface ConfigurationEntry {
  readonly name: string;
  readonly config: unknown;
  readonly folder: vscode.WorkspaceFolder | undefined;
}

function modelartsConfigurations(only?: vscode.WorkspaceFolder): ConfigurationEntry[] {
  const folders = only ? [only] : (vscode.workspace.workspaceFolders ?? []);
  return folders.flatMap((folder) =>
    (vscode.workspace.getConfiguration('launch', folder.uri).get<unknown[]>('configurations') ?? [])
      .filter((config): config is Record<string, unknown> => !!config && typeof config === 'object' && (config as { type?: unknown }).type === DEBUG_TYPE)
      .map((config) => ({ name: String(config.name ?? ''), config, folder })),
  );
}

function namedConfiguration(name: string, folder: vscode.WorkspaceFolder | undefined): unknown {
  const found = modelartsConfigurations(folder).find((entry) => entry.name === name);
  if (!found) throw new ModelArtsError(`No "${DEBUG_TYPE}" launch configuration is named "${name}".`, 'ModelArts.NoConfiguration');
  return found.config;
}

function folderArgument(value: unknown): vscode.WorkspaceFolder | undefined {
  if (typeof value !== 'string') return vscode.workspace.workspaceFolders?.[0];
  const uri = /^[a-z][a-z0-9+.-]*:/i.test(value) && !path.isAbsolute(value) ? vscode.Uri.parse(value) : vscode.Uri.file(value);
  return vscode.workspace.getWorkspaceFolder(uri) ?? vscode.workspace.workspaceFolders?.find((f) => f.name === value);
}

function fileArgument(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.scheme === 'file' ? arg.fsPath : undefined;
  const file = arg && typeof arg === 'object' ? (arg as { file?: unknown }).file : undefined;
  return typeof file === 'string' ? file : undefined;
}

async function devSessionArgument(services: Services, arg: unknown, interactive: boolean): Promise<DevSession | undefined> {
  const sessionId = arg && typeof arg === 'object' ? (arg as { sessionId?: unknown }).sessionId : undefined;
  if (typeof sessionId === 'string') {
    const dev = services.devSessions.all.find((s) => s.session.id === sessionId);
    if (!dev) throw new ModelArtsError(`No ModelArts debug session ${sessionId} is running.`, 'ModelArts.NoDevSession');
    return dev;
  }
  const active = services.devSessions.get();
  if (active) return active;
  const all = services.devSessions.all;
  if (all.length === 1 || (all.length && !interactive)) return all[0];
  if (!all.length) throw new ModelArtsError('No ModelArts dev container is running: start debugging a training script (F5) first.', 'ModelArts.NoDevSession');
  const picked = await vscode.window.showQuickPick(
    all.map((dev) => ({ label: dev.session.name, description: dev.container.id, dev })),
    { title: 'Open a Shell in the Dev Container', placeHolder: 'Which debug session?' },
  );
  return picked?.dev;
}
