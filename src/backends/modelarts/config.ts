/**
 * What a ModelArts backend is configured with: a region and project, the endpoints (ModelArts, IAM,
 * OBS: Huawei Cloud's by default, any other ModelArts cloud or a test server when given), where
 * code folders are uploaded, and the credentials (AK/SK, temporary or not, or an IAM user). Checked
 * with zod; every problem names the setting and what it allows. Secrets come from SecretStorage
 * through the caller and are never part of a message.
 */
import { z } from 'zod';
import { InvalidInputError, issuesFromZod } from '../../core/errors';
import { parseObsUrl, type ObsLocation } from './obsUrl';

/** Region ids as Huawei Cloud writes them: `cn-north-4`, `ap-southeast-1`, `eu-west-101`. */
const REGION_PATTERN = /^[a-z]{2,}(?:-[a-z0-9]+){1,3}$/;
const DOMAIN_PATTERN = /^(?=.{3,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** https anywhere; plain http only to this machine (a test or a tunnel). */
function endpointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as https://modelarts.cn-north-4.myhuaweicloud.com';
  }
  const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return 'must be an https:// URL (http:// only for 127.0.0.1)';
  if (url.pathname !== '/' || url.search || url.hash) return 'must be the service root, without a path or query';
  return undefined;
}

const endpoint = z.string().superRefine((value, ctx) => {
  const problem = endpointProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const accessKeyCredentialsSchema = z.strictObject({
  kind: z.literal('accessKey'),
  accessKey: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$/, { error: 'must be an access key ID (letters and digits)' }),
  secretKey: z.string().min(1, { error: 'is empty' }),
  /** Temporary credentials (from IAM's securitytokens) carry one. */
  securityToken: z.string().min(1).optional(),
});

export const passwordCredentialsSchema = z.strictObject({
  kind: z.literal('password'),
  /** The account (IAM domain) name. */
  domainName: z.string().min(1, { error: 'is empty: give the account name' }),
  userName: z.string().min(1, { error: 'is empty: give the IAM user name' }),
  password: z.string().min(1, { error: 'is empty' }),
});

/** An IAM token kept instead of the password it was issued for: it works until it expires, then sign in again. */
export const tokenCredentialsSchema = z.strictObject({
  kind: z.literal('token'),
  token: z.string().min(1, { error: 'is empty' }),
  /** Epoch ms. */
  expiresAt: z.number({ error: 'must be a time (epoch ms)' }),
  projectId: z.string().optional(),
});

export const credentialsSchema = z.discriminatedUnion('kind', [accessKeyCredentialsSchema, passwordCredentialsSchema, tokenCredentialsSchema], {
  error: 'must be access keys (kind "accessKey"), an IAM user (kind "password") or an IAM token (kind "token")',
});
export type ModelArtsCredentials = z.output<typeof credentialsSchema>;

export const modelArtsConfigSchema = z.strictObject({
  region: z.string().regex(REGION_PATTERN, { error: 'must be a region id such as cn-north-4 or ap-southeast-1' }),
  /** Found through IAM when left out. */
  projectId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, { error: 'must be a project id: 32 hexadecimal characters' })
    .optional(),
  /** The cloud's domain: Huawei Cloud's by default, `myhuaweicloud.eu` for its EU site. */
  domain: z.string().regex(DOMAIN_PATTERN, { error: 'must be a domain name such as myhuaweicloud.com' }).default('myhuaweicloud.com'),
  endpoints: z.strictObject({ modelarts: endpoint.optional(), iam: endpoint.optional(), obs: endpoint.optional() }).default({}),
  /** The bucket in the path rather than the host: for S3 servers that are not OBS (OBS' own endpoints refuse it). */
  obsPathStyle: z.boolean().default(false),
  /** Where local code folders are uploaded: `obs://bucket/prefix/`. */
  codeLocation: z.string().optional(),
});
export type ModelArtsConfig = z.input<typeof modelArtsConfigSchema>;

export interface ResolvedModelArtsConfig {
  readonly region: string;
  readonly projectId: string | undefined;
  readonly modelartsEndpoint: string;
  readonly iamEndpoint: string;
  readonly obsEndpoint: string;
  readonly obsPathStyle: boolean;
  readonly codeLocation: ObsLocation | undefined;
}

/** The setting a config field is kept in, for messages in the user's terms: `modelarts.cloud.accounts[0].region`. */
export function settingOf(field: string, prefix = 'modelarts.cloud'): string {
  return field ? `${prefix}.${field}` : prefix;
}

function trimmed(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Checks the configuration (InvalidInputError naming each setting) and fills in the default endpoints. */
export function resolveConfig(value: unknown, prefix = 'modelarts.cloud'): ResolvedModelArtsConfig {
  const result = modelArtsConfigSchema.safeParse(value);
  if (!result.success) {
    const issues = issuesFromZod(result.error).map((issue) => ({ ...issue, field: settingOf(issue.field, prefix) }));
    throw new InvalidInputError('ModelArts settings', issues);
  }
  const config = result.data;
  let codeLocation: ObsLocation | undefined;
  if (config.codeLocation) {
    try {
      codeLocation = parseObsUrl(config.codeLocation, settingOf('codeLocation', prefix), { folder: true });
    } catch (error) {
      if (error instanceof InvalidInputError) throw new InvalidInputError('ModelArts settings', error.issues);
      throw error;
    }
  }
  const at = (service: string) => `https://${service}.${config.region}.${config.domain}`;
  return {
    region: config.region,
    projectId: config.projectId,
    modelartsEndpoint: trimmed(config.endpoints.modelarts ?? at('modelarts')),
    iamEndpoint: trimmed(config.endpoints.iam ?? at('iam')),
    obsEndpoint: trimmed(config.endpoints.obs ?? at('obs')),
    obsPathStyle: config.obsPathStyle,
    codeLocation,
  };
}

/** Checks credentials (InvalidInputError naming the field, never echoing a secret). */
export function parseCredentials(value: unknown): ModelArtsCredentials {
  const result = credentialsSchema.safeParse(value);
  if (!result.success) throw new InvalidInputError('ModelArts credentials', issuesFromZod(result.error).map(({ field, message }) => ({ field, message })));
  return result.data;
}
