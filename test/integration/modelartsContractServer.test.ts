/**
 * The ModelArts contract server itself, driven by a tiny client signed with Huawei's official
 * SDK signer: authentication (AK/SK, temporary credentials, tokens), validation, real jobs in
 * Docker with code and data on the S3 test server, algorithms, and injected faults.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner';
import Docker from 'dockerode';
import { type ModelArtsContractServer, startModelArtsContractServer } from '../support/modelarts/contractServer';
import { type AccessKeyOption, DEFAULT_ACCESS_KEY, DEFAULT_USER, PRESET_IMAGE } from '../support/modelarts/options';
import { formatSdkDate } from '../support/modelarts/signature';
import { CONTRACT_LABELS } from '../support/modelarts/taskContainer';
import { TaskLogs } from '../support/modelarts/taskLogs';
import { type S3ServerConfig, ensureS3Server } from '../support/s3Server';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const DIGITS_DIR = path.join(REPO_ROOT, 'examples', 'digits');
const LOCKED_KEY: AccessKeyOption = { ak: 'CONTRACTLOCKAK00000003', sk: 'ContractLockedSecret000000000000000000003' };
const TEMP_KEY: AccessKeyOption = { ak: 'CONTRACTTEMPAK00000002', sk: 'ContractTemporarySecret00000000000000002', securityToken: 'temporary-security-token-1' };
const CUSTOM_IMAGE = 'contract-org/pytorch:1.13-cpu';
const docker = new Docker();

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  // The tests read answers loosely; the server's shapes are asserted field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

interface CallOptions {
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  /** Sign with this key (default: the server's first key); false sends no signature. */
  readonly key?: AccessKeyOption | false;
  readonly token?: string;
  readonly date?: string;
  readonly headers?: Record<string, string>;
  /** Changes the headers after signing (to break the signature). */
  readonly tamper?: (headers: Record<string, string>) => void;
  /** Another contract server than the suite's. */
  readonly to?: ModelArtsContractServer;
}

