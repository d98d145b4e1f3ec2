/**
 * The AK/SK signer against Huawei's official Node signer (`AKSKSigner` of
 * @huaweicloud/huaweicloud-sdk-core) as the oracle: the signing guide's worked vector, a hand-written
 * table and a seeded generated corpus; then the contract server's verifier, in memory and over HTTP.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials';
import * as fc from 'fast-check';
import {
  EMPTY_PAYLOAD_SHA256,
  canonicalRequest,
  canonicalUri,
  formatSdkDate,
  hashPayload,
  signRequest,
  type RequestToSign,
  type SigningCredentials,
} from '../../src/backends/modelarts/signer';
import { type ArrivedRequest, parseAuthorization, signatureMatches, signedHeaderMissing } from '../support/modelarts/signature';

/** The oracle's static helpers are `protected` in its typings but public at run time. */
const oracle = AKSKSigner as unknown as {
  sign(request: OracleRequest, credential: BasicCredentials): Record<string, string>;
  CanonicalURI(path: string): string;
  CanonicalQueryString(request: { queryParams: QueryParams }): string;
  buildCanonicalHeaders(headers: Record<string, string>): string;
  buildCanonicalRequest(method: string, uri: string, query: string, headers: string, signedHeaders: string, payloadHash: string): string;
  getStringToSign(algorithm: string, date: string, canonicalRequestHash: string): string;
  hmacSHA256(secretKey: string, text: string): string;
  Hex(data: string | Uint8Array): string;
};

type QueryParams = Record<string, string | string[]>;
interface OracleRequest {
  method: string;
  endpoint: string;
  queryParams: QueryParams;
  headers: Record<string, string>;
  data?: unknown;
}

type Body = { kind: 'none' } | { kind: 'json'; data: object } | { kind: 'binary'; bytes: Uint8Array };

/** One request, as our client sends it (`url`) and as the oracle takes it (decoded path and query). */
interface Case {
  readonly title: string;
  readonly method: string;
  readonly url: string;
  readonly endpoint: string;
  readonly queryParams: QueryParams;
  readonly headers: Record<string, string>;
  readonly body: Body;
  readonly credentials: SigningCredentials;
  readonly date: Date;
}

const AK = 'QTWAOYTTINDUT2QVKYUC';
const SK = 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc';
const DATE = new Date(Date.UTC(2019, 10, 15, 3, 36, 55));
const BASE = 'https://modelarts.cn-north-4.myhuaweicloud.com';
const PID = '77b6a44cba5143ab91d13ab9a8ff44fd';
const SEED = 20261203;
const GENERATED = 400;

/** `X-Sdk-Date` written out here, not with the module's own formatter. */
function sdkDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}T${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
}

function ours(c: Case, hashBinary = false): Record<string, string> {
  const request: RequestToSign = {
    method: c.method,
    url: c.url,
    headers: c.headers,
    body: c.body.kind === 'json' ? JSON.stringify(c.body.data) : c.body.kind === 'binary' ? c.body.bytes : undefined,
    unsignedPayload: c.body.kind === 'binary' && !hashBinary,
  };
  return signRequest(request, c.credentials, c.date);
}

/** The headers the oracle signs besides Host: its date spelling, the token and the unsigned-payload marker as the SDK adds them. */
function oracleHeaders(c: Case, unsigned: boolean): Record<string, string> {
  const headers: Record<string, string> = { ...c.headers, 'X-Sdk-Date': sdkDate(c.date) };
  if (c.credentials.securityToken) headers['X-Security-Token'] = c.credentials.securityToken;
  if (unsigned) headers['X-Sdk-Content-Sha256'] = 'UNSIGNED-PAYLOAD';
  return headers;
}

function copyParams(params: QueryParams): QueryParams {
  const copy: QueryParams = Object.create(null) as QueryParams;
  for (const [name, value] of Object.entries(params)) copy[name] = Array.isArray(value) ? [...value] : value;
  return copy;
}

function oracleAuthorization(c: Case): string {
  const credential = new BasicCredentials().withAk(c.credentials.accessKey).withSk(c.credentials.secretKey);
  const request: OracleRequest = {
    method: c.method,
    endpoint: c.endpoint,
    queryParams: copyParams(c.queryParams),
    headers: oracleHeaders(c, c.body.kind === 'binary'),
    // The object itself: the oracle JSON.stringify-s it (a string would be stringified twice).
    ...(c.body.kind === 'json' ? { data: c.body.data } : {}),
  };
  return oracle.sign(request, credential)['Authorization'] ?? '';
}

