/**
 * Sign in to ModelArts: a region (or a custom endpoint set), then access keys; the keys are checked
 * against the service (the project looked up) before anything is saved, and then kept in
 * SecretStorage only, the account's non-secret part in `modelarts.cloud.accounts`. Programmatic:
 * `{region, projectId?, endpoints?, codeLocation?, obsPathStyle?, domain?, credentials}`; returns
 * `{backend, projectId}`. Sign out removes an account and its keys.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import type { ModelArtsConfig, ModelArtsCredentials } from '../../backends/modelarts/config';
import { modelArts } from '../../cloud/modelartsModule';
import { InvalidInputError } from '../../core/errors';
import { accountId, ACCOUNTS_SETTING, readAccounts } from '../../cloud/cloudAccounts';
import type { CommandContext } from '../registry';

/** Huawei Cloud's regions with ModelArts training, as the console names them. */
export const REGIONS: ReadonlyArray<{ readonly id: string; readonly name: string }> = [
  { id: 'cn-north-4', name: 'CN North-Beijing4' },
  { id: 'cn-north-9', name: 'CN North-Ulanqab1' },
  { id: 'cn-east-3', name: 'CN East-Shanghai1' },
  { id: 'cn-south-1', name: 'CN South-Guangzhou' },
  { id: 'cn-southwest-2', name: 'CN Southwest-Guiyang1' },
  { id: 'ap-southeast-1', name: 'AP-Hong Kong' },
  { id: 'ap-southeast-2', name: 'AP-Bangkok' },
  { id: 'ap-southeast-3', name: 'AP-Singapore' },
  { id: 'af-south-1', name: 'AF-Johannesburg' },
  { id: 'la-north-2', name: 'LA-Mexico City2' },
  { id: 'sa-brazil-1', name: 'LA-Sao Paulo1' },
  { id: 'tr-west-1', name: 'TR-Istanbul' },
  { id: 'me-east-1', name: 'ME-Riyadh' },
];

const signInArgs = z.looseObject({ credentials: z.unknown() });

/** Connects a throwaway backend with the keys: available, or an error saying why (nothing saved). */
async function verify(config: ModelArtsConfig, credentials: ModelArtsCredentials, token?: vscode.CancellationToken): Promise<string> {
  const { ModelArtsBackend } = modelArts();
  const probe = new ModelArtsBackend({ config, credentials, logger: silent, stateDir: path.join(os.tmpdir(), 'modelarts-sign-in'), retry: { retries: 1 } });
  try {
    const state = await Promise.race([probe.connect(), new Promise<never>((_, reject) => token?.onCancellationRequested(() => reject(new vscode.CancellationError())))]);
    if (state.kind !== 'available') throw new InvalidInputError('Sign-in', [{ field: 'credentials', message: 'reason' in state ? state.reason : 'the service did not answer' }]);
    return probe.projectId ?? '';
  } finally {
    probe.dispose();
  }
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

async function saveAccount(config: ModelArtsConfig): Promise<void> {
  const settings = vscode.workspace.getConfiguration();
  const current = (settings.inspect<unknown[]>(ACCOUNTS_SETTING)?.globalValue ?? []).filter((entry) => {
    const { accounts } = readAccounts([entry]);
    return accounts[0]?.id !== accountId(modelArts().resolveConfig(config));
  });
  await settings.update(ACCOUNTS_SETTING, [...current, config], vscode.ConfigurationTarget.Global);
}

export async function signIn({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ backend: string; projectId: string } | undefined> {
  let config: ModelArtsConfig;
  let credentials: ModelArtsCredentials;
  if (!interactive) {
    const given = signInArgs.safeParse(args[0]);
    if (!given.success) throw new InvalidInputError('Sign-in', [{ field: '', message: 'takes {region, projectId?, endpoints?, codeLocation?, credentials: {kind: "accessKey", accessKey, secretKey, securityToken?}}' }]);
    const { credentials: rawCredentials, ...rest } = given.data;
    config = rest as ModelArtsConfig;
    modelArts().resolveConfig(config);
    credentials = modelArts().parseCredentials(rawCredentials);
  } else {
    const asked = await ask();
    if (!asked) return undefined;
    ({ config, credentials } = asked);
  }
  const projectId = interactive
    ? await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `ModelArts: checking the keys in ${config.region}…`, cancellable: true }, (_, token) => verify(config, credentials, token))
    : await verify(config, credentials);
  const saved: ModelArtsConfig = { ...config, projectId: config.projectId ?? projectId };
  const id = accountId(modelArts().resolveConfig(saved));
  await saveAccount(saved);
  await services.cloud.storeCredentials(id, credentials);
  if (interactive) void vscode.window.showInformationMessage(`ModelArts: signed in to ${config.region} (project ${projectId}).`);
  return { backend: id, projectId };
}

