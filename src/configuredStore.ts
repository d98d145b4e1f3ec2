/**
 * The object store the settings name: the local folder store by default, or an S3-compatible store
 * (OBS, MinIO, Ceph) whose credentials come from SecretStorage only. Jobs (through `resolver`) and
 * the Datasets view use whatever is configured now; a settings or credentials change applies at once.
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { InvalidInputError, errorMessage } from './core/errors';
import type { Logger } from './core/logger';
import type { StorageSettings } from './settings';
import { FolderStore } from './storage/folderStore';
import type { ObjectStore, StoreResolver } from './storage/objectStore';
import { s3StoreClass } from './storage/s3StoreModule';
import { createStoreResolver } from './storage/storeResolver';

const CREDENTIALS_SECRET = 'modelarts.storage.s3.credentials';

export const storageCredentialsSchema = z.strictObject({
  accessKeyId: z.string({ error: 'must be the access key id (AK)' }).trim().min(1, { error: 'must not be empty' }),
  secretAccessKey: z.string({ error: 'must be the secret access key (SK)' }).min(1, { error: 'must not be empty' }),
  sessionToken: z.string({ error: 'must be text' }).min(1, { error: 'must not be empty (leave it out when there is none)' }).optional(),
});
export type StorageCredentials = z.output<typeof storageCredentialsSchema>;

export interface ActiveStore {
  readonly kind: 'folder' | 's3';
  readonly store: ObjectStore;
  /** The one bucket to show; undefined: every bucket the store lists. */
  readonly bucket?: string;
  /** Why the configured store cannot be used yet (no credentials), in words for the Datasets view. */
  readonly problem?: string;
}

export class ConfiguredStore implements vscode.Disposable {
  private active: ActiveStore;
  private settings: StorageSettings = { kind: 'folder', folder: '' };
  private readonly changeEmitter = new vscode.EventEmitter<ActiveStore>();
  /** The store changed: new settings or credentials. */
  readonly onDidChange = this.changeEmitter.event;
  private readonly subscriptions: vscode.Disposable[] = [this.changeEmitter];
  private applying: Promise<void> = Promise.resolve();

  /** obs:// and s3:// URLs of job inputs and outputs, resolved against the store configured now. */
  readonly resolver: StoreResolver = {
    resolve: (url, field) => {
      const { store, problem } = this.active;
      if (problem) throw new InvalidInputError('Storage location', [{ field, message: `cannot be reached: ${problem}` }]);
      return createStoreResolver({ folderStore: store }).resolve(url, field);
    },
  };

  constructor(
    private readonly secrets: vscode.SecretStorage,
    /** The folder store's root when the settings name none. */
    private readonly defaultFolder: string,
    /** Where the S3 store keeps its multipart journals. */
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {
    this.active = { kind: 'folder', store: new FolderStore(defaultFolder) };
    this.subscriptions.push(
      secrets.onDidChange((event) => {
        if (event.key === CREDENTIALS_SECRET) void this.apply(this.settings);
      }),
    );
  }

  get current(): ActiveStore {
    return this.active;
  }

  /** Builds the store the settings describe; resolves once it is in use. */
  apply(settings: StorageSettings): Promise<void> {
    this.settings = settings;
    // A failed apply (the keyring did not answer) must not stop the later ones.
    this.applying = this.applying.then(async () => {
      const previous = this.active;
      try {
        this.active = await this.build(settings);
      } catch (error) {
        this.log.error(`Could not set up the storage the settings name: ${errorMessage(error)}`);
        return;
      }
      if (previous.store !== this.active.store) disposeStore(previous.store);
      this.log.info(`Datasets and job storage: ${this.active.store.description}${this.active.problem ? ` (${this.active.problem})` : ''}`);
      this.changeEmitter.fire(this.active);
    });
    return this.applying;
  }

  private async build(settings: StorageSettings): Promise<ActiveStore> {
    if (settings.kind === 'folder') return { kind: 'folder', store: new FolderStore(settings.folder || this.defaultFolder) };
    const bucket = settings.bucket || undefined;
    const credentials = await this.readCredentials();
    const unusable = (problem: string): ActiveStore => ({ kind: 's3', store: new FolderStore(this.defaultFolder), bucket, problem });
    if (!credentials) return unusable(`the S3 store at ${settings.endpoint} has no credentials; run "ModelArts: Set Storage Credentials"`);
    try {
      const S3Store = s3StoreClass();
      const store = new S3Store(
        { endpoint: settings.endpoint, region: settings.region, forcePathStyle: settings.forcePathStyle, credentials },
        { stateDir: this.stateDir },
      );
      return { kind: 's3', store, bucket };
    } catch (error) {
      return unusable(errorMessage(error));
    }
  }

  private async readCredentials(): Promise<StorageCredentials | undefined> {
    const stored = await this.secrets.get(CREDENTIALS_SECRET);
    if (!stored) return undefined;
    try {
      return storageCredentialsSchema.parse(JSON.parse(stored));
    } catch {
      this.log.warn('The stored storage credentials are damaged; set them again with "ModelArts: Set Storage Credentials".');
      return undefined;
    }
  }

  /** Stores the credentials in SecretStorage (never in settings or logs); the store picks them up. */
  async setCredentials(credentials: StorageCredentials): Promise<void> {
    await this.secrets.store(CREDENTIALS_SECRET, JSON.stringify(credentials));
    await this.apply(this.settings);
  }

  async clearCredentials(): Promise<void> {
    await this.secrets.delete(CREDENTIALS_SECRET);
    await this.apply(this.settings);
  }

  dispose(): void {
    disposeStore(this.active.store);
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}

/** An S3 store holds sockets to close; a folder store holds nothing. */
function disposeStore(store: object): void {
  if ('dispose' in store && typeof store.dispose === 'function') (store as { dispose(): void }).dispose();
}
