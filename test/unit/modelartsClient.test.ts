/**
 * The ModelArts HTTP client and log tail on scripted answers (a fetch that plays the service):
 * answers of the wrong shape named as protocol errors, retries only where a call may be repeated
 * (with Retry-After honoured), a stale request time re-signed once, refused keys and lost networks
 * told apart, secrets never in a message; the log tail's window arithmetic, line by line.
 */
import * as assert from 'node:assert/strict';
import { CredentialsRefusedError, ModelArtsApiError, ProtocolError, ServiceUnreachableError } from '../../src/backends/modelarts/apiErrors';
import { AccessKeyAuthenticator } from '../../src/backends/modelarts/authenticators';
import { HttpClient } from '../../src/backends/modelarts/httpClient';
import { tailLog, readWholeLog, type LogSource } from '../../src/backends/modelarts/logTail';
import { cloudJobSchema } from '../../src/backends/modelarts/schemas';
import { jobFromCloud, eventTime } from '../../src/backends/modelarts/jobMapping';
import { isCancellation } from '../../src/core/errors';

const SK = 'ThisIsTheSecretKeyNobodyMaySee0000000001';
const auth = new AccessKeyAuthenticator({ kind: 'accessKey', accessKey: 'QTWAOYTTINDUT2QVKYUC', secretKey: SK });

interface Scripted {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly reset?: boolean;
}

/** A fetch answering from a script, recording what was sent. */
function scripted(answers: Scripted[]) {
  const sent: Array<{ url: string; method: string; headers: Record<string, string> }> = [];
  const fetch = (async (url: URL, init: RequestInit) => {
    sent.push({ url: String(url), method: String(init.method), headers: init.headers as Record<string, string> });
    const answer = answers.shift();
    if (!answer) throw new Error('no more scripted answers');
    if (answer.reset) throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), { status: answer.status, headers: answer.headers ?? {} });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, sent };
}

const JOB = {
  kind: 'job',
  metadata: { id: 'j1', name: 'digits', create_time: 1700000000000 },
  status: { phase: 'Running', secondary_phase: 'Running', duration: 10, start_time: 1700000001000, tasks: ['worker-0'] },
  algorithm: { code_dir: 'obs://b/code/', boot_file: 'obs://b/code/train.py', engine: { engine_name: 'PyTorch', engine_version: 'v1' }, environments: [{ A: '1' }, { B: '2' }] },
  spec: { resource: { flavor_id: 'modelarts.vm.cpu.2u', node_count: 1 } },
  some_future_field: { tolerated: true },
};

const get = (operation = 'ShowTrainingJobDetails') => ({ operation, method: 'GET' as const, url: 'https://modelarts.cn-north-4.myhuaweicloud.com/v2/p/training-jobs/j1' });
const fast = { retries: 3, baseDelayMs: 1, maxDelayMs: 5 };