async function ask(): Promise<{ config: ModelArtsConfig; credentials: ModelArtsCredentials } | undefined> {
  const title = 'Sign In to ModelArts';
  const region = await vscode.window.showQuickPick(
    REGIONS.map((r) => ({ label: r.name, description: r.id, id: r.id })),
    { title: `${title} (1/4)`, placeHolder: 'The region whose ModelArts runs your jobs', ignoreFocusOut: true, matchOnDescription: true },
  );
  if (!region) return undefined;
  const accessKey = await vscode.window.showInputBox({
    title: `${title} (2/4)`,
    prompt: 'Access key ID (AK): Huawei Cloud console → My Credentials → Access Keys',
    ignoreFocusOut: true,
    validateInput: (value) => (/^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$/.test(value.trim()) ? undefined : 'An access key ID is letters and digits, such as QTWAOYTTINDUT2QVKYUC.'),
  });
  if (accessKey === undefined) return undefined;
  const secretKey = await vscode.window.showInputBox({ title: `${title} (3/4)`, prompt: "Secret access key (SK); kept in VS Code's secret storage only", password: true, ignoreFocusOut: true, validateInput: (v) => (v ? undefined : 'The secret access key must not be empty.') });
  if (secretKey === undefined) return undefined;
  const codeLocation = await vscode.window.showInputBox({
    title: `${title} (4/4)`,
    prompt: 'OBS folder for code uploads and outputs, such as obs://my-bucket/modelarts/ (empty: only OBS URLs as code folders)',
    ignoreFocusOut: true,
    validateInput: (value) => {
      if (!value.trim()) return undefined;
      try {
        modelArts().parseObsUrl(value.trim(), 'codeLocation', { folder: true });
        return undefined;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    },
  });
  if (codeLocation === undefined) return undefined;
  return {
    config: { region: region.id, ...(codeLocation.trim() ? { codeLocation: codeLocation.trim() } : {}) },
    credentials: { kind: 'accessKey', accessKey: accessKey.trim(), secretKey },
  };
}

/** Removes an account (`{backend}`, or picked) and its keys; returns its id. */
export async function signOut({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ backend: string } | undefined> {
  const settings = vscode.workspace.getConfiguration();
  const entries = settings.inspect<unknown[]>(ACCOUNTS_SETTING)?.globalValue ?? [];
  const { accounts } = readAccounts(entries);
  let id = z.looseObject({ backend: z.string() }).safeParse(args[0]).data?.backend;
  if (!id && interactive) {
    const picked = await vscode.window.showQuickPick(accounts.map((a) => ({ label: a.id, id: a.id })), { title: 'Sign Out of ModelArts', placeHolder: 'The account to remove (its keys are deleted)' });
    id = picked?.id;
  }
  if (!id) {
    if (interactive) return undefined;
    throw new InvalidInputError('Sign-out', [{ field: 'backend', message: `takes {backend}; signed in: ${accounts.map((a) => a.id).join(', ') || 'none'}` }]);
  }
  const target = id;
  await settings.update(ACCOUNTS_SETTING, entries.filter((entry) => readAccounts([entry]).accounts[0]?.id !== target), vscode.ConfigurationTarget.Global);
  await services.cloud.forgetCredentials(target);
  return { backend: target };
}
