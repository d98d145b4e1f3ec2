/**
 * Keys a person already has on this machine, offered at sign-in and never read silently: the
 * profiles of Huawei Cloud's CLI (KooCLI, `~/.hcloud/config.json`) and the environment variables
 * Huawei's SDKs (`HUAWEICLOUD_SDK_AK` …) and Terraform provider (`HW_ACCESS_KEY` …) read. Only
 * what a choice shows (a name, the AK's first characters, a region) leaves this module before the
 * person picks one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { ModelArtsCredentials } from '../backends/modelarts/config';

export interface KeySource {
  /** "KooCLI profile default", "environment (HUAWEICLOUD_SDK_AK)". */
  readonly label: string;
  /** What tells it apart without showing a secret: the AK's first 4 characters, the region. */
  readonly detail: string;
  readonly region: string | undefined;
  readonly projectId: string | undefined;
  readonly credentials: Extract<ModelArtsCredentials, { kind: 'accessKey' }>;
}

const profileSchema = z.looseObject({
  name: z.string(),
  mode: z.string().optional(),
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
  securityToken: z.string().optional(),
  region: z.string().optional(),
  projectId: z.string().optional(),
});
const kooCliSchema = z.looseObject({ current: z.string().optional(), profiles: z.array(z.unknown()).optional() });

/** KooCLI's configuration file (`HCLOUD_CONFIG_PATH` moves it, for tests). */
export function kooCliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.HCLOUD_CONFIG_PATH || path.join(os.homedir(), '.hcloud', 'config.json');
}

function masked(accessKey: string): string {
  return `AK ${accessKey.slice(0, 4)}…`;
}

function kooCliProfiles(file: string): KeySource[] {
  let parsed: z.output<typeof kooCliSchema>;
  try {
    parsed = kooCliSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    return [];
  }
  const sources: KeySource[] = [];
  for (const entry of parsed.profiles ?? []) {
    const profile = profileSchema.safeParse(entry);
    if (!profile.success) continue;
    const { name, accessKeyId, secretAccessKey, securityToken, region, projectId } = profile.data;
    // Encrypted or SSO profiles carry no usable key pair: not offered.
    if (!accessKeyId || !secretAccessKey || !/^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$/.test(accessKeyId)) continue;
    sources.push({
      label: `KooCLI profile ${name}${name === parsed.current ? ' (current)' : ''}`,
      detail: [masked(accessKeyId), region, securityToken ? 'temporary' : undefined].filter(Boolean).join(' · '),
      region: region || undefined,
      projectId: projectId || undefined,
      credentials: { kind: 'accessKey', accessKey: accessKeyId, secretKey: secretAccessKey, ...(securityToken ? { securityToken } : {}) },
    });
  }
  return sources;
}

const ENV_SETS = [
  { ak: 'HUAWEICLOUD_SDK_AK', sk: 'HUAWEICLOUD_SDK_SK', token: 'HUAWEICLOUD_SDK_SECURITY_TOKEN', project: 'HUAWEICLOUD_SDK_PROJECT_ID', region: 'HUAWEICLOUD_SDK_REGION' },
  { ak: 'HW_ACCESS_KEY', sk: 'HW_SECRET_KEY', token: 'HW_SECURITY_TOKEN', project: 'HW_PROJECT_ID', region: 'HW_REGION_NAME' },
] as const;

function environmentKeys(env: NodeJS.ProcessEnv): KeySource[] {
  return ENV_SETS.flatMap((names): KeySource[] => {
    const accessKey = env[names.ak];
    const secretKey = env[names.sk];
    if (!accessKey || !secretKey) return [];
    const token = env[names.token];
    return [
      {
        label: `Environment (${names.ak})`,
        detail: [masked(accessKey), env[names.region], token ? 'temporary' : undefined].filter(Boolean).join(' · '),
        region: env[names.region] || undefined,
        projectId: env[names.project] || undefined,
        credentials: { kind: 'accessKey', accessKey, secretKey, ...(token ? { securityToken: token } : {}) },
      },
    ];
  });
}

/** Every key pair found, KooCLI's profiles first; read when sign-in asks, not before. */
export function findKeySources(env: NodeJS.ProcessEnv = process.env): KeySource[] {
  return [...kooCliProfiles(kooCliConfigPath(env)), ...environmentKeys(env)];
}