/** The oracle's own steps over the hashed binary body, which `sign` cannot hash (it would hash the JSON of a Buffer). */
function oracleSignatureOverBytes(c: Case, bytes: Uint8Array): string {
  const headers: Record<string, string> = { ...oracleHeaders(c, false), host: new URL(c.url).host };
  const signedHeaders = Object.keys(headers).map((name) => name.toLowerCase()).sort().join(';');
  const canonical = oracle.buildCanonicalRequest(
    c.method,
    oracle.CanonicalURI(c.endpoint.slice(new URL(c.url).origin.length) || '/'),
    oracle.CanonicalQueryString({ queryParams: copyParams(c.queryParams) }),
    oracle.buildCanonicalHeaders(headers),
    signedHeaders,
    oracle.Hex(bytes),
  );
  return oracle.hmacSHA256(c.credentials.secretKey, oracle.getStringToSign('SDK-HMAC-SHA256', sdkDate(c.date), oracle.Hex(canonical)));
}

const signatureOf = (authorization: string | undefined) => /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')?.[1];

function bodyBytes(c: Case): Buffer {
  return c.body.kind === 'json' ? Buffer.from(JSON.stringify(c.body.data)) : c.body.kind === 'binary' ? Buffer.from(c.body.bytes) : Buffer.alloc(0);
}

/** What the contract server sees of a request sent with these headers: lower-cased names, trimmed values, the raw target. */
function arrived(c: Case, headers: Record<string, string>): ArrivedRequest {
  const url = new URL(c.url);
  const target = url.pathname + url.search;
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value.trim();
  return { method: c.method, rawPath: target.split('?')[0] ?? '/', query: new URL(target, 'http://contract.invalid').searchParams, headers: lower, rawBody: bodyBytes(c) };
}

