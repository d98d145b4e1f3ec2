/**
 * What one ModelArts backend talks through: its checked configuration, an authenticator for its
 * credentials, the HTTP client and typed API for its project (looked up through IAM when not
 * configured), the catalogs (flavors and preset engines, cached a while), and an OBS client with
 * the same keys at the region's OBS endpoint.
 */
import type { Flavor } from '../../core/flavors';
import { InvalidInputError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { PresetEngine } from '../../core/presetEngines';
import type { ObjectStore } from '../../storage/objectStore';
import { S3Store } from '../../storage/s3Store';
import { AccessKeyAuthenticator, StaticTokenAuthenticator, TokenAuthenticator } from './authenticators';
import { resolveConfig, type ModelArtsConfig, type ModelArtsCredentials, type ResolvedModelArtsConfig } from './config';
import { HttpClient, type RetryPolicy } from './httpClient';
import { engineFromCloud, flavorFromCloud } from './jobMapping';
import { lookUpProject, ModelArtsApi } from './modelartsApi';

export interface SessionOptions {
  readonly config: ModelArtsConfig;
  readonly credentials: ModelArtsCredentials;
  readonly logger: Logger;
  /** Where the OBS client keeps the journals of unfinished multipart uploads. */
  readonly stateDir: string;
  readonly retry?: Partial<RetryPolicy>;
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

export interface Catalogs {
  readonly flavors: Flavor[];
  readonly defaultFlavor: Flavor | undefined;
  readonly engines: PresetEngine[];
}

const CATALOG_TTL_MS = 10 * 60_000;

/** The smallest CPU flavor: the cheapest way to try a job; larger ones are a choice. */
function withDefault(flavors: Flavor[], region: string): { flavors: Flavor[]; defaultFlavor: Flavor | undefined } {
  const cpu = flavors.filter((f) => f.flavor_type === 'CPU').sort((a, b) => a.cpu_cores - b.cpu_cores || a.memory_gib - b.memory_gib);
  const chosen = cpu[0] ?? flavors[0];
  const marked = flavors.map((f) => (f === chosen ? { ...f, default_reason: `the smallest ${f.flavor_type} flavor ModelArts offers in ${region}` } : f));
  return { flavors: marked, defaultFlavor: marked.find((f) => f.flavor_id === chosen?.flavor_id) };
}

export class CloudSession {
  readonly config: ResolvedModelArtsConfig;
  readonly client: HttpClient;
  readonly api: ModelArtsApi;
  private readonly authenticator: AccessKeyAuthenticator | TokenAuthenticator | StaticTokenAuthenticator;
  private project: string | undefined;
  private catalogs: { value: Catalogs; at: number } | undefined;
  private store: S3Store | undefined;

  constructor(private readonly options: SessionOptions) {
    this.config = resolveConfig(options.config);
    this.project = this.config.projectId;
    const { credentials } = options;
    this.authenticator =
      credentials.kind === 'accessKey'
        ? new AccessKeyAuthenticator(credentials)
        : credentials.kind === 'token'
          ? new StaticTokenAuthenticator(credentials)
          : new TokenAuthenticator(credentials, this.config.iamEndpoint, this.config.projectId ? { projectId: this.config.projectId } : { projectName: this.config.region });
    this.client = new HttpClient({
      authenticator: this.authenticator,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.userAgent ? { userAgent: options.userAgent } : {}),
      onRetry: (operation, attempt, delayMs, reason) => options.logger.info(`ModelArts ${operation}: retry ${attempt} in ${Math.round(delayMs)} ms (${reason})`),
    });
    if (this.authenticator instanceof TokenAuthenticator) this.authenticator.attach(this.client);
    this.api = new ModelArtsApi(this.client, this.config.modelartsEndpoint, () => {
      if (!this.project) throw new Error('the ModelArts project is not known yet (not connected)');
      return this.project;
    });
  }

  get projectId(): string | undefined {
    return this.project;
  }

  /** The project id: configured, from the token's scope, or looked up by region name. */
  async ensureProject(): Promise<string> {
    if (this.project) return this.project;
    if (this.authenticator instanceof TokenAuthenticator) {
      await this.authenticator.issue();
      this.project = this.authenticator.projectId;
    }
    if (this.authenticator instanceof StaticTokenAuthenticator) this.project = this.authenticator.projectId;
    this.project ??= await lookUpProject(this.client, this.config.iamEndpoint, this.config.region);
    return this.project;
  }

  async loadCatalogs(force = false): Promise<Catalogs> {
    if (!force && this.catalogs && Date.now() - this.catalogs.at < CATALOG_TTL_MS) return this.catalogs.value;
    const [flavors, engines] = await Promise.all([this.api.flavors(), this.api.engines()]);
    const value = { ...withDefault(flavors.flavors.map(flavorFromCloud), this.config.region), engines: engines.items.map(engineFromCloud) };
    this.catalogs = { value, at: Date.now() };
    return value;
  }

  /** OBS through the S3 API with the same access keys (virtual-hosted on OBS' own endpoints). */
  obs(): ObjectStore {
    if (this.store) return this.store;
    const { credentials } = this.options;
    if (credentials.kind !== 'accessKey') {
      throw new InvalidInputError('ModelArts credentials', [{ field: 'credentials', message: 'OBS needs access keys (AK/SK): sign in with access keys to upload code or read OBS' }]);
    }
    this.store = new S3Store(
      {
        endpoint: this.config.obsEndpoint,
        region: this.config.region,
        forcePathStyle: this.config.obsPathStyle,
        credentials: { accessKeyId: credentials.accessKey, secretAccessKey: credentials.secretKey, ...(credentials.securityToken ? { sessionToken: credentials.securityToken } : {}) },
      },
      { stateDir: this.options.stateDir },
    );
    return this.store;
  }

  /** For an IAM user: the token issued for the password (kept instead of it when the person asks). */
  issuedToken(): ModelArtsCredentials | undefined {
    return this.authenticator instanceof TokenAuthenticator ? this.authenticator.issued : undefined;
  }

  redact(text: string): string {
    return this.client.redact(text);
  }

  dispose(): void {
    this.store?.dispose();
  }
}
