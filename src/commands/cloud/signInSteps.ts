/**
 * The steps of Sign In to ModelArts, with Back and a total that never changes: the region (or
 * another ModelArts cloud by region id and domain), how to sign in (access keys, an IAM user, or
 * keys found in KooCLI's profiles or the environment, offered and never read silently), the
 * secrets in hidden boxes, and the OBS folder for code uploads.
 */
import type { ModelArtsConfig, ModelArtsCredentials } from '../../backends/modelarts/config';
import { modelArts } from '../../cloud/modelartsModule';
import { findKeySources, type KeySource } from '../../cloud/keySources';
import { BACK, inputStep, pickStep, runSteps, textStep, type Step } from '../multiStep';

/** Huawei Cloud's regions with ModelArts training, as the console names them. */
export const REGIONS: ReadonlyArray<{ readonly id: string; readonly name: string }> = [
  { id: 'cn-north-4', name: 'CN North-Beijing4' },
  { id: 'cn-north-9', name: 'CN North-Ulanqab1' },
  { id: 'cn-east-3', name: 'CN East-Shanghai1' },
  { id: 'cn-south-1', name: 'CN South-Guangzhou' },
  { id: 'cn-southwest-2', name: 'CN Southwest-Guiyang1' },
  { id: 'ap-southeast-1', name: 'AP-Hong Kong' },
  { id: 'ap-southeast-2', name: 'AP-Bangkok' },
  { id: 'ap-southeast-3', name: 'AP-Singapore' },
  { id: 'af-south-1', name: 'AF-Johannesburg' },
  { id: 'la-north-2', name: 'LA-Mexico City2' },
  { id: 'sa-brazil-1', name: 'LA-Sao Paulo1' },
  { id: 'tr-west-1', name: 'TR-Istanbul' },
  { id: 'me-east-1', name: 'ME-Riyadh' },
];

const AK_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$/;

export interface SignInState {
  region: string;
  /** Another ModelArts cloud: endpoints are https://<service>.<region>.<domain>. */
  custom: boolean;
  domain: string;
  method: 'keys' | 'user' | 'found';
  found: KeySource | undefined;
  accessKey: string;
  secretKey: string;
  domainName: string;
  userName: string;
  password: string;
  keepPassword: boolean;
  codeLocation: string;
}

export function initialSignIn(config?: Partial<ModelArtsConfig>): SignInState {
  const known = REGIONS.some((r) => r.id === config?.region);
  return {
    region: config?.region ?? '',
    custom: config?.region !== undefined && (!known || (config.domain ?? 'myhuaweicloud.com') !== 'myhuaweicloud.com'),
    domain: config?.domain ?? 'myhuaweicloud.com',
    method: 'keys',
    found: undefined,
    accessKey: '',
    secretKey: '',
    domainName: '',
    userName: '',
    password: '',
    keepPassword: false,
    codeLocation: config?.codeLocation ?? '',
  };
}

function settingProblem(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    const issue = (error as { issues?: ReadonlyArray<{ message: string }> }).issues?.[0];
    return issue?.message ?? (error instanceof Error ? error.message : String(error));
  }
}

/** A hidden box for a secret, never prefilled (Back and a second try ask for it again). */
function secretStep(field: 'secretKey' | 'password', applies: (state: SignInState) => boolean, label: string, prompt: string, empty: string): Step<SignInState> {
  return {
    applies,
    run: async (state, position) => {
      const value = await inputStep({ position, label, prompt, password: true, validate: (v) => (v ? undefined : empty) });
      if (value === BACK) return BACK;
      state[field] = value;
      return undefined;
    },
  };
}