/** The contract server's check (test/support/modelarts/auth.ts) short of its clock, AK table and lock-out. */
function verifies(request: ArrivedRequest, secretKey: string): boolean {
  const authorization = request.headers['authorization'];
  const auth = typeof authorization === 'string' ? parseAuthorization(authorization) : undefined;
  if (!auth || !auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-sdk-date')) return false;
  if (signedHeaderMissing(auth, request)) return false;
  return signatureMatches(request, auth, secretKey, String(request.headers['x-sdk-date']));
}

// ---- the hand-written table ----

function tableCase(title: string, method: string, url: string, oraclePath: string, queryParams: QueryParams, extra: Partial<Case> = {}): Case {
  const origin = new URL(url).origin;
  return { title, method, url, endpoint: origin + oraclePath, queryParams, headers: { 'content-type': 'application/json' }, body: { kind: 'none' }, credentials: { accessKey: AK, secretKey: SK }, date: DATE, ...extra };
}

const jobs = `/v2/${PID}/training-jobs`;
const TABLE: Case[] = [
  tableCase('the guide vector', 'GET', `https://service.region.example.com/v1/${PID}/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0`, `/v1/${PID}/vpcs`, { limit: '2', marker: '13551d6b-755d-4757-b956-536f674975c0' }),
  tableCase('a JSON search', 'POST', `${BASE}/v2/${PID}/training-job-searches`, `/v2/${PID}/training-job-searches`, {}, { body: { kind: 'json', data: { limit: 10, offset: 0, filters: [{ key: 'phase', operator: 'in', value: ['Running'] }] } } }),
  tableCase('a JSON update', 'PUT', `${BASE}${jobs}/abc`, `${jobs}/abc`, {}, { body: { kind: 'json', data: { description: '中文 😀 "quoted"' } } }),
  tableCase('a JSON patch', 'PATCH', `${BASE}${jobs}/abc`, `${jobs}/abc`, {}, { body: { kind: 'json', data: [] } }),
  tableCase('a delete', 'DELETE', `${BASE}${jobs}/abc`, `${jobs}/abc`, {}, { headers: {} }),
  tableCase('a head', 'HEAD', `${BASE}${jobs}`, jobs, {}),
  tableCase('an options', 'OPTIONS', `${BASE}${jobs}`, jobs, {}),
  tableCase('a GET with the SDK\'s {} body', 'GET', `${BASE}${jobs}`, jobs, {}, { body: { kind: 'json', data: {} } }),
  tableCase('repeated names, values sorted', 'GET', `${BASE}${jobs}?a=2&a=1&b=x`, jobs, { a: ['2', '1'], b: 'x' }),
  tableCase('one name twice with one value', 'GET', `${BASE}${jobs}?a=1&a=1`, jobs, { a: ['1', '1'] }),
  tableCase('a name without a value', 'GET', `${BASE}${jobs}?flag`, jobs, { flag: '' }),
  tableCase('an empty value', 'GET', `${BASE}${jobs}?flag=&a=&a=x`, jobs, { flag: '', a: ['', 'x'] }),
  tableCase('an empty name', 'GET', `${BASE}${jobs}?=x`, jobs, { '': 'x' }),
  tableCase('a plus on the wire is a space', 'GET', `${BASE}${jobs}?q=a+b`, jobs, { q: 'a b' }),
  tableCase('%2B on the wire is a plus', 'GET', `${BASE}${jobs}?q=a%2Bb`, jobs, { q: 'a+b' }),
  tableCase('reserved characters', 'GET', `${BASE}${jobs}?q=%26%3D%2B%2F%3F%23%25%20x`, jobs, { q: '&=+/?#% x' }),
  tableCase('reserved characters in a name', 'GET', `${BASE}${jobs}?a%20b%3D=c&a%26=d`, jobs, { 'a b=': 'c', 'a&': 'd' }),
  tableCase('Chinese and emoji', 'GET', `${BASE}${jobs}?name=%E4%B8%AD%E6%96%87&e=%F0%9F%98%80`, jobs, { name: '中文', e: '😀' }),
  tableCase('names sorted by code unit', 'GET', `${BASE}${jobs}?b=1&a=2&B=3&_=4&~=5`, jobs, { b: '1', a: '2', B: '3', _: '4', '~': '5' }),
  tableCase('a fragment is neither sent nor signed', 'GET', `${BASE}${jobs}?a=1#frag`, jobs, { a: '1' }),
  tableCase('a trailing slash', 'GET', `${BASE}${jobs}/`, `${jobs}/`, {}),
  tableCase('the root path', 'GET', BASE, '/', {}),
  tableCase('a port', 'GET', `https://modelarts.example.com:8443${jobs}?limit=1`, jobs, { limit: '1' }),
  tableCase('an IPv6 host and port', 'GET', `http://[::1]:9000${jobs}`, jobs, {}),
  tableCase('an encoded Chinese segment', 'GET', `${BASE}/v1/%E4%B8%AD%E6%96%87/x`, '/v1/中文/x', {}),
  tableCase('sub-delimiters in a segment', 'GET', `${BASE}/v1/a+b;c=d,e@f:g!$&*()~`, '/v1/a+b;c=d,e@f:g!$&*()~', {}),
  tableCase('a literal percent in a segment', 'GET', `${BASE}/v1/100%2541`, '/v1/100%41', {}),
  tableCase('temporary credentials', 'POST', `${BASE}${jobs}`, jobs, {}, { credentials: { accessKey: AK, secretKey: SK, securityToken: 'gQpjbi1ub3J0aC00jMcX' }, body: { kind: 'json', data: { kind: 'job' } } }),
  tableCase('a binary upload', 'PUT', `${BASE}/bucket/data.bin`, '/bucket/data.bin', {}, { headers: { 'Content-Type': 'application/octet-stream' }, body: { kind: 'binary', bytes: Uint8Array.from([0, 1, 2, 255, 254, 0x7b]) } }),
  tableCase('a project id and more headers', 'GET', `${BASE}${jobs}`, jobs, {}, { headers: { 'Content-Type': 'application/json', 'X-Project-Id': PID, Accept: 'application/json', 'x-language': 'en-us' } }),
];

// ---- the generated corpus ----

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const text = (chars: string, minLength = 0, maxLength = 8) => fc.string({ unit: pick(...chars.split(/(?:)/u)), minLength, maxLength });
const ORIGINS = ['https://modelarts.cn-north-4.myhuaweicloud.com', 'https://obs.eu-west-101.myhuaweicloud.eu:8443', 'http://127.0.0.1:30443', 'http://[::1]:9000'];
/** Characters a path segment may hold that `url.parse` (inside the oracle) passes through unchanged: no space, quotes, braces. */
const SEGMENT_CHARS = 'abcxyzABCXYZ0129-_.~!$&()*+,;=:@%中文é😀ß';
const QUERY_CHARS = 'abcAB019-_.~ &=+/?#%;:@!*\'"中文é😀\u00a0';
const RESERVED = new Set(['host', 'x-sdk-date', 'x-security-token', 'x-sdk-content-sha256', 'authorization', 'content-type']);

const segment = fc.oneof(pick('v2', PID, 'training-jobs', 'tasks', 'worker-0', 'logs'), text(SEGMENT_CHARS, 1)).filter((s) => s !== '.' && s !== '..');
const queryName = fc.oneof(pick('limit', 'offset', 'a', 'A', 'sort_by', 'q', 'q'), text(QUERY_CHARS, 0, 5));
/** Header names whose `localeCompare` order is their code-unit order (letters, digits, `-`), in any case. */
const headerName = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), fc.boolean())
  .filter(([name]) => !RESERVED.has(name))
  .map(([name, upper]) => (upper ? name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()) : name));
