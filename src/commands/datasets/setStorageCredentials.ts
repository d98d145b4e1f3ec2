import * as vscode from 'vscode';
import { invalidInput } from '../../core/errors';
import { storageCredentialsSchema, type StorageCredentials } from '../../configuredStore';
import type { CommandContext } from '../registry';

/**
 * Puts the S3/OBS access key pair into SecretStorage (never settings, never the log). Arguments:
 * `{accessKeyId, secretAccessKey, sessionToken?}`, or `null` to forget them; with none, asks.
 * Returns which store now answers.
 */
export async function setStorageCredentials({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ store: string; problem?: string } | undefined> {
  let credentials: StorageCredentials | undefined;
  if (!interactive) {
    if (args[0] === null) {
      await services.stores.clearCredentials();
      return describe(services.stores.current);
    }
    const parsed = storageCredentialsSchema.safeParse(args[0]);
    if (!parsed.success) throw invalidInput('Storage credentials', parsed.error);
    credentials = parsed.data;
  } else {
    const title = 'Set Storage Credentials';
    const accessKeyId = await vscode.window.showInputBox({
      title: `${title} (1/2)`,
      prompt: 'Access key ID (AK) of the S3-compatible store (OBS: My Credentials → Access Keys)',
      ignoreFocusOut: true,
      validateInput: (value) => (value.trim() ? undefined : 'The access key ID must not be empty.'),
    });
    if (accessKeyId === undefined) return undefined;
    const secretAccessKey = await vscode.window.showInputBox({
      title: `${title} (2/2)`,
      prompt: 'Secret access key (SK); kept in VS Code\'s secret storage only',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value ? undefined : 'The secret access key must not be empty.'),
    });
    if (secretAccessKey === undefined) return undefined;
    credentials = { accessKeyId: accessKeyId.trim(), secretAccessKey };
  }
  await services.stores.setCredentials(credentials);
  const result = describe(services.stores.current);
  if (interactive) {
    if (result.problem) void vscode.window.showWarningMessage(`ModelArts: credentials saved, but ${result.problem}`);
    else void vscode.window.showInformationMessage(`ModelArts: credentials saved; datasets now come from the ${result.store}.`);
  }
  return result;
}

function describe(current: { store: { description: string }; problem?: string }): { store: string; problem?: string } {
  return { store: current.store.description, ...(current.problem ? { problem: current.problem } : {}) };
}
