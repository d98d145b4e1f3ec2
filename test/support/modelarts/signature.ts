/**
 * Server-side check of `SDK-HMAC-SHA256` signatures: the canonical request is rebuilt from what
 * arrived (method, path, query, the headers named in SignedHeaders, the body bytes or the
 * X-Sdk-Content-Sha256 value) with the static helpers of Huawei's official Node signer, so the
 * server agrees with the SDK by construction rather than by a second implementation.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner';

/** The signer's helpers are `protected` in its typings but public at run time. */
interface SignerHelpers {
  CanonicalURI(path: string): string;
  CanonicalQueryString(request: { queryParams: Record<string, string | string[]> }): string;
  buildCanonicalHeaders(headers: Record<string, string>): string;
  buildCanonicalRequest(method: string, uri: string, query: string, headers: string, signedHeaders: string, payloadHash: string): string;
  getStringToSign(algorithm: string, date: string, canonicalRequestHash: string): string;
  hmacSHA256(secretKey: string, text: string): string;
  Hex(text: string): string;
}

const signer = AKSKSigner as unknown as SignerHelpers;

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface ParsedAuthorization {
  readonly accessKey: string;
  /** The SignedHeaders value exactly as sent. */
  readonly signedHeaderList: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/**
 * `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`; the older
 * `Credential=AK/date//service/sdk_request` form of the reference's header table is read too.
 */
export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const match = /^SDK-HMAC-SHA256\s+(.*)$/.exec(value.trim());
  if (!match?.[1]) return undefined;
  const parts = new Map<string, string>();
  for (const part of match[1].split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKey = parts.get('Access') ?? parts.get('Credential')?.split('/')[0];
  const signedHeaderList = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (!accessKey || !signedHeaderList || !signature) return undefined;
  return { accessKey, signedHeaderList, signedHeaders: signedHeaderList.split(';').filter(Boolean), signature };
}

/** `20191115T033655Z` → epoch ms, or undefined if it is not in that form. */
export function parseSdkDate(value: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const time = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(time) ? undefined : time;
}

export function formatSdkDate(time: number): string {
  return new Date(time).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export interface ArrivedRequest {
  readonly method: string;
  /** The path as it came over the wire (percent-encoding kept), without the query. */
  readonly rawPath: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Query parameters as the signer takes them: name → value, or all values of a repeated name. */
function queryParams(query: URLSearchParams): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name);
    params[name] = values.length === 1 ? (values[0] as string) : values;
  }
  return params;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The canonical requests the client may have signed: the Node SDK encodes path segments as given,
 * the Python SDK decodes them first. Both agree for plain ModelArts paths.
 */
export function canonicalRequests(request: ArrivedRequest, auth: ParsedAuthorization): string[] {
  const signedHeaders: Record<string, string> = {};
  for (const name of auth.signedHeaders) signedHeaders[name] = headerValue(request.headers, name) ?? '';
  const contentSha = headerValue(request.headers, 'x-sdk-content-sha256');
  const payloadHash = contentSha ?? createHash('sha256').update(request.rawBody).digest('hex');
  const query = signer.CanonicalQueryString({ queryParams: queryParams(request.query) });
  // The Node SDK orders the header block by localeCompare, other signers by the SignedHeaders order.
  const headerBlocks = new Set([
    signer.buildCanonicalHeaders(signedHeaders),
    auth.signedHeaders.map((name) => `${name}:${signedHeaders[name] ?? ''}\n`).join(''),
  ]);
  const decodedPath = request.rawPath.split('/').map(safeDecode).join('/');
  const uris = new Set([signer.CanonicalURI(request.rawPath), signer.CanonicalURI(decodedPath)]);
  return [...uris].flatMap((uri) =>
    [...headerBlocks].map((headers) => signer.buildCanonicalRequest(request.method, uri, query, headers, auth.signedHeaderList, payloadHash)),
  );
}

/** True when `auth.signature` is the HMAC of one of the request's canonical forms under `secretKey`. */
export function signatureMatches(request: ArrivedRequest, auth: ParsedAuthorization, secretKey: string, sdkDate: string): boolean {
  const received = Buffer.from(auth.signature, 'utf8');
  return canonicalRequests(request, auth).some((canonical) => {
    const stringToSign = signer.getStringToSign(SIGNING_ALGORITHM, sdkDate, signer.Hex(canonical));
    const expected = Buffer.from(signer.hmacSHA256(secretKey, stringToSign), 'utf8');
    return expected.length === received.length && timingSafeEqual(expected, received);
  });
}

export function signedHeaderMissing(auth: ParsedAuthorization, request: ArrivedRequest): string | undefined {
  return auth.signedHeaders.find((name) => name !== name.toLowerCase() || headerValue(request.headers, name) === undefined);
}