describe('the ModelArts HTTP client', function () {
  it('parses answers with zod, tolerating unknown fields and naming a missing one', async function () {
    const ok = scripted([{ status: 200, body: JOB }]);
    const job = jobFromCloud(await new HttpClient({ authenticator: auth, fetch: ok.fetch }).call(get(), cloudJobSchema));
    assert.equal(job.metadata.id, 'j1');
    assert.deepEqual(job.algorithm.environments, { A: '1', B: '2' }, 'environments as an array of maps, merged');
    const { id: _id, ...withoutId } = JOB.metadata;
    const bad = scripted([{ status: 200, body: { ...JOB, metadata: withoutId } }]);
    await assert.rejects(new HttpClient({ authenticator: auth, fetch: bad.fetch }).call(get(), cloudJobSchema), (error: unknown) => {
      assert.ok(error instanceof ProtocolError, String(error));
      assert.match(error.message, /ShowTrainingJobDetails/);
      assert.match(error.message, /metadata\.id/);
      return true;
    });
  });

  it('signs each attempt and retries throttling and 5xx on idempotent calls, honouring Retry-After', async function () {
    const { fetch, sent } = scripted([
      { status: 429, body: { error_code: 'APIG.0308', error_msg: 'The throttling threshold has been reached' }, headers: { 'retry-after': '0.05' } },
      { status: 500, body: { error_code: 'ModelArts.0010', error_msg: 'internal' } },
      { status: 200, body: JOB },
    ]);
    const retries: number[] = [];
    const client = new HttpClient({ authenticator: auth, fetch, retry: fast, onRetry: (_op, _n, delay) => retries.push(delay) });
    const started = Date.now();
    await client.call(get(), cloudJobSchema);
    assert.equal(sent.length, 3);
    assert.ok(retries[0] !== undefined && retries[0] >= 50, `Retry-After honoured: ${retries.join(', ')}`);
    assert.ok(Date.now() - started >= 50);
    for (const request of sent) {
      assert.match(request.headers.Authorization ?? '', /^SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=[a-z;-]+, Signature=[0-9a-f]{64}$/);
      assert.ok(!('Host' in request.headers) && !('host' in request.headers), 'Host comes from the URL');
    }
  });

  it('never repeats a POST that is not idempotent, and gives up after its retries', async function () {
    const create = scripted([{ status: 503, body: { error_code: 'ModelArts.2951', error_msg: 'busy' } }]);
    await assert.rejects(
      new HttpClient({ authenticator: auth, fetch: create.fetch, retry: fast }).send({ operation: 'CreateTrainingJob', method: 'POST', url: 'https://x.example.com/v2/p/training-jobs', body: {} }),
      (error: unknown) => error instanceof ModelArtsApiError && error.status === 503,
    );
    assert.equal(create.sent.length, 1);
    const storm = scripted(Array.from({ length: 4 }, () => ({ status: 429, body: { error_code: 'APIG.0308', error_msg: 'slow down' } })));
    await assert.rejects(new HttpClient({ authenticator: auth, fetch: storm.fetch, retry: fast }).call(get(), cloudJobSchema), /throttling this account/);
    assert.equal(storm.sent.length, 4, 'one try and three retries');
    const reset = scripted([{ status: 0, reset: true }, { status: 200, body: JOB }]);
    await new HttpClient({ authenticator: auth, fetch: reset.fetch, retry: fast }).call(get(), cloudJobSchema);
    assert.equal(reset.sent.length, 2, 'a reset GET is sent again');
    const lost = scripted([{ status: 0, reset: true }]);
    await assert.rejects(
      new HttpClient({ authenticator: auth, fetch: lost.fetch, retry: fast }).send({ operation: 'CreateTrainingJob', method: 'POST', url: 'https://x.example.com/v2/p/training-jobs', body: {} }),
      (error: unknown) => error instanceof ServiceUnreachableError && /connection was reset/.test(error.message),
    );
  });

  it('re-signs once with the server clock after a stale request time, and says so when it is refused again', async function () {
    const serverTime = new Date(Date.now() + 30 * 60_000);
    const stale = { status: 401, body: { error_code: 'APIG.0301', error_msg: 'Incorrect IAM authentication information: signature expired' }, headers: { date: serverTime.toUTCString() } };
    const { fetch, sent } = scripted([stale, { status: 200, body: JOB }]);
    const client = new HttpClient({ authenticator: auth, fetch });
    await client.call(get(), cloudJobSchema);
    assert.equal(sent.length, 2);
    const date = (request: { headers: Record<string, string> }) => request.headers['X-Sdk-Date'] ?? '';
    assert.ok(date(sent[1] as never) > date(sent[0] as never), 'the second request carries the server\'s later time');
    assert.ok(Math.abs(client.clockOffset - 30 * 60_000) < 5000);
    const twice = scripted([stale, { ...stale, headers: { date: new Date(Date.now() + 60 * 60_000).toUTCString() } }]);
    await assert.rejects(new HttpClient({ authenticator: auth, fetch: twice.fetch }).call(get(), cloudJobSchema), (error: unknown) => error instanceof CredentialsRefusedError && /clock/.test(error.message));
    assert.equal(twice.sent.length, 2, 're-signed once, not again');
  });

  it('keeps the secret key, tokens and signatures out of every message', async function () {
    const echo = scripted([{ status: 401, body: { error_code: 'APIG.0301', error_msg: `verify aksk signature fail, sk ${SK}, Signature=${'a'.repeat(64)}` } }]);
    await assert.rejects(new HttpClient({ authenticator: auth, fetch: echo.fetch }).call(get(), cloudJobSchema), (error: unknown) => {
      assert.ok(error instanceof CredentialsRefusedError);
      assert.ok(!error.message.includes(SK) && !error.message.includes('a'.repeat(64)), error.message);
      assert.match(error.message, /secret access key \(SK\) does not match/);
      return true;
    });
    const other = scripted([{ status: 400, body: { error_code: 'ModelArts.9999', error_msg: `odd ${SK}` } }]);
    await assert.rejects(new HttpClient({ authenticator: auth, fetch: other.fetch }).call(get(), cloudJobSchema), (error: unknown) => {
      assert.match(String(error), /HTTP 400 ModelArts\.9999: odd \[redacted\]/, 'an unknown code verbatim with the status, the secret redacted');
      return true;
    });
  });

  it('reaches the network with a cancel: the request is aborted and nothing is retried', async function () {
    const controller = new AbortController();
    const fetch = ((_url: URL, init: RequestInit) =>
      new Promise((_, reject) => {
        const abort = () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        if (init.signal?.aborted) abort();
        else init.signal?.addEventListener('abort', abort);
      })) as unknown as typeof globalThis.fetch;
    const pending = new HttpClient({ authenticator: auth, fetch }).call({ ...get(), signal: controller.signal }, cloudJobSchema);
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, (error: unknown) => isCancellation(error));
  });
});

