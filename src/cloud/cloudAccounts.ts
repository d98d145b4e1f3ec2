/**
 * The ModelArts accounts of the window: each entry of `modelarts.cloud.accounts` (region, project,
 * endpoints, code location: nothing secret) becomes a ModelArts backend in the registry, with its
 * keys from SecretStorage (never settings, never the log). Adding or changing an entry, signing in
 * or out, re-creates just that backend; one without keys waits in `needsCredentials`.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import type { BackendRegistry } from '../backends/backendRegistry';
import { modelArtsBackendId } from '../backends/jobRef';
import type { ModelArtsConfig, ModelArtsCredentials } from '../backends/modelarts/config';
import type { ModelArtsBackend } from '../backends/modelarts/modelartsBackend';
import { modelArts } from './modelartsModule';
import { errorMessage, InvalidInputError, type FieldIssue } from '../core/errors';
import type { Logger } from '../core/logger';

export const ACCOUNTS_SETTING = 'modelarts.cloud.accounts';
const SECRET_PREFIX = 'modelarts.cloud.credentials/';

export interface CloudAccount {
  /** The backend id: `modelarts:<region>` or `modelarts:<region>:<project id>`. */
  readonly id: string;
  readonly config: ModelArtsConfig;
}

/** A backend id for a configuration: stable across reloads, one per region and project. */
export function accountId(config: { readonly region: string; readonly projectId?: string | undefined }): string {
  return modelArtsBackendId(config.region, config.projectId);
}

/** The accounts setting, each entry checked (problems named by setting path), duplicates left out. */
export function readAccounts(value: unknown): { accounts: CloudAccount[]; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const accounts: CloudAccount[] = [];
  const list = z.array(z.unknown()).safeParse(value ?? []);
  if (!list.success) return { accounts, issues: [{ field: ACCOUNTS_SETTING, message: 'must be a list of accounts, each {region, projectId?, codeLocation?, endpoints?}' }] };
  if (!list.data.length) return { accounts, issues };
  const { resolveConfig } = modelArts();
  list.data.forEach((entry, index) => {
    const prefix = `${ACCOUNTS_SETTING}[${index}]`;
    try {
      const resolved = resolveConfig(entry, prefix);
      const id = accountId(resolved);
      if (accounts.some((a) => a.id === id)) issues.push({ field: prefix, message: `repeats the account of ${resolved.region}${resolved.projectId ? ` and project ${resolved.projectId}` : ''}; each region and project may be listed once` });
      else accounts.push({ id, config: entry as ModelArtsConfig });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      issues.push(...error.issues);
    }
  });
  return { accounts, issues };
}

interface Entry {
  readonly backend: ModelArtsBackend;
  readonly registration: vscode.Disposable;
  /** What it was made from, to tell whether a change concerns it. */
  readonly made: string;
}

export class CloudAccounts implements vscode.Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly registry: BackendRegistry,
    private readonly secrets: vscode.SecretStorage,
    private readonly stateDir: string,
    private readonly log: Logger,
    private readonly userAgent: string,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => event.affectsConfiguration(ACCOUNTS_SETTING) && void this.sync()),
      secrets.onDidChange((event) => event.key.startsWith(SECRET_PREFIX) && void this.sync()),
    );
  }

  /** Brings the registry in line with the setting and the stored keys; one pass at a time. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.run()).catch((error: unknown) => this.log.error(`ModelArts accounts: ${errorMessage(error)}`));
    return this.syncing;
  }

  private async run(): Promise<void> {
    const { accounts, issues } = readAccounts(vscode.workspace.getConfiguration().get(ACCOUNTS_SETTING));
    for (const issue of issues) this.log.warn(`Setting ${issue.field}: ${issue.message}; that account is left out.`);
    void vscode.commands.executeCommand('setContext', 'modelarts.cloud.signedIn', accounts.length > 0);
    const wanted = new Set(accounts.map((a) => a.id));
    for (const [id, entry] of this.entries) if (!wanted.has(id)) this.drop(id, entry);
    for (const account of accounts) {
      const credentials = await this.credentials(account.id);
      const made = JSON.stringify([account.config, credentials ? fingerprint(credentials) : '']);
      const existing = this.entries.get(account.id);
      if (existing?.made === made) continue;
      if (existing) this.drop(account.id, existing);
      const { ModelArtsBackend } = modelArts();
      const backend = new ModelArtsBackend({
        id: account.id,
        config: account.config,
        credentials,
        logger: this.log,
        stateDir: path.join(this.stateDir, account.id.replace(/[^A-Za-z0-9_.-]/g, '_')),
        userAgent: this.userAgent,
      });
      this.entries.set(account.id, { backend, registration: this.registry.add(backend), made });
      void backend.connect();
    }
  }

  private drop(id: string, entry: Entry): void {
    entry.registration.dispose();
    entry.backend.dispose();
    this.entries.delete(id);
  }

  private async credentials(id: string): Promise<ModelArtsCredentials | undefined> {
    const stored = await this.secrets.get(SECRET_PREFIX + id);
    if (!stored) return undefined;
    try {
      return modelArts().parseCredentials(JSON.parse(stored));
    } catch {
      this.log.warn(`The stored keys of ${id} are unreadable; sign in again.`);
      return undefined;
    }
  }

  /** Keeps the keys of an account (in SecretStorage only); its backend is made again with them. */
  async storeCredentials(id: string, credentials: ModelArtsCredentials): Promise<void> {
    await this.secrets.store(SECRET_PREFIX + id, JSON.stringify(credentials));
    await this.sync();
  }

  async forgetCredentials(id: string): Promise<void> {
    await this.secrets.delete(SECRET_PREFIX + id);
    await this.sync();
  }

  get(id: string): ModelArtsBackend | undefined {
    return this.entries.get(id)?.backend;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    for (const [id, entry] of this.entries) this.drop(id, entry);
  }
}

/** Tells credentials apart without keeping them in the clear beside the backend. */
function fingerprint(credentials: ModelArtsCredentials): string {
  return createHash('sha256').update(JSON.stringify(credentials)).digest('hex');
}
