/**
 * The OBS client a ModelArts backend makes follows OBS' rules (shared/docs/modelarts-cloud.md §5):
 * virtual-hosted addressing on OBS' own endpoints (path style is refused there since 2023), the
 * region as the signing region, and no CRC checksums unless an operation requires them. Checked on
 * the requests the AWS SDK would send, caught before they leave the machine.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudSession } from '../../src/backends/modelarts/cloudSession';

interface Caught {
  readonly hostname: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The store's SDK client with a last step that records the signed request and stops it. */
function catching(session: CloudSession): Caught[] {
  const store = session.obs() as unknown as { client: { middlewareStack: { add(fn: unknown, options: unknown): void } } };
  const caught: Caught[] = [];
  store.client.middlewareStack.add(
    () => async (args: { request: Caught }) => {
      caught.push({ hostname: args.request.hostname, path: args.request.path, headers: { ...args.request.headers } });
      throw Object.assign(new Error('caught by the test'), { name: 'CaughtByTest' });
    },
    { step: 'finalizeRequest', priority: 'low', name: 'catchRequest' },
  );
  return caught;
}

describe('the OBS client of a ModelArts backend', function () {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'obs-client-'));
  const credentials = { kind: 'accessKey' as const, accessKey: 'QTWAOYTTINDUT2QVKYUC', secretKey: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc' };

  after(() => fs.rmSync(stateDir, { recursive: true, force: true }));

  it('addresses buckets by host name at the region\'s OBS endpoint, signed for the region, without CRC checksums', async function () {
    const session = new CloudSession({ config: { region: 'cn-north-4' }, credentials, logger, stateDir });
    const caught = catching(session);
    const file = path.join(stateDir, 'train.py');
    fs.writeFileSync(file, 'print("hello")\n');
    await assert.rejects(session.obs().upload(file, 'my-bucket', 'code/train.py'));
    await assert.rejects(session.obs().listLevel('my-bucket', 'code/'));
    assert.equal(caught.length, 2, 'both requests reached the last step');
    for (const request of caught) {
      assert.equal(request.hostname, 'my-bucket.obs.cn-north-4.myhuaweicloud.com', 'virtual-hosted on the OBS domain');
      assert.ok(!request.path.startsWith('/my-bucket'), `the bucket is not in the path: ${request.path}`);
      assert.match(request.headers.authorization ?? '', /\/cn-north-4\/s3\/aws4_request/, 'signed for the region');
      const checksums = Object.keys(request.headers).filter((name) => /^x-amz-(sdk-)?checksum/.test(name) || name === 'x-amz-trailer');
      assert.deepEqual(checksums, [], 'no checksum a PutObject does not require');
    }
    assert.equal(caught[0]?.path, '/code/train.py');
    session.dispose();
  });

  it('follows the cloud\'s domain and a custom endpoint with path style when asked', async function () {
    const eu = new CloudSession({ config: { region: 'eu-west-101', domain: 'myhuaweicloud.eu' }, credentials, logger, stateDir });
    const euCaught = catching(eu);
    await assert.rejects(eu.obs().listLevel('data', ''));
    assert.equal(euCaught[0]?.hostname, 'data.obs.eu-west-101.myhuaweicloud.eu');
    eu.dispose();
    const local = new CloudSession({ config: { region: 'cn-north-4', endpoints: { obs: 'http://127.0.0.1:7480' }, obsPathStyle: true }, credentials, logger, stateDir });
    const localCaught = catching(local);
    await assert.rejects(local.obs().listLevel('data', ''));
    assert.equal(localCaught[0]?.hostname, '127.0.0.1');
    assert.match(localCaught[0]?.path ?? '', /^\/data/);
    local.dispose();
  });
});