describe('the ModelArts log tail', function () {
  /** A log growing by `steps`, shown through a preview window of `window` bytes. */
  function growing(steps: string[], window: number) {
    let full = Buffer.alloc(0);
    let fullReads = 0;
    const source: LogSource = {
      preview: async () => {
        const next = steps.shift();
        if (next !== undefined) full = Buffer.concat([full, Buffer.from(next)]);
        const shown = full.subarray(Math.max(0, full.length - window));
        return { content: shown.toString('utf8'), current_size: shown.length, full_size: full.length };
      },
      fullLog: async () => {
        fullReads += 1;
        return full;
      },
      ended: async () => steps.length === 0,
    };
    return { source, fullReads: () => fullReads };
  }

  it('emits each line once and in order as the window slides past what was read, whole characters only', async function () {
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i} ${'é'.repeat(i % 5)}`);
    const text = lines.join('\n') + '\nlast without newline';
    const steps: string[] = [];
    // Some steps grow the log by more than the window holds, some by less.
    for (let at = 0, size = 20; at < text.length; at += size, size = size === 20 ? 90 : 20) steps.push(text.slice(at, at + size));
    const { source, fullReads } = growing(steps, 48);
    const got: string[] = [];
    for await (const batch of tailLog(source, { intervalMs: 0 })) got.push(...batch);
    assert.deepEqual(got, [...lines, 'last without newline']);
    assert.ok(fullReads() > 0, 'the whole log was read when the window had moved on');
  });

  it('reads a whole log from the preview when it holds all of it, else from the link', async function () {
    const small = growing(['a\nb\n'], 100);
    assert.equal(await readWholeLog(small.source), 'a\nb\n');
    assert.equal(small.fullReads(), 0);
    const big = growing(['x'.repeat(300) + '\n'], 100);
    assert.equal((await readWholeLog(big.source)).length, 301);
    assert.equal(big.fullReads(), 1);
  });

  it('writes event times with milliseconds and the offset with a colon', function () {
    assert.equal(eventTime('2022-11-26T16:03:41+08:00'), '2022-11-26T16:03:41.000+08:00');
    assert.equal(eventTime('2022-11-26T16:03:41.5Z'), '2022-11-26T16:03:41.500+00:00');
    assert.equal(eventTime('2022-11-26T16:03:41.123456+0800'), '2022-11-26T16:03:41.123+08:00');
  });
});
