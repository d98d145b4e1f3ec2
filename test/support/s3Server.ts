/**
 * The real S3 server of the integration suite and the benchmark: Ceph radosgw in the container
 * modelarts-test-s3 (scripts/ensure-s3-server.sh). Started when it does not answer; a server that
 * cannot start fails the run loudly, it never makes tests skip.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface S3ServerConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The fixed test keys scripts/ensure-s3-server.sh gives the server's user (not secrets). */
const SERVER: S3ServerConfig = {
  endpoint: `http://127.0.0.1:${process.env.MODELARTS_S3_PORT ?? '7480'}`,
  region: 'us-east-1',
  accessKeyId: 'modelarts-test-access-key',
  secretAccessKey: 'modelarts-test-secret-key',
};

/** A signed ListBuckets answered: the gateway runs and knows the test user. */
async function answers(server: S3ServerConfig): Promise<string | undefined> {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    maxAttempts: 1,
  });
  try {
    await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(5000) });
    return undefined;
  } catch (error) {
    return (error as Error).message || (error as Error).name;
  } finally {
    client.destroy();
  }
}

let starting: Promise<S3ServerConfig> | undefined;

/**
 * The S3 server, started if it does not answer. Asked again at every call: a suite that restarts
 * dockerd (test/integration/restart.test.ts) stops the server's container under the suites after it.
 */
export async function ensureS3Server(): Promise<S3ServerConfig> {
  if (!starting && (await answers(SERVER)) === undefined) return SERVER;
  starting ??= start().finally(() => (starting = undefined));
  return starting;
}

async function start(): Promise<S3ServerConfig> {
  if ((await answers(SERVER)) === undefined) return SERVER;
  const script = path.join(REPO_ROOT, 'scripts', 'ensure-s3-server.sh');
  const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('close', (code) => resolve({ code, text }));
  });
  const problem = output.code === 0 ? await answers(SERVER) : `the script exited with ${output.code}`;
  if (problem !== undefined) {
    throw new Error(
      `The S3 test server (Ceph radosgw, container modelarts-test-s3) could not be started at ${SERVER.endpoint}: ${problem}.\n` +
        `Output of scripts/ensure-s3-server.sh:\n${output.text.trim().split('\n').slice(-25).join('\n')}`,
    );
  }
  return SERVER;
}
