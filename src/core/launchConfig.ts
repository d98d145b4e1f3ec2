/**
 * `launch.json` configurations of type `modelarts`: the attributes a user writes to debug training
 * code in a dev container, and how they become the training job spec the container (and the job it
 * is promoted to) is built from. Both directions keep the user's words: an error in the spec is
 * reported under the launch attribute it came from (`inputs.data_url`, not
 * `algorithm.inputs[0].remote.obs.obs_url`).
 */
import * as path from 'node:path';
import { z } from 'zod';
import { InvalidInputError, fieldPath, type FieldIssue } from './errors';
import { jobNameSchema, type JobCreateRequest } from './job';

export const DEBUG_TYPE = 'modelarts';

/** Attributes every VS Code debug configuration may carry, whatever its type. */
const GENERIC_ATTRIBUTES = new Set([
  'type',
  'request',
  'name',
  'noDebug',
  'preLaunchTask',
  'postDebugTask',
  'internalConsoleOptions',
  'presentation',
  'debugServer',
  'suppressMultipleSessionWarning',
  'serverReadyAction',
  'windows',
  'linux',
  'osx',
]);

const FLAG_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const FLAG_RULE = 'a letter or "_" followed by up to 63 letters, digits, ".", "-" or "_"';

const flagRecord = <T extends z.ZodType>(value: T, what: string) =>
  z.record(z.string().regex(FLAG_NAME, { error: `names must be ${FLAG_RULE}` }), value, { error: objectOf(what) });

/** The record's own type error in words; its keys' and values' errors keep their messages. */
function objectOf(what: string) {
  return (issue: { code: string }) => (issue.code === 'invalid_type' ? `must be an object of ${what}` : undefined);
}

const path_ = (what: string) => z.string({ error: `must be ${what}` }).min(1, { error: 'must not be empty' });

/** The attributes of a `modelarts` launch configuration; their JSON Schema goes into package.json. */
export const launchAttributesSchema = z.object({
  codeDir: path_('a folder path')
    .describe('Folder of the training code, bind-mounted at ${MA_JOB_DIR}/<folder name> in the dev container (copied there for a job). Default: the workspace folder.')
    .optional(),
  bootFile: path_('a Python file path')
    .describe('The Python file that starts training, inside codeDir (a relative path is relative to codeDir). It receives every input, output and hyperparameter as a --name=value flag.')
    .optional(),
  engine: path_('a preset engine id')
    .describe('Preset engine (AI framework image) id, e.g. pytorch-1.13-cpu. Leave it out to use the only installed one.')
    .optional(),
  image: path_('an image name')
    .describe('A custom image to run instead of a preset engine (it must have Python and a user with UID 1000).')
    .optional(),
  command: path_('a command line')
    .describe('With a custom image and no bootFile: the command that starts training. Run without debugging only.')
    .optional(),
  flavor: path_('a flavor id').describe('Resource flavor (CPU and memory limits), e.g. modelarts.local.cpu.1u2g. Default: the setting modelarts.jobs.defaultFlavor, else the engine\'s.').optional(),
  nodeCount: z
    .literal(1, { error: 'must be 1: the dev container is one node (promote to a training job and raise node_count there to run several)' })
    .describe('Always 1 in the dev container.')
    .optional(),
  hyperparameters: flagRecord(z.union([z.string(), z.number(), z.boolean()], { error: 'must be text, a number or true/false' }), 'hyperparameter values')
    .describe('Hyperparameters, passed to the boot file as --name=value (true as a bare --name flag, false leaves it out).')
    .optional(),
  inputs: flagRecord(path_('a storage URL (obs://, s3://) or a folder path'), 'input locations')
    .describe('Input channels: name → obs:// or s3:// URL, or a folder on this machine. Staged at ${MA_MOUNT_PATH}/inputs/<name>_0 and passed as --<name>=<that path>.')
    .optional(),
  outputs: flagRecord(z.string({ error: 'must be a storage URL, or "" to keep the output with the job' }), 'output locations')
    .describe('Output channels: name → obs:// or s3:// URL the job uploads to ("" keeps it on this machine). Mounted at ${MA_MOUNT_PATH}/outputs/<name>_0. Default: {"train_url": ""}. A debug run keeps its outputs on this machine.')
    .optional(),
  environment: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'names must be letters, digits and "_", not starting with a digit' }), z.string({ error: 'must be text' }), {
      error: objectOf('variable values'),
    })
    .describe('Environment variables added to the MA_* variables ModelArts sets.')
    .optional(),
  justMyCode: z.boolean({ error: 'must be true or false' }).describe('Step only through your own code, not libraries. Default: true.').optional(),
  jobName: jobNameSchema.describe('Name of the training job "Promote to Training Job" creates (made unique). Default: from the boot file.').optional(),
  description: z.string({ error: 'must be text' }).max(256, { error: 'must be at most 256 characters' }).describe('Description of the promoted training job.').optional(),
});
export type LaunchAttributes = z.output<typeof launchAttributesSchema>;