const steps: ReadonlyArray<Step<SignInState>> = [
  {
    run: async (state, position) => {
      const items = [
        ...REGIONS.map((r) => ({ label: r.name, description: r.id, id: r.id as string | undefined })),
        { label: 'Another ModelArts cloud…', description: 'region id and domain', id: undefined },
      ];
      const picked = await pickStep({ position, label: 'Region', placeholder: 'The region whose ModelArts runs your jobs', items, active: items.find((i) => i.id === state.region) });
      if (picked === BACK) return BACK;
      state.custom = picked.id === undefined;
      if (picked.id) {
        state.region = picked.id;
        state.domain = 'myhuaweicloud.com';
      }
      return undefined;
    },
  },
  {
    applies: (state) => state.custom,
    ...textStep<SignInState>('region', { label: 'Region id', prompt: 'The region id, such as eu-west-101', validate: (v) => settingProblem(() => modelArts().resolveConfig({ region: v.trim() })) }),
  },
  {
    applies: (state) => state.custom,
    ...textStep<SignInState>('domain', {
      label: 'Domain',
      prompt: 'The cloud\'s domain: endpoints are https://modelarts.<region>.<domain> (myhuaweicloud.eu for Huawei Cloud\'s EU site)',
      validate: (v) => settingProblem(() => modelArts().resolveConfig({ region: 'cn-north-4', domain: v.trim() })),
    }),
  },
  {
    run: async (state, position) => {
      const found = findKeySources();
      const items = [
        { label: 'Access keys (AK/SK)', detail: 'My Credentials → Access Keys in the console; recommended', method: 'keys' as const, source: undefined as KeySource | undefined },
        { label: 'IAM user', detail: 'account name, user name and password, exchanged for a token', method: 'user' as const, source: undefined },
        ...found.map((source) => ({ label: `Use ${source.label}`, detail: source.detail, method: 'found' as const, source })),
      ];
      const picked = await pickStep({ position, label: 'How to sign in', items, active: items.find((i) => i.method === state.method && i.source?.label === state.found?.label) });
      if (picked === BACK) return BACK;
      state.method = picked.method;
      state.found = picked.source;
      return undefined;
    },
  },
  {
    applies: (state) => state.method === 'keys',
    ...textStep<SignInState>('accessKey', { label: 'Access key ID', prompt: 'Access key ID (AK), such as QTWAOYTTINDUT2QVKYUC', validate: (v) => (AK_PATTERN.test(v.trim()) ? undefined : 'An access key ID is 8 or more letters and digits, such as QTWAOYTTINDUT2QVKYUC.') }),
  },
  secretStep('secretKey', (state) => state.method === 'keys', 'Secret access key', "Secret access key (SK); kept in VS Code's secret storage only", 'The secret access key must not be empty.'),
  {
    applies: (state) => state.method === 'user',
    ...textStep<SignInState>('domainName', { label: 'Account name', prompt: 'The account (IAM domain) name the user belongs to', validate: (v) => (v.trim() ? undefined : 'The account name must not be empty.') }),
  },
  {
    applies: (state) => state.method === 'user',
    ...textStep<SignInState>('userName', { label: 'IAM user name', validate: (v) => (v.trim() ? undefined : 'The user name must not be empty.') }),
  },
  secretStep('password', (state) => state.method === 'user', 'Password', "The IAM user's password, exchanged for a token", 'The password must not be empty.'),
  {
    applies: (state) => state.method === 'user',
    run: async (state, position) => {
      const items = [
        { label: 'Keep only the token', detail: 'It lasts 24 hours; then sign in again', keep: false },
        { label: 'Keep the password too', detail: "In VS Code's secret storage, to renew the token by itself", keep: true },
      ];
      const picked = await pickStep({ position, label: 'Password', items, active: items.find((i) => i.keep === state.keepPassword) });
      if (picked === BACK) return BACK;
      state.keepPassword = picked.keep;
      return undefined;
    },
  },
  textStep<SignInState>('codeLocation', {
    label: 'Code location',
    prompt: 'OBS folder for uploaded code folders and default outputs, such as obs://my-bucket/modelarts/ (empty: code folders must be obs:// URLs)',
    validate: (v) => (v.trim() ? settingProblem(() => modelArts().parseObsUrl(v.trim(), 'codeLocation', { folder: true })) : undefined),
  }),
];

/** Runs the steps; resolves with the configuration and credentials to verify (a closed step cancels). */
export async function askSignIn(state: SignInState): Promise<{ config: ModelArtsConfig; credentials: ModelArtsCredentials; keepPassword: boolean }> {
  // Closing a step rejects with a cancellation, which the command registry keeps silent.
  await runSteps('Sign In to ModelArts', state, steps);
  const region = state.region.trim() || state.found?.region || '';
  const config: ModelArtsConfig = {
    region,
    ...(state.custom && state.domain.trim() !== 'myhuaweicloud.com' ? { domain: state.domain.trim() } : {}),
    ...(state.found?.projectId && state.found.region === region ? { projectId: state.found.projectId } : {}),
    ...(state.codeLocation.trim() ? { codeLocation: state.codeLocation.trim() } : {}),
  };
  const credentials: ModelArtsCredentials =
    state.method === 'found' && state.found
      ? state.found.credentials
      : state.method === 'user'
        ? { kind: 'password', domainName: state.domainName.trim(), userName: state.userName.trim(), password: state.password }
        : { kind: 'accessKey', accessKey: state.accessKey.trim(), secretKey: state.secretKey };
  return { config, credentials, keepPassword: state.keepPassword };
}
