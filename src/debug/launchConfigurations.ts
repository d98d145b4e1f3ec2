/**
 * `modelarts` launch configurations in the editor: initial configurations and a dynamic one for the
 * active Python file, F5 without a launch.json, and the check that turns a configuration into the
 * attach request VS Code sends to debugpy (path mappings, justMyCode, output redirection).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { containerCodeDir } from '../core/contract';
import { InvalidInputError, ModelArtsError, errorMessage, isCancellation } from '../core/errors';
import type { JobCreateRequest } from '../core/job';
import {
  inLaunchTerms,
  jobRequestFromLaunch,
  launchConfigurationFor,
  parseLaunchConfiguration,
  type LaunchConfiguration,
} from '../core/launchConfig';
import type { BackendRegistry } from '../backends/backendRegistry';
import type { DevContainerHost } from '../backends/capabilities';
import type { TrainingBackend } from '../backends/trainingBackend';
import type { Services } from '../services';
import { preferredFlavor } from '../drafts/flavorChoice';

/** Where the launch's job request is kept in the resolved configuration, for the session and promotion. */
export const JOB_REQUEST_KEY = '__modelartsJobRequest';
/** Why that request has its flavor (for promotion's review). */
export const FLAVOR_REASON_KEY = '__modelartsFlavorReason';
/** The arguments of debugpy's attach request (path mappings, justMyCode), for the relay. */
export const ATTACH_KEY = '__modelartsAttach';

export interface LaunchRequest {
  readonly config: LaunchConfiguration;
  readonly request: JobCreateRequest;
  /** Why the job gets its flavor, in the flavor step's words. */
  readonly flavorReason: string;
}

/** The job request a configuration (variables already substituted) stands for; errors name launch attributes. */
export async function launchRequestFor(services: Services, raw: unknown, folder: vscode.WorkspaceFolder | undefined): Promise<LaunchRequest> {
  const config = parseLaunchConfiguration(raw);
  const { backend } = requireDevContainers(services.backends);
  const engines = config.engine || config.image ? [] : await backend.listPresetEngines();
  const workspaceFolder = folder?.uri.scheme === 'file' ? folder.uri.fsPath : workspaceRoot();
  // Without a flavor attribute: the one Create Training Job would offer first (setting, last completed, last chosen, default).
  const preferred = config.flavor
    ? undefined
    : preferredFlavor(await backend.listFlavors().catch(() => []), {
        setting: services.settings.defaultFlavor,
        ...(config.bootFile ? { lastCompleted: services.remembered.lastCompleted(backend.id, { bootFile: path.resolve(workspaceFolder ?? '', config.codeDir ?? '', config.bootFile) }) } : {}),
        ...(services.remembered.lastFlavor(backend.id) ? { lastChosen: services.remembered.lastFlavor(backend.id) } : {}),
      });
  const request = jobRequestFromLaunch(config, {
    workspaceFolder,
    ...(engines.length === 1 && engines[0] ? { defaultEngine: engines[0].engine_id } : {}),
    ...(preferred ? { defaultFlavor: preferred.flavor.flavor_id } : services.settings.defaultFlavor ? { defaultFlavor: services.settings.defaultFlavor } : {}),
  });
  if (!config.engine && !config.image && engines.length > 1) {
    throw new InvalidInputError(`Launch configuration "${config.name}"`, [
      { field: 'engine', message: `is required: several preset engines are installed (${engines.map((e) => e.engine_id).join(', ')})` },
    ]);
  }
  return { config, request, flavorReason: config.flavor ? 'the launch configuration\'s flavor' : (preferred?.reason ?? 'the backend\'s default') };
}

function workspaceRoot(): string | undefined {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  return root?.scheme === 'file' ? root.fsPath : undefined;
}

