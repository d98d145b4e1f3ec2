/**
 * A ModelArts backend wired to the contract server (ModelArts' control plane played from its API
 * reference, jobs run for real on Docker) and the S3 test server playing OBS, with the S3 server's
 * keys as the account's AK/SK: the one credential pair both services take, as on Huawei Cloud.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { JobCreateRequest } from '../../src/core/job';
import { ModelArtsBackend, type ModelArtsTiming } from '../../src/backends/modelarts/modelartsBackend';
import type { ModelArtsConfig } from '../../src/backends/modelarts/config';
import { type ModelArtsContractServer, startModelArtsContractServer } from './modelarts/contractServer';
import type { ContractServerOptions } from './modelarts/options';
import { ensureS3Server, type S3ServerConfig } from './s3Server';
import { makeFolder, recordingLogger } from './jobs';

/** The contract server's preset PyTorch engine, as its training-job-engines lists it. */
export const CLOUD_ENGINE = { engine_name: 'PyTorch', engine_version: 'pytorch_1.13.1-cpu-py_3.11-debian_12-x86_64' } as const;

export const FAST_TIMING: ModelArtsTiming = { pollMinMs: 250, pollMaxMs: 2000, logIntervalMs: 250, metricsEveryMs: 500 };

export interface CloudFixture {
  readonly server: ModelArtsContractServer;
  readonly s3: S3ServerConfig;
  readonly bucket: string;
  readonly config: ModelArtsConfig;
  readonly credentials: { readonly kind: 'accessKey'; readonly accessKey: string; readonly secretKey: string };
  readonly logger: ReturnType<typeof recordingLogger>;
  /** A backend on the fixture's server (more may be made, e.g. with other keys). */
  backend(overrides?: Partial<ConstructorParameters<typeof ModelArtsBackend>[0]>): ModelArtsBackend;
  stop(): Promise<void>;
}

/** `extraAccessKeys`: more keys the contract server knows (temporary ones, expired ones) beside the S3 server's. */
export async function startCloudFixture(serverOptions: Partial<ContractServerOptions> & { readonly extraAccessKeys?: ContractServerOptions['accessKeys'] } = {}): Promise<CloudFixture> {
  const s3 = await ensureS3Server();
  const key = { ak: s3.accessKeyId, sk: s3.secretAccessKey };
  const { extraAccessKeys = [], ...options } = serverOptions;
  const server = await startModelArtsContractServer({
    obs: s3,
    accessKeys: [key, ...extraAccessKeys],
    timing: { deleteDelayMs: 500, metricIntervalMs: 500, terminateGraceMs: 2000, pendingMs: 800 },
    ...options,
  });
  const bucket = `cloud-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  const config: ModelArtsConfig = {
    region: server.region,
    endpoints: { modelarts: server.url, iam: server.url, obs: s3.endpoint },
    obsPathStyle: true,
    codeLocation: `obs://${bucket}/vscode/`,
  };
  const credentials = { kind: 'accessKey', accessKey: key.ak, secretKey: key.sk } as const;
  const logger = recordingLogger();
  const made: ModelArtsBackend[] = [];
  return {
    server,
    s3,
    bucket,
    config,
    credentials,
    logger,
    backend(overrides = {}) {
      const backend = new ModelArtsBackend({ config, credentials, logger, stateDir: makeFolder('cloud-state'), timing: FAST_TIMING, retry: { baseDelayMs: 100, maxDelayMs: 1000 }, ...overrides });
      made.push(backend);
      return backend;
    },
    async stop() {
      for (const backend of made) backend.dispose();
      await server.stop();
    },
  };
}

export function cloudJob(name: string, codeDir: string, bootFile: string, parameters: JobCreateRequest['algorithm']['parameters'] = []): JobCreateRequest {
  return { kind: 'job', metadata: { name }, algorithm: { code_dir: codeDir, boot_file: bootFile, engine: { ...CLOUD_ENGINE }, parameters } };
}