const headerValue = text('abcXYZ019 -_.,;:=/"()<>@?*+', 0, 16).map((v) => v.trim());
const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })).map((data) => ({ kind: 'json' as const, data })),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })),
);
const credentials: fc.Arbitrary<SigningCredentials> = fc.record({
  accessKey: fc.stringMatching(/^[A-Z0-9]{20}$/),
  secretKey: fc.stringMatching(/^[A-Za-z0-9]{40}$/),
  securityToken: fc.option(fc.base64String({ minLength: 4, maxLength: 120 }), { nil: undefined }),
}).map((c) => (c.securityToken === undefined ? { accessKey: c.accessKey, secretKey: c.secretKey } : c));

const generatedCase: fc.Arbitrary<Case> = fc
  .record({
    method: pick('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
    origin: pick(...ORIGINS),
    segments: fc.array(segment, { maxLength: 5 }),
    trailingSlash: fc.boolean(),
    query: fc.array(fc.tuple(queryName, text(QUERY_CHARS, 0, 10)), { maxLength: 6 }),
    headers: fc.uniqueArray(fc.tuple(headerName, headerValue), { selector: ([name]) => name.toLowerCase(), maxLength: 4 }),
    contentType: fc.boolean(),
    body,
    credentials,
    date: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
  })
  .map((g): Case => {
    const path = '/' + g.segments.join('/') + (g.trailingSlash && g.segments.length > 0 ? '/' : '');
    const url = new URL(g.origin + '/' + g.segments.map(encodeURIComponent).join('/') + (g.trailingSlash && g.segments.length > 0 ? '/' : ''));
    for (const [name, value] of g.query) url.searchParams.append(name, value);
    const queryParams: QueryParams = Object.create(null) as QueryParams;
    for (const [name, value] of g.query) {
      const seen = queryParams[name];
      queryParams[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    const headers = Object.fromEntries(g.headers);
    if (g.body.kind === 'binary') headers['Content-Type'] = 'application/octet-stream';
    else if (g.contentType || g.body.kind === 'json') headers['content-type'] = 'application/json';
    return { title: url.href, method: g.method, url: url.href, endpoint: g.origin + path, queryParams, headers, body: g.body, credentials: g.credentials, date: g.date };
  });

const CORPUS = [...TABLE, ...fc.sample(generatedCase, { seed: SEED, numRuns: GENERATED })];

describe('AK/SK signer (SDK-HMAC-SHA256)', function () {
  it('reproduces the signing guide\'s worked vector', function () {
    const url = new URL(`https://service.region.example.com/v1/${PID}/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0`);
    const headers = signRequest({ method: 'GET', url, headers: { 'content-type': 'application/json' } }, { accessKey: AK, secretKey: SK }, DATE);
    assert.equal(headers['X-Sdk-Date'], '20191115T033655Z');
    assert.equal(headers['Host'], 'service.region.example.com');
    assert.equal(headers['Authorization'], `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=content-type;host;x-sdk-date, Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe`);
    const { text: canonical } = canonicalRequest('GET', url, { 'content-type': 'application/json', Host: url.host, 'X-Sdk-Date': '20191115T033655Z' }, EMPTY_PAYLOAD_SHA256);
    assert.equal(createHash('sha256').update(canonical).digest('hex'), 'b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a');
  });

  it('formats the date and hashes the payload', function () {
    assert.equal(formatSdkDate(new Date(Date.UTC(2019, 10, 15, 3, 36, 55, 999))), '20191115T033655Z');
    assert.equal(formatSdkDate(new Date(Date.UTC(2026, 0, 2, 4, 5, 6))), '20260102T040506Z');
    for (const empty of [undefined, '', new Uint8Array(0)]) assert.equal(hashPayload(empty), EMPTY_PAYLOAD_SHA256);
    assert.equal(hashPayload('{}'), oracle.Hex('{}'));
    assert.equal(hashPayload('中文'), hashPayload(Buffer.from('中文', 'utf8')));
    assert.equal(hashPayload(Uint8Array.from([0, 255])), createHash('sha256').update(Buffer.from([0, 255])).digest('hex'));
  });

  it(`matches the official signer on ${CORPUS.length} requests (${TABLE.length} written, ${GENERATED} generated with seed ${SEED})`, function () {
    this.timeout(60_000);
    let binary = 0;
    for (const c of CORPUS) {
      assert.equal(ours(c)['Authorization'], oracleAuthorization(c), `${c.method} ${c.title}`);
      if (c.body.kind === 'binary') {
        binary += 1;
        assert.equal(signatureOf(ours(c, true)['Authorization']), oracleSignatureOverBytes(c, c.body.bytes), `hashed bytes: ${c.method} ${c.title}`);
      }
    }
    console.log(`      ${CORPUS.length} requests matched the official signer; ${binary} binary bodies also hashed and matched its helpers`);
  });

  it('keeps matching it on more generated requests (fast-check, shrinking on failure)', function () {
    this.timeout(60_000);
    fc.assert(fc.property(generatedCase, (c) => ours(c)['Authorization'] === oracleAuthorization(c)), { seed: SEED + 1, numRuns: 300 });
  });

  it(`is accepted by the contract server's verifier on the ${CORPUS.length} requests`, function () {
    this.timeout(60_000);
    for (const c of CORPUS) {
      assert.ok(verifies(arrived(c, ours(c)), c.credentials.secretKey), `${c.method} ${c.title}`);
      if (c.body.kind === 'binary') assert.ok(verifies(arrived(c, ours(c, true)), c.credentials.secretKey), `hashed bytes: ${c.title}`);
    }
  });

  it('is accepted over HTTP, with what a Node client really sends', async function () {
    this.timeout(60_000);
    const verdicts: boolean[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        // As contractServer.ts builds what arrived.
        const target = req.url ?? '/';
        const request: ArrivedRequest = { method: req.method ?? 'GET', rawPath: target.split('?')[0] ?? '/', query: new URL(target, 'http://contract.invalid').searchParams, headers: req.headers, rawBody: Buffer.concat(chunks) };
        const key = String(req.headers['x-test-sk']);
        res.writeHead(verifies(request, key) ? 204 : 401).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = new http.Agent({ keepAlive: true });
    try {
      const { port } = server.address() as AddressInfo;
      const sample = CORPUS.filter((_, i) => i < TABLE.length || i % 4 === 0);
      for (const [i, c] of sample.entries()) {
        const url = new URL(c.url);
        // Binary bodies go out hashed and unsigned in turn; the secret rides along, unsigned, for this test server only.
        const payload = bodyBytes(c);
        const headers = { ...ours(c, i % 2 === 0), 'X-Test-Sk': c.credentials.secretKey, 'Content-Length': String(payload.length) };
        const status = await new Promise<number>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port, method: c.method, path: url.pathname + url.search, headers, agent }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(payload);
        });
        verdicts.push(status === 204);
        assert.equal(status, 204, `${c.method} ${c.title}`);
      }
    } finally {
      agent.destroy();
      server.close();
    }
    assert.ok(verdicts.length > 100, `${verdicts.length} requests sent`);
  });

  it('changes the signature when any signed part changes, and the verifier then refuses the old one', function () {
    const base = tableCase('base', 'POST', `${BASE}${jobs}?limit=10&sort=asc`, jobs, { limit: '10', sort: 'asc' }, { headers: { 'Content-Type': 'application/json', 'X-Project-Id': PID }, body: { kind: 'json', data: { a: 1 } }, credentials: { accessKey: AK, secretKey: SK, securityToken: 'token-1' } });
    const variants: Array<[string, Partial<Case>]> = [
      ['method', { method: 'PUT' }],
      ['path', { url: `${BASE}${jobs}x?limit=10&sort=asc` }],
      ['path segment case', { url: `${BASE}${jobs.toUpperCase()}?limit=10&sort=asc` }],
      ['query value', { url: `${BASE}${jobs}?limit=11&sort=asc` }],
      ['query name', { url: `${BASE}${jobs}?limit=10&Sort=asc` }],
      ['an added parameter', { url: `${BASE}${jobs}?limit=10&sort=asc&x=` }],
      ['body', { body: { kind: 'json', data: { a: 2 } } }],
      ['header value', { headers: { 'Content-Type': 'application/json', 'X-Project-Id': 'other' } }],
      ['an added header', { headers: { 'Content-Type': 'application/json', 'X-Project-Id': PID, Accept: '*/*' } }],
      ['host port', { url: `${BASE}:8443${jobs}?limit=10&sort=asc` }],
      ['date, one second', { date: new Date(DATE.getTime() + 1000) }],
      ['security token', { credentials: { accessKey: AK, secretKey: SK, securityToken: 'token-2' } }],
      ['secret key', { credentials: { accessKey: AK, secretKey: SK + 'x', securityToken: 'token-1' } }],
    ];
    const baseHeaders = ours(base);
    const baseSignature = signatureOf(baseHeaders['Authorization']);
    assert.ok(verifies(arrived(base, baseHeaders), SK));
    for (const [part, change] of variants) {
      const variant: Case = { ...base, ...change };
      const signed = ours(variant);
      assert.notEqual(signatureOf(signed['Authorization']), baseSignature, part);
      assert.equal(signed['Authorization'], oracleAuthorization({ ...variant, endpoint: variant.url.split('?')[0] ?? '', queryParams: Object.fromEntries(new URL(variant.url).searchParams) }), `oracle: ${part}`);
      // The changed request sent with the original Authorization is refused (an added header lies outside
      // the original SignedHeaders, so the original signature still holds for what it covers).
      const tampered = { ...signed, Authorization: baseHeaders['Authorization'] ?? '' };
      if (part !== 'an added header') assert.ok(!verifies(arrived(variant, tampered), variant.credentials.secretKey), `verifier: ${part}`);
    }
  });

  it('replaces the headers it owns, so a retry signs cleanly, and refuses a header given twice', function () {
    const c = TABLE[1] as Case;
    const first = ours(c);
    const later = new Date(DATE.getTime() + 60_000);
    const retried = signRequest({ method: c.method, url: c.url, headers: { ...first, 'x-sdk-date': 'stale', HOST: 'elsewhere' }, body: JSON.stringify((c.body as { data: object }).data) }, c.credentials, later);
    assert.deepEqual(retried, ours({ ...c, date: later }));
    assert.throws(() => signRequest({ method: 'GET', url: BASE, headers: { Accept: 'a', accept: 'b' } }, c.credentials, DATE), /given twice/);
  });

  it('signs header values trimmed, as the server receives them', function () {
    const c = tableCase('padded', 'GET', `${BASE}${jobs}`, jobs, {}, { headers: { 'X-Project-Id': `  ${PID}\t` } });
    const signed = ours(c);
    assert.equal(signed['X-Project-Id'], PID);
    assert.equal(signed['Authorization'], oracleAuthorization({ ...c, headers: { 'X-Project-Id': PID } }));
  });

  describe('where it parts from the Node SDK on purpose', function () {
    it('decodes a path segment before encoding it; the SDK re-encodes what url.parse escaped', function () {
      const c = tableCase('space', 'GET', `${BASE}/v1/a%20b%22c`, '/v1/a b"c', {});
      assert.equal(canonicalUri(new URL(c.url).pathname), oracle.CanonicalURI('/v1/a b"c'));
      assert.equal(canonicalUri('/v1/a%20b%22c'), '/v1/a%20b%22c/');
      assert.notEqual(ours(c)['Authorization'], oracleAuthorization(c), 'the SDK signs a%2520b%2522c');
      assert.ok(verifies(arrived(c, ours(c)), SK), 'the contract server accepts the decoded form');
    });

    it('orders the header block as SignedHeaders; the SDK uses localeCompare, which disagrees for `_`', function () {
      const c = tableCase('underscore', 'GET', `${BASE}${jobs}`, jobs, {}, { headers: { x_b: '1', xa: '2', 'x-c': '3' } });
      const signed = ours(c);
      assert.match(signed['Authorization'] ?? '', /SignedHeaders=host;x-c;x-sdk-date;x_b;xa,/);
      assert.notEqual(signed['Authorization'], oracleAuthorization(c));
      assert.ok(verifies(arrived(c, signed), SK));
    });
  });
});