export class LaunchConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly services: Services) {}

  /** launch.json's initial configurations: one for the active Python file, else for the likeliest boot file. */
  async provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration[]> {
    const file = activePythonFile() ?? (folder ? await likelyBootFile(folder.uri.fsPath) : undefined);
    if (!file) return [launchConfigurationFor({ bootFile: path.join(folder?.uri.fsPath ?? '', 'train.py'), workspaceFolder: folder?.uri.fsPath })];
    return [await this.configurationFor(file, folder)];
  }

  /** F5 with no launch.json (an empty configuration): debug the active Python file. */
  async resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    // F5 with no launch.json hands over a configuration with no request (at most the type).
    if (config.request) return config;
    const file = activePythonFile();
    if (!file) {
      void vscode.window.showInformationMessage('Open the Python file that starts training, then press F5 to debug it in a ModelArts dev container.');
      return undefined;
    }
    return { ...(await this.configurationFor(file, folder ?? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file)))), noDebug: config.noDebug === true };
  }

  /**
   * Checks the configuration against this machine as the launch will (code, engine, flavor, inputs),
   * so a mistake is reported naming its attribute before anything starts; then adds what the
   * session needs (the job request, debugpy's attach arguments). Returning undefined cancels the launch.
   */
  async resolveDebugConfigurationWithSubstitutedVariables(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage('ModelArts: debugging runs code from this workspace, so it is disabled until you trust it (Manage Workspace Trust).');
      return undefined;
    }
    let launch: LaunchRequest | undefined;
    try {
      launch = await launchRequestFor(this.services, config, folder);
      const devContainers = requireDevContainers(this.services.backends).host;
      await devContainers.check(launch.request, { debug: config.noDebug !== true });
    } catch (error) {
      if (isCancellation(error)) return undefined;
      const shown = launch ? inLaunchTerms(error, launch.config, launch.request) : error;
      this.services.log.warn(`Launch configuration "${String(config.name)}": ${errorMessage(shown)}`);
      const launchJson = folder ? vscode.Uri.joinPath(folder.uri, '.vscode', 'launch.json') : undefined;
      const inFile = launchJson && fs.existsSync(launchJson.fsPath) ? launchJson : undefined;
      void vscode.window.showErrorMessage(`ModelArts: ${errorMessage(shown)}`, ...(inFile ? ['Open launch.json'] : [])).then((choice) => {
        if (choice && inFile) void vscode.window.showTextDocument(inFile);
      });
      return undefined;
    }
    const codeDir = launch.request.algorithm.code_dir;
    return {
      ...config,
      [JOB_REQUEST_KEY]: launch.request,
      [FLAVOR_REASON_KEY]: launch.flavorReason,
      // debugpy already runs in the container and waits: the relay attaches to it with these.
      ...(config.noDebug === true
        ? {}
        : {
            [ATTACH_KEY]: {
              justMyCode: launch.config.justMyCode ?? true,
              redirectOutput: true,
              ...(codeDir ? { pathMappings: [{ localRoot: path.resolve(codeDir), remoteRoot: containerCodeDir(codeDir) }] } : {}),
            },
          }),
    };
  }

  /** A configuration debugging `file`: its workspace folder as the code, the only engine, a `data` folder beside it as data_url. */
  async configurationFor(file: string, folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration> {
    const engines = await requireDevContainers(this.services.backends).backend.listPresetEngines().catch(() => []);
    const data = path.join(path.dirname(file), 'data');
    const hasData = await fs.promises.stat(data).then((s) => s.isDirectory(), () => false);
    return launchConfigurationFor({
      bootFile: file,
      workspaceFolder: folder?.uri.fsPath ?? workspaceRoot(),
      ...(engines.length === 1 && engines[0] ? { engine: engines[0].engine_id } : {}),
      ...(hasData ? { inputs: { data_url: data } } : {}),
    });
  }
}

/** The Run and Debug view's dynamic entry: "ModelArts: <file>" for the active Python file. */
export class DynamicLaunchConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly provider: LaunchConfigurationProvider) {}

  async provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration[]> {
    return activePythonFile() ? this.provider.provideDebugConfigurations(folder) : [];
  }
}

/** The backend that runs dev containers (the local one) and its dev containers. */
export function requireDevContainers(registry: BackendRegistry): { readonly backend: TrainingBackend; readonly host: DevContainerHost } {
  for (const backend of registry.list()) if (backend.devContainers) return { backend, host: backend.devContainers };
  throw new ModelArtsError('Debugging in a dev container needs the local Docker backend, and none is configured.', 'ModelArts.NoDevContainers');
}

export function activePythonFile(): string | undefined {
  const document = vscode.window.activeTextEditor?.document;
  return document && document.languageId === 'python' && document.uri.scheme === 'file' ? document.uri.fsPath : undefined;
}

async function likelyBootFile(folder: string): Promise<string | undefined> {
  for (const name of ['train.py', 'main.py']) {
    const file = path.join(folder, name);
    if (await fs.promises.stat(file).then((s) => s.isFile(), () => false)) return file;
  }
  return undefined;
}

/**
 * VS Code substitutes variables only in configurations it launches; promotion from launch.json
 * reads them itself: ${workspaceFolder}, ${workspaceFolderBasename}, ${workspaceFolder:name},
 * ${file}, ${fileDirname}, ${userHome}, ${env:NAME}. Anything else is refused, naming the attribute.
 */
export function substituteVariables<T>(value: T, folder: vscode.WorkspaceFolder | undefined, attribute = ''): T {
  if (typeof value === 'string') {
    return value.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
      const resolved = variableValue(name, folder);
      if (resolved === undefined) {
        throw new InvalidInputError('Launch configuration', [{ field: attribute || '(value)', message: `uses ${whole}, which can only be resolved when the configuration is launched` }]);
      }
      return resolved;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteVariables(item, folder, `${attribute}[${index}]`)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteVariables(item, folder, attribute ? `${attribute}.${key}` : key)])) as T;
  }
  return value;
}

function variableValue(name: string, folder: vscode.WorkspaceFolder | undefined): string | undefined {
  const file = vscode.window.activeTextEditor?.document.uri;
  const named = /^workspaceFolder:(.+)$/.exec(name)?.[1];
  if (named) return vscode.workspace.workspaceFolders?.find((f) => f.name === named)?.uri.fsPath;
  if (name.startsWith('env:')) return process.env[name.slice(4)] ?? '';
  switch (name) {
    case 'workspaceFolder':
    case 'workspaceRoot':
      return folder?.uri.fsPath ?? workspaceRoot();
    case 'workspaceFolderBasename':
      return path.basename(folder?.uri.fsPath ?? workspaceRoot() ?? '');
    case 'file':
      return file?.scheme === 'file' ? file.fsPath : undefined;
    case 'fileDirname':
      return file?.scheme === 'file' ? path.dirname(file.fsPath) : undefined;
    case 'userHome':
      return process.env.HOME ?? process.env.USERPROFILE;
    default:
      return undefined;
  }
}