describe('ModelArts contract server', function () {
  let server: ModelArtsContractServer;
  let s3Config: S3ServerConfig;
  let s3: S3Client;
  const bucket = `contract-${Date.now().toString(36)}`;
  const obs = (key: string) => `obs://${bucket}/${key}`;
  let pid: string;

  /** A request signed by the official SDK signer, sent with node:http (which lets Host be set). */
  function call(method: string, pathname: string, options: CallOptions = {}): Promise<Answer> {
    const endpoint = `${(options.to ?? server).url}${pathname}`;
    const key = options.key === undefined ? DEFAULT_ACCESS_KEY : options.key;
    // Header names merge case-insensitively, or the signer would sign two content-type headers;
    // the caller's spelling is kept (the signer looks X-Sdk-Content-Sha256 up by that spelling).
    let headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
      headers[name] = value;
    }
    if (options.date) headers['X-Sdk-Date'] = options.date;
    if (key && key.securityToken) headers['X-Security-Token'] = key.securityToken;
    if (key) {
      const credential = { getAk: () => key.ak, getSk: () => key.sk } as unknown as Parameters<typeof AKSKSigner.sign>[1];
      headers = AKSKSigner.sign({ method, endpoint, queryParams: options.query ?? {}, headers, data: options.body }, credential) as Record<string, string>;
    }
    if (options.token) headers['X-Auth-Token'] = options.token;
    options.tamper?.(headers);
    const payload = options.body !== undefined ? JSON.stringify(options.body) : undefined;
    const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
    return new Promise((resolve, reject) => {
      const request = http.request(`${endpoint}${query}`, { method, headers: { ...headers, ...(payload ? { 'content-length': String(Buffer.byteLength(payload)) } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      request.on('error', reject);
      request.end(payload);
    });
  }

  const ma = (suffix: string) => `/v2/${pid}${suffix}`;

  async function upload(localDir: string, prefix: string): Promise<void> {
    for (const entry of fs.readdirSync(localDir, { withFileTypes: true })) {
      const full = path.join(localDir, entry.name);
      if (entry.isDirectory()) await upload(full, `${prefix}${entry.name}/`);
      else await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${entry.name}`, Body: fs.readFileSync(full) }));
    }
  }

  function digitsJob(name: string, epochs: number, extra: { output?: string; nodeCount?: number; flavor?: string } = {}) {
    return {
      kind: 'job',
      metadata: { name, description: 'digits on the contract server' },
      algorithm: {
        code_dir: obs('code/digits/'),
        boot_file: obs('code/digits/train.py'),
        engine: { engine_name: 'PyTorch', engine_version: 'pytorch_1.13.1-cpu-py_3.11-debian_12-x86_64' },
        parameters: [{ name: 'epochs', value: String(epochs) }],
        inputs: [{ name: 'data_url', remote: { obs: { obs_url: obs('code/digits/data/') } } }],
        outputs: [{ name: 'train_url', remote: { obs: { obs_url: obs(extra.output ?? `out/${name}/`) } } }],
      },
      spec: { resource: { flavor_id: extra.flavor ?? 'modelarts.vm.cpu.2u', node_count: extra.nodeCount ?? 1 } },
    };
  }

  function commandJob(name: string, command: string, nodeCount = 1) {
    return {
      kind: 'job',
      metadata: { name },
      algorithm: { engine: { image_url: CUSTOM_IMAGE }, command, parameters: [{ name: 'greeting', value: 'hello' }] },
      spec: { resource: { flavor_id: nodeCount > 1 ? 'modelarts.vm.cpu.4u' : 'modelarts.vm.cpu.2u', node_count: nodeCount } },
    };
  }

  async function createJob(body: unknown): Promise<string> {
    const answer = await call('POST', ma('/training-jobs'), { body });
    assert.equal(answer.status, 201, `create answered ${answer.status}: ${answer.text}`);
    return answer.body.metadata.id as string;
  }

  async function waitForPhase(id: string, phases: readonly string[], timeoutMs = 90_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await call('GET', ma(`/training-jobs/${id}`));
      assert.equal(answer.status, 200, answer.text);
      if (phases.includes(answer.body.status.phase)) return answer.body;
      if (Date.now() > deadline) assert.fail(`job ${id} stayed ${answer.body.status.phase}, expected ${phases.join('/')}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  async function logOf(id: string, task = 'worker-0'): Promise<string> {
    const answer = await call('GET', ma(`/training-jobs/${id}/tasks/${task}/logs/preview`));
    return answer.status === 200 ? (answer.body.content as string) : '';
  }

  async function eventsOf(id: string): Promise<string[]> {
    const answer = await call('GET', ma(`/training-jobs/${id}/events`), { query: { order: 'asc', limit: '100' } });
    assert.equal(answer.status, 200, answer.text);
    return (answer.body.events as Array<{ message: string }>).map((e) => e.message);
  }

  before(async function () {
    await docker.ping().catch((error: Error) => assert.fail(`Docker must be running for the contract server's jobs (bash scripts/ensure-docker.sh): ${error.message}`));
    await docker.getImage(PRESET_IMAGE).inspect().catch(() => assert.fail(`the preset image ${PRESET_IMAGE} must exist locally (scripts/setup.sh builds it)`));
    s3Config = await ensureS3Server();
    s3 = new S3Client({
      endpoint: s3Config.endpoint,
      region: s3Config.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3Config.accessKeyId, secretAccessKey: s3Config.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await upload(DIGITS_DIR, 'code/digits/');
    server = await startModelArtsContractServer({
      obs: s3Config,
      accessKeys: [DEFAULT_ACCESS_KEY, TEMP_KEY, LOCKED_KEY],
      customImages: { [CUSTOM_IMAGE]: PRESET_IMAGE },
      logPreviewBytes: 4096,
      timing: { deleteDelayMs: 1500, metricIntervalMs: 500, terminateGraceMs: 3000, tokenLifetimeMs: 60_000 },
    });
    pid = server.projectId;
  });

  after(async function () {
    await server?.stop();
    const left = await docker.listContainers({ all: true, filters: { label: [`${CONTRACT_LABELS.server}=${server?.serverId}`] } });
    assert.deepEqual(left, [], 'stop() removes every container the server made');
    if (s3) {
      const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const object of objects.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
  });

  describe('authentication', function () {
    it('answers a request signed by the official SDK signer and journals it as AK/SK', async function () {
      const answer = await call('GET', ma('/training-job-flavors'), { query: { flavor_type: 'CPU' } });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.body.total_count, 3);
      assert.ok(answer.body.flavors.some((f: { flavor_info: { max_num: number } }) => f.flavor_info.max_num >= 2), 'one flavor is distributed');
      const entry = server.journal.requestsTo('ShowTrainingJobFlavors').at(-1);
      assert.equal(entry?.auth, 'aksk');
      assert.equal(entry?.principal, DEFAULT_ACCESS_KEY.ak);
      assert.deepEqual(entry?.query, { flavor_type: 'CPU' });
      // The Node SDK sends a GET with `data: {}` as a signed "{}" body.
      const withBody = await call('GET', ma('/training-job-engines'), { body: {} });
      assert.equal(withBody.status, 200, withBody.text);
      assert.deepEqual(server.journal.last()?.undocumentedFields, []);
    });

    it('refuses a bad signature, an unknown AK and missing credentials with APIG.0301', async function () {
      const tampered = await call('GET', ma('/training-job-engines'), { tamper: (h) => (h['Authorization'] = String(h['Authorization']).replace(/Signature=\w{4}/, 'Signature=0000')) });
      assert.equal(tampered.status, 401);
      assert.equal(tampered.body.error_code, 'APIG.0301');
      assert.match(tampered.body.error_msg, /verify aksk signature fail/);
      assert.equal(server.journal.last()?.authFailure, 'signature');

      const unknown = await call('GET', ma('/training-job-engines'), { key: { ak: 'NOSUCHAK0000000000000', sk: 'whatever' } });
      assert.equal(unknown.status, 401);
      assert.match(unknown.body.error_msg, /ak not exist/);
      assert.equal(server.journal.last()?.authFailure, 'unknown-ak');

      const none = await call('GET', ma('/training-job-engines'), { key: false });
      assert.equal(none.status, 401);
      assert.match(none.body.error_msg, /x-auth-token not found/);
      assert.ok(typeof none.body.request_id === 'string' && none.body.request_id.length > 0);
    });

    it('refuses an X-Sdk-Date more than 15 minutes off, and a skewed server clock makes a fresh one stale', async function () {
      const stale = await call('GET', ma('/training-job-engines'), { date: formatSdkDate(Date.now() - 20 * 60_000) });
      assert.equal(stale.status, 401);
      assert.equal(server.journal.last()?.authFailure, 'stale-date');

      server.faults.skewClock(30 * 60_000);
      try {
        const skewed = await call('GET', ma('/training-job-engines'));
        assert.equal(skewed.status, 401);
        assert.match(skewed.body.error_msg, /signature expired/);
        assert.ok(server.journal.last()?.faults.includes('clock-skew'));
        assert.ok(server.faults.count('clock-skew') >= 1);
      } finally {
        server.faults.skewClock(0);
      }
      assert.equal((await call('GET', ma('/training-job-engines'))).status, 200);
    });

    it('takes X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD instead of the body hash', async function () {
      const answer = await call('POST', ma('/training-job-searches'), { body: { limit: 5 }, headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' } });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(server.journal.last()?.headers['x-sdk-content-sha256'], 'UNSIGNED-PAYLOAD');
    });

    it('locks an AK after five bad signatures in a row', async function () {
      const tamper = (h: Record<string, string>) => (h['Authorization'] = String(h['Authorization']).replace(/Signature=\w/, 'Signature=g'));
      for (let i = 0; i < 5; i += 1) assert.equal((await call('GET', ma('/training-job-engines'), { key: LOCKED_KEY, tamper })).status, 401);
      const locked = await call('GET', ma('/training-job-engines'), { key: LOCKED_KEY });
      assert.equal(locked.status, 401);
      assert.match(locked.body.error_msg, /reach the limit/);
      assert.equal(server.journal.last()?.authFailure, 'locked');
    });

    it('requires host and x-sdk-date among the signed headers', async function () {
      const answer = await call('GET', ma('/training-job-engines'), {
        tamper: (h) => (h['Authorization'] = String(h['Authorization']).replace(/SignedHeaders=[^,]+/, 'SignedHeaders=content-type;host')),
      });
      assert.equal(answer.status, 401);
      assert.equal(server.journal.last()?.authFailure, 'unsigned-header');
    });

    it('accepts temporary credentials only with their signed X-Security-Token', async function () {
      assert.equal((await call('GET', ma('/training-job-engines'), { key: TEMP_KEY })).status, 200);
      const { securityToken: _, ...withoutToken } = TEMP_KEY;
      const refused = await call('GET', ma('/training-job-engines'), { key: withoutToken });
      assert.equal(refused.status, 401);
      assert.equal(server.journal.last()?.authFailure, 'security-token');
    });

    it('issues an IAM token (X-Subject-Token), accepts it, and refuses unknown and expired tokens', async function () {
      const projects = await call('GET', '/v3/projects', { query: { name: server.region } });
      assert.equal(projects.status, 200, projects.text);
      assert.deepEqual(
        projects.body.projects.map((p: { id: string; name: string; enabled: boolean }) => [p.id, p.name, p.enabled]),
        [[pid, server.region, true]],
      );
      assert.ok(projects.body.links);

      const tokenBody = {
        auth: {
          identity: { methods: ['password'], password: { user: { name: DEFAULT_USER.name, password: DEFAULT_USER.password, domain: { name: server.domain.name } } } },
          scope: { project: { name: server.region } },
        },
      };
      const issued = await call('POST', '/v3/auth/tokens', { key: false, body: tokenBody });
      assert.equal(issued.status, 201, issued.text);
      const token = issued.headers['x-subject-token'];
      assert.ok(typeof token === 'string' && token.length > 100);
      assert.match(issued.body.token.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.match(issued.body.token.issued_at, /\.\d{6}Z$/);
      assert.equal(issued.body.token.project.id, pid);

      const withToken = await call('GET', ma('/training-job-engines'), { key: false, token });
      assert.equal(withToken.status, 200);
      assert.equal(server.journal.last()?.auth, 'token');

      const wrongPassword = await call('POST', '/v3/auth/tokens', {
        key: false,
        body: { ...tokenBody, auth: { ...tokenBody.auth, identity: { methods: ['password'], password: { user: { ...tokenBody.auth.identity.password.user, password: 'wrong' } } } } },
      });
      assert.equal(wrongPassword.status, 401);

      const bogus = await call('GET', ma('/training-job-engines'), { key: false, token: 'MIIbogus' });
      assert.equal(bogus.status, 401);
      assert.equal(bogus.body.error_code, 'APIG.0301');

      server.expireTokens();
      const expired = await call('GET', ma('/training-job-engines'), { key: false, token });
      assert.equal(expired.status, 401);
      assert.equal(expired.body.error_code, 'APIG.0307');
    });

    it('refuses a project id that is not the credentials\' project', async function () {
      const answer = await call('GET', '/v2/0123456789abcdef0123456789abcdef/training-job-engines');
      assert.equal(answer.status, 403);
      assert.equal(answer.body.error_code, 'ModelArts.0210');
    });
  });

  describe('validation', function () {
    const cases: Array<[string, (body: ReturnType<typeof digitsJob>) => unknown, number, string, RegExp?]> = [
      ['a bad job name', (b) => ({ ...b, metadata: { name: 'has spaces' } }), 400, 'ModelArts.2788', /metadata\.name/],
      ['a number where the reference wants a string', (b) => ({ ...b, algorithm: { ...b.algorithm, parameters: [{ name: 'epochs', value: 3 }] } }), 400, 'ModelArts.2788', /algorithm\.parameters\[0\]\.value/],
      ['an unknown engine', (b) => ({ ...b, algorithm: { ...b.algorithm, engine: { engine_id: 'no-such-engine' } } }), 400, 'ModelArts.2780'],
      ['an unknown flavor', (b) => ({ ...b, spec: { resource: { flavor_id: 'modelarts.vm.none' } } }), 400, 'ModelArts.2781'],
      ['no flavor', (b) => ({ ...b, spec: {} }), 400, 'ModelArts.2763'],
      ['more nodes than the flavor allows', (b) => ({ ...b, spec: { resource: { flavor_id: 'modelarts.vm.cpu.4u', node_count: 3 } } }), 400, 'ModelArts.2793'],
      ['a boot file that is not in OBS', (b) => ({ ...b, algorithm: { ...b.algorithm, boot_file: obs('code/digits/missing.py') } }), 400, 'ModelArts.2758'],
      ['a custom image without command', (b) => ({ ...b, algorithm: { engine: { image_url: CUSTOM_IMAGE } } }), 400, 'ModelArts.2806'],
      ['a malformed OBS path', (b) => ({ ...b, algorithm: { ...b.algorithm, inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'http://x/y' } } }] } }), 400, 'ModelArts.2791'],
    ];
    for (const [what, change, status, code, message] of cases) {
      it(`refuses a job with ${what} (${code})`, async function () {
        const answer = await call('POST', ma('/training-jobs'), { body: change(digitsJob('refused', 1)) });
        assert.equal(answer.status, status, answer.text);
        assert.equal(answer.body.error_code, code);
        if (message) assert.match(answer.body.error_msg, message);
        assert.ok((server.journal.last()?.validationIssues.length ?? 0) > 0, 'the refusal is journalled as a validation issue');
      });
    }

    it('checks searches, events queries, unknown jobs and unknown paths', async function () {
      const search = await call('POST', ma('/training-job-searches'), { body: { limit: 51 } });
      assert.equal(search.status, 400);
      assert.match(search.body.error_msg, /limit/);
      const badKey = await call('POST', ma('/training-job-searches'), { body: { filters: [{ key: 'colour', operator: 'in', value: ['x'] }] } });
      assert.equal(badKey.body.error_code, 'ModelArts.2789');
      const unknown = await call('GET', ma('/training-jobs/00000000-0000-0000-0000-000000000000'));
      assert.equal(unknown.status, 400, 'ModelArts answers an unknown job with 400, not 404');
      assert.equal(unknown.body.error_code, 'ModelArts.2775');
      const events = await call('GET', ma('/training-jobs/00000000-0000-0000-0000-000000000000/events'), { query: { limit: '0' } });
      assert.equal(events.body.error_code, 'ModelArts.50004000');
      const nowhere = await call('GET', ma('/no-such-api'));
      assert.equal(nowhere.status, 404);
      assert.equal(nowhere.body.error_code, 'APIG.0101');
    });

    it('records undocumented fields apart from rejections', async function () {
      server.journal.clear();
      const body = commandJob('undocumented', 'echo hi');
      const answer = await call('POST', ma('/training-jobs'), {
        body: { ...body, algorithm: { ...body.algorithm, predownload: true }, spec: { ...body.spec, colour: 'blue' } },
        query: { verbose: 'yes' },
      });
      assert.equal(answer.status, 201, `undocumented fields are not a reason to refuse: ${answer.text}`);
      const [entry] = server.journal.withUndocumentedFields();
      assert.deepEqual(entry?.undocumentedFields, ['query.verbose', 'body.algorithm.predownload', 'body.spec.colour']);
      assert.deepEqual(entry?.validationIssues, []);
      assert.deepEqual(server.journal.undocumentedFieldReport(), [
        `POST ${ma('/training-jobs')}: query.verbose`,
        `POST ${ma('/training-jobs')}: body.algorithm.predownload`,
        `POST ${ma('/training-jobs')}: body.spec.colour`,
      ]);
      await waitForPhase(answer.body.metadata.id, ['Completed', 'Failed']);
    });
  });

  describe('jobs', function () {
    let digitsId: string;

    it('runs the digits example end to end: phases, log preview and link, events, metrics, checkpoint in OBS', async function () {
      digitsId = await createJob(digitsJob('digits-contract', 3));
      const preview = await call('GET', ma(`/training-jobs/${digitsId}/tasks/worker-0/logs/preview`));
      assert.equal(preview.status, 204, 'no log before the task starts');

      const done = await waitForPhase(digitsId, ['Completed', 'Failed', 'Abnormal']);
      const log = await logOf(digitsId);
      assert.equal(done.status.phase, 'Completed', `the job failed; its log:\n${log}\nevents:\n${(await eventsOf(digitsId)).join('\n')}`);
      assert.equal(done.status.secondary_phase, 'Completed');
      assert.deepEqual(done.status.tasks, ['worker-0']);
      assert.deepEqual(done.status.task_statuses, [{ task: 'worker-0', exit_code: 0, message: '' }]);
      assert.ok(done.status.start_time >= done.metadata.create_time);
      assert.ok(done.status.duration > 0);
      assert.equal(done.algorithm.inputs[0].local_dir, '/home/ma-user/modelarts/inputs/data_url_0');
      assert.equal(done.spec.resource.flavor_detail.flavor_type, 'CPU');
      assert.match(log, /^epoch 3 loss \d+\.\d+ acc/m);
      assert.match(log, /from \/home\/ma-user\/modelarts\/inputs\/data_url_0/);

      const full = await call('GET', ma(`/training-jobs/${digitsId}/tasks/worker-0/logs/preview`));
      assert.equal(full.body.current_size, full.body.full_size, 'a short log fits the window');
      const link = await call('GET', ma(`/training-jobs/${digitsId}/tasks/worker-0/logs/url`), { headers: { 'Content-Type': 'text/plain' } });
      assert.equal(link.status, 200, link.text);
      const fetched = await fetch(link.body.obs_url as string);
      assert.equal(fetched.status, 200);
      assert.match(await fetched.text(), /^epoch 2 loss/m);

      const events = await eventsOf(digitsId);
      const order = ['Training job created.', 'Training code downloaded.', 'training started.', 'Training finished. Exit code 0.', 'Upload training output(parameter name: train_url) finished.', 'Training job completed.'];
      let at = -1;
      for (const message of order) {
        const next = events.findIndex((e, i) => i > at && e.includes(message));
        assert.ok(next > at, `event "${message}" after the ones before it; events:\n${events.join('\n')}`);
        at = next;
      }
      const raw = await call('GET', ma(`/training-jobs/${digitsId}/events`), { query: { limit: '1', level: 'Info', pattern: 'exit code' } });
      assert.equal(raw.body.events.length, 1);
      assert.match(raw.body.events[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);

      const checkpoint = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'out/digits-contract/checkpoint.pt' }));
      assert.ok((checkpoint.ContentLength ?? 0) > 1000, 'the checkpoint was uploaded to the output location');

      const metrics = await call('GET', ma(`/training-jobs/${digitsId}/metrics/worker-0`));
      assert.equal(metrics.status, 200);
      const names = metrics.body.metrics.map((m: { metric: string }) => m.metric);
      assert.deepEqual(names, ['cpuUsage', 'memUsage', 'gpuUtil', 'gpuMemUsage', 'npuUtil', 'npuMemUsage']);
      const [cpu, mem] = [metrics.body.metrics[0].value as number[], metrics.body.metrics[1].value as number[]];
      assert.ok(cpu.length >= 1 && cpu.every((v) => v === -1 || (v >= 0 && v <= 100)), `CPU samples: ${cpu.join(', ')}`);
      assert.ok(mem.some((v) => v > 0), `memory samples: ${mem.join(', ')}`);
    });

    it('searches by name and phase, newest first, in pages numbered by offset', async function () {
      const all = await call('POST', ma('/training-job-searches'), { body: { filters: [{ key: 'phase', operator: 'in', value: ['Completed'] }], limit: 50 } });
      assert.equal(all.status, 200, all.text);
      const times = all.body.items.map((j: { metadata: { create_time: number } }) => j.metadata.create_time);
      assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
      const byName = await call('POST', ma('/training-job-searches'), { body: { offset: 0, limit: 1, filters: [{ key: 'name', operator: 'like', value: ['digits-con'] }] } });
      assert.equal(byName.body.count, 1);
      assert.equal(byName.body.items[0].metadata.id, digitsId);
      for (const field of ['total', 'count', 'limit', 'offset', 'sort_by', 'order', 'group_by', 'workspace_id', 'ai_project', 'items']) assert.ok(field in byName.body, field);
      const secondPage = await call('POST', ma('/training-job-searches'), { body: { offset: 1, limit: 1, filters: [{ key: 'name', operator: 'like', value: ['digits-con'] }] } });
      assert.deepEqual(secondPage.body.items, []);
    });

    it('runs a 2-node job: one container per task on a network of its own, with the worker environment', async function () {
      // A peer resolves while its container runs: each task tries for a while, then stays up a
      // little so that the other can find it too.
      const command =
        'echo "hosts=$MA_NUM_HOSTS index=$VC_TASK_INDEX workers=$VC_WORKER_HOSTS user=$(id -u):$(id -g)"; ' +
        'for h in $(echo $VC_WORKER_HOSTS | tr , " "); do for i in $(seq 50); do getent hosts $h >/dev/null && echo "resolves $h" && break; sleep 0.2; done; done; ' +
        'sleep 2; echo args';
      const id = await createJob(commandJob('two-nodes', command, 2));
      const done = await waitForPhase(id, ['Completed', 'Failed', 'Abnormal']);
      const logs = [await logOf(id, 'worker-0'), await logOf(id, 'worker-1')];
      assert.equal(done.status.phase, 'Completed', logs.join('\n---\n'));
      assert.deepEqual(done.status.tasks, ['worker-0', 'worker-1']);
      const hosts = [`modelarts-job-${id}-worker-0`, `modelarts-job-${id}-worker-1`];
      logs.forEach((log, index) => {
        assert.match(log, new RegExp(`hosts=2 index=${index} workers=${hosts.join(',')} user=1000:100`));
        for (const host of hosts) assert.match(log, new RegExp(`resolves ${host}`), `each task reaches the other by its host name; log:\n${log}`);
        assert.match(log, /^args --greeting=hello$/m, 'the command gets the parameters as flags');
      });
    });

    it('terminates a running job: 202 Terminating, then Terminated; a second stop is refused', async function () {
      const id = await createJob(digitsJob('long-digits', 100_000, { output: 'out/long/' }));
      await waitForPhase(id, ['Running']);
      const deadline = Date.now() + 30_000;
      while (!/^epoch \d+ /m.test(await logOf(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
      const stop = await call('POST', ma(`/training-jobs/${id}/actions`), { body: { action_type: 'terminate' } });
      assert.equal(stop.status, 202, stop.text);
      assert.equal(stop.body.status.phase, 'Terminating');
      const done = await waitForPhase(id, ['Terminated', 'Failed', 'Completed']);
      assert.equal(done.status.phase, 'Terminated');
      assert.equal(done.status.task_statuses[0].exit_code, 143, `SIGTERM reached the training process, which saved and exited; log:\n${await logOf(id)}`);
      assert.match(await logOf(id), /stopped by SIGTERM at epoch \d+/);
      const again = await call('POST', ma(`/training-jobs/${id}/actions`), { body: { action_type: 'terminate' } });
      assert.equal(again.status, 409);
      assert.equal(again.body.error_code, 'ModelArts.2796');
      assert.ok((await eventsOf(id)).some((e) => e.includes('ExecuteAction: Start to execute action TerminateJob')));
    });

    it('terminates a job still Pending (no container started) and expires log links', async function () {
      const slow = await startModelArtsContractServer({ obs: s3Config, timing: { pendingMs: 10_000 } });
      try {
        const sign = (method: string, suffix: string, body?: unknown) => call(method, `/v2/${slow.projectId}${suffix}`, { body, to: slow });
        const created = await sign('POST', '/training-jobs', digitsJob('stopped-early', 1));
        assert.equal(created.status, 201, created.text);
        const id = created.body.metadata.id as string;
        const stop = await sign('POST', `/training-jobs/${id}/actions`, { action_type: 'terminate' });
        assert.equal(stop.status, 202, stop.text);
        let job = (await sign('GET', `/training-jobs/${id}`)).body;
        for (let i = 0; i < 50 && job.status.phase !== 'Terminated'; i += 1) {
          await new Promise((r) => setTimeout(r, 100));
          job = (await sign('GET', `/training-jobs/${id}`)).body;
        }
        assert.equal(job.status.phase, 'Terminated');
        assert.equal(job.status.start_time, 0, 'it never ran');
        assert.equal((await sign('GET', `/training-jobs/${id}/tasks/worker-0/logs/preview`)).status, 204);
      } finally {
        await slow.stop();
      }

      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'contract-log-')), 'task.log');
      fs.writeFileSync(file, 'a log line\n');
      const logs = new TaskLogs(1024, 0);
      const token = /obs-temp\/(\w+)\//.exec(logs.link('http://127.0.0.1', 'task.log', file, 'text/plain', Date.now()))?.[1] ?? '';
      assert.equal(logs.serve(token, Date.now()).status, 403, 'a link past its validity is refused like an expired presigned URL');
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });

    it('deletes asynchronously: 202, still readable for a while, then 2775', async function () {
      const deleted = await call('DELETE', ma(`/training-jobs/${digitsId}`));
      assert.equal(deleted.status, 202);
      assert.equal((await call('GET', ma(`/training-jobs/${digitsId}`))).status, 200, 'readable right after delete');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const gone = await call('GET', ma(`/training-jobs/${digitsId}`));
      assert.equal(gone.status, 400);
      assert.equal(gone.body.error_code, 'ModelArts.2775');
    });

    it('runs a custom image command, and the preview window slides past its size', async function () {
      const id = await createJob(commandJob('chatty', 'python -c "import sys; [print(f\'line {i:05d}\') for i in range(2000)]; print(sys.argv[1:])"'));
      const done = await waitForPhase(id, ['Completed', 'Failed', 'Abnormal']);
      const preview = await call('GET', ma(`/training-jobs/${id}/tasks/worker-0/logs/preview`));
      assert.equal(done.status.phase, 'Completed', preview.text);
      assert.equal(preview.body.current_size, 4096, 'the preview holds one window');
      assert.ok(preview.body.full_size > 4096 * 2);
      assert.doesNotMatch(preview.body.content, /line 00000/, 'the start has slid out of the window');
      assert.match(preview.body.content, /line 01999/);
      assert.match(preview.body.content, /\['--greeting=hello'\]/);
    });

    it('keeps algorithms (create 201, list, show, modify 201, delete 202) and runs jobs from them', async function () {
      const created = await call('POST', ma('/algorithms'), {
        body: {
          metadata: { name: 'digits-algorithm', description: 'saved' },
          job_config: {
            code_dir: obs('code/digits/'),
            boot_file: obs('code/digits/train.py'),
            engine: { engine_name: 'PyTorch', engine_version: 'pytorch_1.13.1-cpu-py_3.11-debian_12-x86_64' },
            parameters: [{ name: 'epochs', value: '1' }],
            inputs: [{ name: 'data_url' }],
            outputs: [{ name: 'train_url' }],
          },
        },
      });
      assert.equal(created.status, 201, created.text);
      const algorithmId = created.body.metadata.id as string;
      assert.ok(created.body.job_config.code_tree.children.some((c: { name: string }) => c.name === 'train.py'));
      assert.equal(created.body.job_config.parameters[0].constraint.type, 'String');

      const listed = await call('GET', ma('/algorithms'), { query: { searches: 'name:digits-alg', limit: '5' } });
      assert.equal(listed.body.count, 1);
      assert.equal((await call('GET', ma(`/algorithms/${algorithmId}`))).body.metadata.name, 'digits-algorithm');
      const modified = await call('PUT', ma(`/algorithms/${algorithmId}`), { body: { metadata: { name: 'digits-algorithm', description: 'modified' } } });
      assert.equal(modified.status, 201);
      assert.equal(modified.body.metadata.description, 'modified');

      const jobId = await createJob({
        kind: 'job',
        metadata: { name: 'from-algorithm' },
        algorithm: {
          id: algorithmId,
          parameters: [{ name: 'epochs', value: '2' }],
          inputs: [{ name: 'data_url', remote: { obs: { obs_url: obs('code/digits/data/') } } }],
          outputs: [{ name: 'train_url', remote: { obs: { obs_url: obs('out/from-algorithm/') } } }],
        },
        spec: { resource: { flavor_id: 'modelarts.vm.cpu.2u' } },
      });
      const done = await waitForPhase(jobId, ['Completed', 'Failed', 'Abnormal']);
      assert.equal(done.status.phase, 'Completed', await logOf(jobId));
      assert.equal(done.algorithm.id, algorithmId);
      assert.match(await logOf(jobId), /^epoch 2 loss/m);

      assert.equal((await call('DELETE', ma(`/algorithms/${algorithmId}`))).status, 202);
      assert.equal((await call('GET', ma(`/algorithms/${algorithmId}`))).body.error_code, 'ModelArts.2755');
    });
  });

  describe('faults', function () {
    it('injects a throttling burst (429 APIG.0308, Retry-After) and counts it', async function () {
      const before = server.faults.count('throttle');
      server.faults.throttle({ operation: 'ShowTrainingJobEngines', times: 2, retryAfterSeconds: 3 });
      const answers = [await call('GET', ma('/training-job-engines')), await call('GET', ma('/training-job-engines')), await call('GET', ma('/training-job-engines'))];
      assert.deepEqual(answers.map((a) => a.status), [429, 429, 200]);
      assert.equal(answers[0]?.body.error_code, 'APIG.0308');
      assert.equal(answers[0]?.headers['retry-after'], '3');
      assert.equal(server.faults.count('throttle') - before, 2);
      assert.ok(server.journal.withFaults('throttle').length >= 2);
    });

    it('resets the connection after a create took effect, so a blind retry duplicates the job', async function () {
      server.faults.resetConnection({ method: 'POST', path: ma('/training-jobs'), when: 'after' });
      await assert.rejects(call('POST', ma('/training-jobs'), { body: commandJob('reset-after', 'true') }), /socket hang up|ECONNRESET/);
      assert.equal((await call('POST', ma('/training-jobs'), { body: commandJob('reset-after', 'true') })).status, 201);
      const found = await call('POST', ma('/training-job-searches'), { body: { filters: [{ key: 'name', operator: 'like', value: ['reset-after'] }] } });
      assert.equal(found.body.count, 2, 'the reset request had created a job too');

      server.faults.resetConnection({ path: ma('/training-jobs'), when: 'before' });
      await assert.rejects(call('POST', ma('/training-jobs'), { body: commandJob('reset-before', 'true') }));
      const none = await call('POST', ma('/training-job-searches'), { body: { filters: [{ key: 'name', operator: 'like', value: ['reset-before'] }] } });
      assert.equal(none.body.count, 0, 'a reset before the work leaves nothing behind');
      assert.equal(server.faults.count('reset-after'), 1);
      assert.equal(server.journal.withFaults('reset-before')[0]?.status, 0);
    });

    it('adds latency and answers server errors', async function () {
      server.faults.latency({ operation: 'ShowTrainingJobFlavors', delayMs: 400 });
      const started = Date.now();
      assert.equal((await call('GET', ma('/training-job-flavors'))).status, 200);
      assert.ok(Date.now() - started >= 400);
      server.faults.serverError({ path: /training-job-engines$/ });
      const failed = await call('GET', ma('/training-job-engines'));
      assert.equal(failed.status, 500);
      assert.equal(failed.body.error_code, 'ModelArts.0010');
      assert.equal((await call('GET', ma('/training-job-engines'))).status, 200, 'a fault fires once unless told otherwise');
    });
  });
});
