/**
 * Sign in to ModelArts: the keys are checked against the service (the project looked up) before
 * anything is saved; then the keys go to SecretStorage only and the account's non-secret part to
 * `modelarts.cloud.accounts`. An IAM user's password is exchanged for a token and kept only when
 * the person asks. Programmatic: `{region, projectId?, endpoints?, codeLocation?, obsPathStyle?,
 * domain?, credentials, keepPassword?}`; returns `{backend, projectId}`. From a backend's root it
 * signs in again to that account. Sign out removes an account and its keys.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import type { ModelArtsConfig, ModelArtsCredentials } from '../../backends/modelarts/config';
import type { ModelArtsBackend } from '../../backends/modelarts/modelartsBackend';
import { InvalidInputError } from '../../core/errors';
import { accountId, ACCOUNTS_SETTING, readAccounts } from '../../cloud/cloudAccounts';
import { modelArts } from '../../cloud/modelartsModule';
import type { CommandContext } from '../registry';
import { askSignIn, initialSignIn } from './signInSteps';

/**
 * The backend of a root a menu was opened on (Training Jobs or Algorithms): a node whose `backend`
 * is the backend itself. (Read by shape: this module is a bundle of its own, see signInModule.ts.)
 */
function rootBackend(arg: unknown): string | undefined {
  const backend = arg && typeof arg === 'object' ? (arg as { backend?: unknown }).backend : undefined;
  const id = backend && typeof backend === 'object' ? (backend as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

const signInArgs = z.looseObject({ credentials: z.unknown(), keepPassword: z.boolean().optional() });
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Connects a throwaway backend with the keys: what to keep (the keys, or the token for a password), or an error saying why. */
async function verify(config: ModelArtsConfig, credentials: ModelArtsCredentials, keepPassword: boolean, token?: vscode.CancellationToken): Promise<{ projectId: string; keep: ModelArtsCredentials }> {
  const { ModelArtsBackend: Backend } = modelArts();
  const probe: ModelArtsBackend = new Backend({ config, credentials, logger: silent, stateDir: path.join(os.tmpdir(), 'modelarts-sign-in'), retry: { retries: 1 } });
  try {
    const cancelled = new Promise<never>((_, reject) => token?.onCancellationRequested(() => reject(new vscode.CancellationError())));
    const state = await Promise.race([probe.connect(), cancelled]);
    if (state.kind !== 'available') throw new InvalidInputError('Sign-in', [{ field: 'credentials', message: 'reason' in state ? state.reason : 'the service did not answer' }]);
    // Keys that cannot write where code goes would fail at the first job: said now. (OBS needs access keys.)
    if (credentials.kind === 'accessKey') await probe.checkCodeLocation();
    const keep = credentials.kind === 'password' && !keepPassword ? (probe.issuedToken() ?? credentials) : credentials;
    return { projectId: probe.projectId ?? '', keep };
  } finally {
    probe.dispose();
  }
}

function accountEntries(): unknown[] {
  return vscode.workspace.getConfiguration().inspect<unknown[]>(ACCOUNTS_SETTING)?.globalValue ?? [];
}

function idOf(entry: unknown): string | undefined {
  return readAccounts([entry]).accounts[0]?.id;
}

/** Adds the account to the setting, replacing the entry of the same region (and project). */
async function saveAccount(config: ModelArtsConfig): Promise<void> {
  const id = accountId(modelArts().resolveConfig(config));
  const sameRegion = (entry: unknown) => {
    const other = idOf(entry);
    return other === id || other === accountId({ region: config.region });
  };
  await vscode.workspace.getConfiguration().update(ACCOUNTS_SETTING, [...accountEntries().filter((entry) => !sameRegion(entry)), config], vscode.ConfigurationTarget.Global);
}

export async function signIn({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ backend: string; projectId: string } | undefined> {
  let config: ModelArtsConfig;
  let credentials: ModelArtsCredentials;
  let keepPassword = false;
  if (!interactive) {
    const given = signInArgs.safeParse(args[0]);
    if (!given.success) throw new InvalidInputError('Sign-in', [{ field: '', message: 'takes {region, projectId?, endpoints?, codeLocation?, credentials: {kind: "accessKey", accessKey, secretKey, securityToken?} or {kind: "password", domainName, userName, password}, keepPassword?}' }]);
    const { credentials: rawCredentials, keepPassword: keep, ...rest } = given.data;
    config = rest as ModelArtsConfig;
    modelArts().resolveConfig(config);
    credentials = modelArts().parseCredentials(rawCredentials);
    keepPassword = keep ?? false;
  } else {
    // From a root: that account again, its settings kept.
    const root = rootBackend(args[0]);
    const existing = root ? readAccounts(accountEntries()).accounts.find((a) => a.id === root)?.config : undefined;
    const state = initialSignIn(existing);
    for (;;) {
      const asked = await askSignIn(state);
      try {
        const checked = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `ModelArts: checking the keys in ${asked.config.region}…`, cancellable: true },
          (_, token) => verify({ ...existing, ...asked.config }, asked.credentials, asked.keepPassword, token),
        );
        return await finish(services, { ...existing, ...asked.config }, checked, true);
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        const again = await vscode.window.showErrorMessage(`ModelArts: ${error.issues[0]?.message ?? error.message} Nothing was saved.`, 'Try Again');
        if (again !== 'Try Again') return undefined;
      }
    }
  }
  return finish(services, config, await verify(config, credentials, keepPassword), false);
}

async function finish(services: CommandContext['services'], config: ModelArtsConfig, checked: { projectId: string; keep: ModelArtsCredentials }, interactive: boolean): Promise<{ backend: string; projectId: string }> {
  const saved: ModelArtsConfig = { ...config, projectId: config.projectId ?? checked.projectId };
  const id = accountId(modelArts().resolveConfig(saved));
  // Keys first: the setting's change makes the backend, which then finds them.
  await services.cloud.storeCredentials(id, checked.keep);
  await saveAccount(saved);
  await services.cloud.sync();
  if (interactive) void vscode.window.showInformationMessage(`ModelArts: signed in to ${saved.region} (project ${checked.projectId}). Its jobs are under its own root in Training Jobs.`);
  return { backend: id, projectId: checked.projectId };
}

/** Removes an account (`{backend}`, a root, or picked) and its keys; returns its id. */
export async function signOut({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ backend: string } | undefined> {
  const entries = accountEntries();
  const { accounts } = readAccounts(entries);
  let id = rootBackend(args[0]) ?? z.looseObject({ backend: z.string() }).safeParse(args[0]).data?.backend;
  if (!id && interactive) {
    const picked = await vscode.window.showQuickPick(
      accounts.map((a) => ({ label: a.id, id: a.id })),
      { title: 'Sign Out of ModelArts', placeHolder: accounts.length ? 'The account to remove (its keys are deleted)' : 'No ModelArts account is signed in' },
    );
    id = picked?.id;
  }
  if (!id || !accounts.some((a) => a.id === id)) {
    if (interactive && !id) return undefined;
    throw new InvalidInputError('Sign-out', [{ field: 'backend', message: `${id ? `"${id}" is not a signed-in account` : 'takes {backend}'}; signed in: ${accounts.map((a) => a.id).join(', ') || 'none'}` }]);
  }
  const target = id;
  await vscode.workspace.getConfiguration().update(ACCOUNTS_SETTING, entries.filter((entry) => idOf(entry) !== target), vscode.ConfigurationTarget.Global);
  await services.cloud.forgetCredentials(target);
  if (interactive) void vscode.window.showInformationMessage(`ModelArts: signed out of ${target}; its keys were deleted.`);
  return { backend: target };
}