export interface LaunchConfiguration extends LaunchAttributes {
  readonly type: string;
  readonly request: string;
  readonly name: string;
  readonly noDebug?: boolean;
}

export interface LaunchContext {
  /** The workspace folder the configuration belongs to: relative paths are resolved against it. */
  readonly workspaceFolder: string | undefined;
  /** Engine id when the configuration names none (the only installed one). */
  readonly defaultEngine?: string;
  /** Flavor when the configuration names none (the setting). */
  readonly defaultFlavor?: string;
}

/** Parses a configuration as VS Code hands it over (variables substituted); InvalidInputError names each attribute. */
export function parseLaunchConfiguration(value: unknown): LaunchConfiguration {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError('Launch configuration', [{ field: '', message: `must be an object with "type": "${DEBUG_TYPE}"` }]);
  }
  const raw = value as Record<string, unknown>;
  const subject = `Launch configuration "${typeof raw.name === 'string' ? raw.name : '(unnamed)'}"`;
  const issues: FieldIssue[] = [];
  if (raw.type !== DEBUG_TYPE) issues.push({ field: 'type', message: `must be "${DEBUG_TYPE}"` });
  if (raw.request !== 'launch') issues.push({ field: 'request', message: 'must be "launch" (the dev container is started for the session)' });
  const known = new Set(Object.keys(launchAttributesSchema.shape));
  for (const key of Object.keys(raw)) {
    if (!known.has(key) && !GENERIC_ATTRIBUTES.has(key) && !key.startsWith('__')) {
      issues.push({ field: key, message: `is not an attribute of "${DEBUG_TYPE}" configurations; they take ${[...known].join(', ')}` });
    }
  }
  const parsed = launchAttributesSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // A bad record key carries its reason inside.
      const inner = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
      issues.push({ field: fieldPath(issue.path), message: inner ?? issue.message });
    }
  }
  const attributes = parsed.success ? parsed.data : undefined;
  if (attributes) {
    if (attributes.image !== undefined && attributes.engine !== undefined) issues.push({ field: 'image', message: 'give either engine or image, not both' });
    if (attributes.command !== undefined && attributes.image === undefined) issues.push({ field: 'command', message: 'is only used with a custom image (image)' });
    if (attributes.bootFile === undefined && attributes.command === undefined) {
      issues.push({ field: 'bootFile', message: 'is required: the Python file that starts training (or, with a custom image, give command)' });
    }
    const flags = new Map<string, string>();
    for (const kind of ['inputs', 'outputs', 'hyperparameters'] as const) {
      for (const name of Object.keys(attributes[kind] ?? {})) {
        const before = flags.get(name);
        if (before) issues.push({ field: `${kind}.${name}`, message: `"${name}" is already used in ${before}; each flag name may appear once` });
        else flags.set(name, kind);
      }
    }
  }
  if (issues.length || !attributes) throw new InvalidInputError(subject, issues);
  return { ...attributes, type: DEBUG_TYPE, request: 'launch', name: String(raw.name ?? ''), ...(raw.noDebug === true ? { noDebug: true } : {}) };
}

/** `true` → bare flag (empty value); `false` → left out; anything else as text. */
function parameterValue(value: string | number | boolean): string | undefined {
  if (value === true) return '';
  if (value === false) return undefined;
  return String(value);
}

function resolveFrom(base: string | undefined, value: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value; // obs://, s3://, file://
  return base === undefined || path.isAbsolute(value) ? value : path.resolve(base, value);
}

/** A job name from the boot file: `train.py` in `digits` → `digits-train`. */
export function defaultJobName(config: Pick<LaunchAttributes, 'codeDir' | 'bootFile' | 'image'>): string {
  const folder = config.codeDir ? path.basename(config.codeDir.replace(/[\\/]+$/, '')) : '';
  const file = config.bootFile ? path.basename(config.bootFile).replace(/\.py$/, '') : 'job';
  const base = [folder, file].filter(Boolean).join('-').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  return (base || 'job').slice(0, 64);
}

/** The training job spec a configuration stands for: what the dev container runs, and what promotion creates. */
export function jobRequestFromLaunch(config: LaunchConfiguration, context: LaunchContext): JobCreateRequest {
  const base = context.workspaceFolder;
  const givenCodeDir = config.codeDir === undefined ? undefined : resolveFrom(base, config.codeDir);
  // A relative boot file is inside the code folder, as ModelArts reads boot_file.
  const bootFile = config.bootFile === undefined ? undefined : resolveFrom(givenCodeDir ?? base, config.bootFile);
  const codeDir = givenCodeDir ?? base ?? (bootFile !== undefined ? path.dirname(bootFile) : undefined);
  const parameters = Object.entries(config.hyperparameters ?? {}).flatMap(([name, value]) => {
    const text = parameterValue(value);
    return text === undefined ? [] : [{ name, value: text }];
  });
  const inputs = Object.entries(config.inputs ?? {}).map(([name, location]) => ({ name, remote: { obs: { obs_url: resolveFrom(base, location) } } }));
  const outputs = Object.entries(config.outputs ?? { train_url: '' }).map(([name, location]) =>
    location ? { name, remote: { obs: { obs_url: resolveFrom(base, location) } } } : { name },
  );
  const engineId = config.engine ?? context.defaultEngine;
  const engine = config.image !== undefined ? { image_url: config.image } : engineId !== undefined ? { engine_id: engineId } : undefined;
  const flavor = config.flavor ?? context.defaultFlavor;
  return {
    kind: 'job',
    metadata: {
      name: config.jobName ?? defaultJobName({ ...config, ...(codeDir !== undefined ? { codeDir } : {}) }),
      ...(config.description !== undefined ? { description: config.description } : {}),
    },
    algorithm: {
      ...(codeDir !== undefined && (bootFile !== undefined || config.image === undefined) ? { code_dir: codeDir } : {}),
      ...(bootFile !== undefined ? { boot_file: bootFile } : {}),
      ...(config.command !== undefined ? { command: config.command } : {}),
      ...(engine ? { engine } : {}),
      parameters,
      inputs,
      outputs,
      ...(config.environment && Object.keys(config.environment).length ? { environments: { ...config.environment } } : {}),
    },
    spec: { resource: { ...(flavor ? { flavor_id: flavor } : {}), node_count: 1 } },
  };
}

/**
 * The launch attribute a field of the job spec came from, so a problem the engine finds in the
 * spec (`algorithm.inputs[0].remote.obs.obs_url: no folder exists at …`) names what the user wrote
 * (`inputs.data_url`).
 */
export function launchAttributeOf(field: string, request: JobCreateRequest): string {
  const channel = /^algorithm\.(parameters|inputs|outputs)\[(\d+)\]/.exec(field);
  if (channel) {
    const list = channel[1] as 'parameters' | 'inputs' | 'outputs';
    const name = request.algorithm[list]?.[Number(channel[2])]?.name;
    const attribute = list === 'parameters' ? 'hyperparameters' : list;
    return name === undefined ? attribute : `${attribute}.${name}`;
  }
  const direct: ReadonlyArray<readonly [RegExp, string]> = [
    [/^metadata\.name/, 'jobName'],
    [/^metadata\.description/, 'description'],
    [/^algorithm\.code_dir/, 'codeDir'],
    [/^algorithm\.boot_file/, 'bootFile'],
    [/^algorithm\.command/, 'command'],
    [/^algorithm\.engine\.image_url/, 'image'],
    [/^algorithm\.engine/, 'engine'],
    [/^algorithm\.(parameters|inputs|outputs)/, ''],
    [/^algorithm\.environments/, 'environment'],
    [/^spec\.resource\.flavor_id/, 'flavor'],
    [/^spec\.resource\.node_count/, 'nodeCount'],
    [/^algorithm$/, 'bootFile'],
  ];
  for (const [pattern, attribute] of direct) {
    if (!pattern.test(field)) continue;
    if (attribute) return attribute;
    const list = /^algorithm\.(\w+)/.exec(field)?.[1];
    return list === 'parameters' ? 'hyperparameters' : (list ?? field);
  }
  return field;
}

/** Re-words a spec error in launch attributes; other errors pass through unchanged. */
export function inLaunchTerms(error: unknown, config: Pick<LaunchConfiguration, 'name'>, request: JobCreateRequest): unknown {
  if (!(error instanceof InvalidInputError)) return error;
  return new InvalidInputError(
    `Launch configuration "${config.name}"`,
    error.issues.map((issue) => ({ field: launchAttributeOf(issue.field, request), message: issue.message })),
  );
}

/** A configuration debugging one Python file, as offered for the active file and in launch.json's initial configurations. */
export function launchConfigurationFor(options: {
  readonly bootFile: string;
  readonly workspaceFolder: string | undefined;
  readonly engine?: string;
  /** Input channels to offer, e.g. a `data` folder next to the file. */
  readonly inputs?: Readonly<Record<string, string>>;
}): LaunchConfiguration & Record<string, unknown> {
  const { workspaceFolder } = options;
  const relative = workspaceFolder ? path.relative(workspaceFolder, options.bootFile) : undefined;
  const inside = relative !== undefined && !relative.startsWith('..') && !path.isAbsolute(relative);
  const asVariable = (file: string) => {
    if (!workspaceFolder || !inside) return file;
    const rest = path.relative(workspaceFolder, file).split(path.sep).join('/');
    return rest ? `\${workspaceFolder}/${rest}` : '${workspaceFolder}';
  };
  return {
    type: DEBUG_TYPE,
    request: 'launch',
    name: `ModelArts: ${path.basename(options.bootFile)}`,
    codeDir: inside ? '${workspaceFolder}' : path.dirname(options.bootFile),
    bootFile: asVariable(options.bootFile),
    ...(options.engine ? { engine: options.engine } : {}),
    hyperparameters: {},
    ...(options.inputs && Object.keys(options.inputs).length
      ? { inputs: Object.fromEntries(Object.entries(options.inputs).map(([name, folder]) => [name, asVariable(folder)])) }
      : {}),
    outputs: { train_url: '' },
  };
}
