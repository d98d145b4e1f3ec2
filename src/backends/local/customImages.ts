/**
 * Custom training images: building one from a Dockerfile on the local Docker engine (classic
 * builder; the bundle has no BuildKit), and checking that an image keeps the ModelArts custom-image
 * contract (ma-user with UID 1000 / GID 100, a Python on PATH) before a job runs in it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tarFs from 'tar-fs';
import { z } from 'zod';
import { MA_USER, MA_USER_GID, MA_USER_UID } from '../../core/contract';
import { CancelledError, type FieldIssue, InvalidInputError, ModelArtsError } from '../../core/errors';
import { LineSplitter, stripAnsi } from '../../core/lines';
import { dockerErrorMessage, isDockerStatus, parseDocker } from './docker';
import type { BuiltImage, CustomImageBuild } from '../capabilities';

/** Put on every image this extension builds, so they can be listed (and cleaned up) apart from the user's. */
export const CUSTOM_IMAGE_LABEL = 'org.modelarts-training.custom-image';

export type { BuiltImage, CustomImageBuild } from '../capabilities';

/** A build that the Docker engine ended with an error, naming the Dockerfile step that failed. */
export class ImageBuildError extends ModelArtsError {
  constructor(
    readonly tag: string,
    /** `Step 3/5 : RUN …`, when the failure happened inside a step. */
    readonly step: string | undefined,
    readonly detail: string,
  ) {
    super(`Building image ${tag} failed${step ? ` at ${step}` : ''} → ${detail}`, 'ModelArts.ImageBuildFailed');
  }
}

// ---- Input validation -----------------------------------------------------------------------

const SUBJECT = 'Custom image build';
// The Docker reference grammar (distribution/reference), without digests: an optional registry
// host[:port], lowercase path components, an optional tag.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?)`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?$`);

/** Why `tag` is not a reference Docker accepts for `docker build -t`, or undefined when it is. */
export function imageTagProblem(tag: string): string | undefined {
  if (!tag) return 'is required, as name[:tag] (e.g. my-training:1.0)';
  if (tag !== tag.trim()) return `must not start or end with spaces (got "${tag}")`;
  if (tag.includes('@')) return `cannot contain a digest (got "${tag}"); use name[:tag]`;
  const match = REFERENCE.exec(tag);
  if (!match) {
    const hint = /[A-Z]/.test(tag.split('/').pop() ?? '') ? ' (the name must be lowercase)' : '';
    return `must be a Docker image reference name[:tag] of lowercase letters, digits and . _ - separators, with an optional tag of up to 128 letters, digits, . _ -${hint} (got "${tag}")`;
  }
  if ((match[1] ?? '').length > 255) return `the name must be at most 255 characters (got ${match[1]?.length ?? 0})`;
  return undefined;
}

interface ValidBuild {
  contextDir: string;
  /** Forward slashes, relative to the context. */
  dockerfile: string;
}

function validateBuild(options: CustomImageBuild): ValidBuild {
  const issues: FieldIssue[] = [];
  const tagProblem = imageTagProblem(options.tag);
  if (tagProblem) issues.push({ field: 'tag', message: tagProblem });

  let contextDir: string | undefined;
  if (!options.contextDir) {
    issues.push({ field: 'contextDir', message: 'is required: the folder that holds the Dockerfile and the files it copies' });
  } else {
    try {
      const resolved = fs.realpathSync(path.resolve(options.contextDir));
      if (fs.statSync(resolved).isDirectory()) contextDir = resolved;
      else issues.push({ field: 'contextDir', message: `must be a folder, but ${options.contextDir} is a file` });
    } catch {
      issues.push({ field: 'contextDir', message: `does not exist: ${options.contextDir}` });
    }
  }

  const dockerfile = options.dockerfile ?? 'Dockerfile';
  let relative: string | undefined;
  if (!dockerfile.trim()) {
    issues.push({ field: 'dockerfile', message: 'must not be empty (leave it out to use "Dockerfile")' });
  } else if (path.isAbsolute(dockerfile) || path.win32.isAbsolute(dockerfile)) {
    issues.push({ field: 'dockerfile', message: `must be a path relative to the context folder (got "${dockerfile}")` });
  } else if (contextDir) {
    const full = path.resolve(contextDir, dockerfile);
    const inside = (target: string) => {
      const rel = path.relative(contextDir as string, target);
      return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
    };
    if (!inside(full)) {
      issues.push({ field: 'dockerfile', message: `must be inside the context folder ${contextDir} (got "${dockerfile}")` });
    } else {
      let real: string | undefined;
      try {
        real = fs.realpathSync(full);
      } catch {
        issues.push({ field: 'dockerfile', message: `does not exist: ${full}` });
      }
      if (real !== undefined) {
        if (!inside(real)) {
          issues.push({ field: 'dockerfile', message: `is a link that leads outside the context folder (${real})` });
        } else if (!fs.statSync(real).isFile()) {
          issues.push({ field: 'dockerfile', message: `must be a file, but ${full} is not` });
        } else {
          relative = path.relative(contextDir, full).split(path.sep).join('/');
        }
      }
    }
  }

  if (options.buildArgs) {
    for (const [name, value] of Object.entries(options.buildArgs)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) issues.push({ field: `buildArgs.${name}`, message: 'a build argument name is letters, digits and _' });
      else if (typeof value !== 'string') issues.push({ field: `buildArgs.${name}`, message: 'must be a string' });
    }
  }

  if (issues.length > 0 || !contextDir || relative === undefined) throw new InvalidInputError(SUBJECT, issues);
  return { contextDir, dockerfile: relative };
}

// ---- .dockerignore --------------------------------------------------------------------------

interface IgnoreRule {
  readonly regex: RegExp;
  readonly exception: boolean;
  /** For exceptions: the literal folder prefix before the first wildcard, to know which folders to keep walking. */
  readonly prefix: string;
}

/** Go filepath.Match plus `**`, as Docker's .dockerignore uses it, as a regex over slash-separated paths. */
function patternRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i += 1;
        if (pattern[i + 1] === '/') {
          i += 1;
          out += '(?:.*/)?';
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        out += '\\[';
      } else {
        const body = pattern.slice(i + 1, end);
        const negated = body.startsWith('!') || body.startsWith('^');
        out += `[${negated ? '^' : ''}${(negated ? body.slice(1) : body).replace(/[\\\]]/g, '\\$&')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      i += 1;
      out += (pattern[i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

function readDockerignore(contextDir: string): IgnoreRule[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(contextDir, '.dockerignore'), 'utf8');
  } catch {
    return [];
  }
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const exception = line.startsWith('!');
    if (exception) line = line.slice(1).trim();
    line = path.posix.normalize(line.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (!line || line === '.') continue;
    const wildcard = line.search(/[*?[\\]/);
    rules.push({ regex: patternRegex(line), exception, prefix: wildcard < 0 ? line : line.slice(0, wildcard) });
  }
  return rules;
}

/**
 * Whether the context path `rel` (slash-separated) is left out. As in Docker, the last matching
 * rule wins, and a pattern that matches a folder leaves out everything under it.
 */
function isIgnored(rules: readonly IgnoreRule[], rel: string): boolean {
  const parents: string[] = [];
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i += 1) parents.push(parts.slice(0, i).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (parents.some((candidate) => rule.regex.test(candidate))) ignored = !rule.exception;
  }
  return ignored;
}

/** The build context as a tar stream: .git always left out, .dockerignore honoured, the Dockerfile always sent. */
function packContext(build: ValidBuild): Readable {
  const rules = readDockerignore(build.contextDir);
  const keep = new Set<string>(['.dockerignore', build.dockerfile]);
  const dockerfileParts = build.dockerfile.split('/');
  for (let i = 1; i < dockerfileParts.length; i += 1) keep.add(dockerfileParts.slice(0, i).join('/'));
  const exceptions = rules.filter((rule) => rule.exception);
  return tarFs.pack(build.contextDir, {
    ignore: (name: string) => {
      const rel = path.relative(build.contextDir, name).split(path.sep).join('/');
      if (rel === '' || keep.has(rel)) return false;
      if (path.basename(name) === '.git') return true;
      if (!isIgnored(rules, rel)) return false;
      // An ignored folder is still walked when an exception may bring back something inside it.
      const isDir = (() => {
        try {
          return fs.lstatSync(name).isDirectory();
        } catch {
          return false;
        }
      })();
      return !(isDir && exceptions.some((rule) => rule.prefix === '' || rule.prefix.startsWith(rel + '/') || rel.startsWith(rule.prefix)));
    },
  }) as unknown as Readable;
}

// ---- Building -------------------------------------------------------------------------------

const buildMessageSchema = z.looseObject({
  stream: z.string().optional(),
  status: z.string().optional(),
  id: z.string().optional(),
  progress: z.string().optional(),
  aux: z.looseObject({ ID: z.string().optional() }).optional(),
  error: z.string().optional(),
  errorDetail: z.looseObject({ message: z.string().optional(), code: z.number().optional() }).optional(),
});

const STEP = /^Step \d+\/\d+ : /;

/**
 * Builds `tag` from a Dockerfile in `contextDir` with the Docker engine's classic builder. Rejects
 * with InvalidInputError (before contacting Docker), ImageBuildError (a step failed) or
 * CancelledError (the signal aborted: the request is dropped, so the engine stops the build and
 * removes its intermediate containers).
 */
export async function buildCustomImage(docker: Docker, options: CustomImageBuild): Promise<BuiltImage> {
  const build = validateBuild(options);
  const { tag, signal, onLog } = options;
  const cancelled = () => new CancelledError(`Building image ${tag}`);
  if (signal?.aborted) throw cancelled();

  const context = packContext(build);
  let response: Readable;
  try {
    response = (await docker.buildImage(context, {
      t: tag,
      dockerfile: build.dockerfile,
      labels: { [CUSTOM_IMAGE_LABEL]: '1' },
      ...(options.buildArgs && Object.keys(options.buildArgs).length > 0 ? { buildargs: { ...options.buildArgs } } : {}),
      rm: true,
      forcerm: true,
      ...(signal ? { abortSignal: signal } : {}),
    })) as unknown as Readable;
  } catch (error) {
    context.destroy();
    if (signal?.aborted) throw cancelled();
    throw new ImageBuildError(tag, undefined, dockerErrorMessage(error));
  }

  return new Promise<BuiltImage>((resolve, reject) => {
    const jsonLines = new LineSplitter();
    const outputLines = new LineSplitter();
    let step: string | undefined;
    let imageId: string | undefined;
    let failure: ImageBuildError | undefined;
    let settled = false;

    const emit = (line: string) => {
      const clean = stripAnsi(line);
      if (STEP.test(clean)) step = clean;
      onLog?.(clean);
    };
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    function onAbort() {
      // Dropping the connection is how a classic build is cancelled: the engine kills the step's container.
      response.destroy();
      context.destroy();
      settle(() => reject(cancelled()));
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const handle = (json: string) => {
      if (!json.trim()) return;
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch {
        emit(json);
        return;
      }
      const message = parseDocker(buildMessageSchema, value, 'POST /build');
      if (message.stream !== undefined) {
        for (const line of outputLines.push(message.stream)) emit(line);
      }
      if (message.status !== undefined) {
        emit([message.id, message.status, message.progress].filter(Boolean).join(': '));
      }
      if (message.aux?.ID) imageId = message.aux.ID;
      if (message.error !== undefined || message.errorDetail?.message !== undefined) {
        const rest = outputLines.end();
        if (rest !== undefined) emit(rest);
        const detail = (message.errorDetail?.message ?? message.error ?? '').trim();
        failure ??= new ImageBuildError(tag, step, detail || 'the Docker engine reported an error without a message');
      }
    };

    response.on('data', (chunk: Buffer) => {
      try {
        for (const line of jsonLines.push(chunk)) handle(line);
      } catch (error) {
        response.destroy();
        settle(() => reject(error));
      }
    });
    response.on('error', (error) => {
      if (signal?.aborted) settle(() => reject(cancelled()));
      else settle(() => reject(new ImageBuildError(tag, step, `the connection to the Docker engine failed: ${error.message}`)));
    });
    let ended = false;
    response.on('close', () => {
      if (signal?.aborted) settle(() => reject(cancelled()));
      else if (!ended) settle(() => reject(new ImageBuildError(tag, step, 'the Docker engine closed the connection before the build finished')));
    });
    response.on('end', () => {
      ended = true;
      try {
        const last = jsonLines.end();
        if (last !== undefined) handle(last);
      } catch (error) {
        settle(() => reject(error));
        return;
      }
      const rest = outputLines.end();
      if (rest !== undefined) emit(rest);
      if (failure) {
        const error = failure;
        settle(() => reject(error));
        return;
      }
      // aux.ID is sent by API 1.29+; otherwise ask the engine what the tag now names.
      void (async () => {
        const id = imageId ?? (await docker.getImage(tag).inspect()).Id;
        return id;
      })().then(
        (id) => settle(() => resolve({ imageId: id, tag })),
        (error: unknown) => settle(() => reject(new ImageBuildError(tag, step, `the build ended without an image: ${dockerErrorMessage(error)}`))),
      );
    });
  });
}

// ---- Checking -------------------------------------------------------------------------------

export interface ImageCheck {
  /** True when a training job can run in the image as ModelArts runs it. */
  readonly ok: boolean;
  /** Each says what is wrong and how to fix it. */
  readonly problems: string[];
  /** The user with UID 1000, as /etc/passwd names it. */
  readonly user?: { uid: number; gid: number; name: string };
  /** The first of `python`, `python3` on PATH for UID 1000. */
  readonly python?: { path: string; version: string };
}

const imageInspectSchema = z.looseObject({ Id: z.string() });

const CHECK_TIMEOUT_MS = 60_000;
// Runs as the job would (UID 1000, GID 100), so a Python the user cannot execute counts as missing.
// Shell builtins only: the image's PATH is what is being checked, so grep or head may not be on it.
const CHECK_SCRIPT = [
  'while IFS=: read -r name pw uid gid rest || [ -n "$name" ]; do',
  `  if [ "$uid" = "${MA_USER_UID}" ]; then echo "passwd=$name:$uid:$gid"; break; fi`,
  'done < /etc/passwd',
  'for candidate in python python3; do',
  '  if found=$(command -v "$candidate" 2>/dev/null); then',
  '    echo "python-path=$found"',
  '    echo "python-version=$("$found" --version 2>&1)"',
  '    break',
  '  fi',
  'done',
].join('\n');

const checks = new WeakMap<Docker, Map<string, Promise<ImageCheck>>>();

/**
 * Checks that `image` exists on the Docker engine and keeps the ModelArts custom-image contract.
 * Costs one short container run per image ID; later checks of the same ID come from a cache.
 */
export async function checkTrainingImage(docker: Docker, image: string): Promise<ImageCheck> {
  let imageId: string;
  try {
    imageId = parseDocker(imageInspectSchema, await docker.getImage(image).inspect(), 'GET /images/{name}/json').Id;
  } catch (error) {
    if (isDockerStatus(error, 404)) {
      return {
        ok: false,
        problems: [
          `The image ${image} is not in the local Docker engine, and images cannot be pulled from a registry here: build it from a Dockerfile (FROM a preset image) or load it with \`docker load\`, then try again.`,
        ],
      };
    }
    throw error;
  }
  let cache = checks.get(docker);
  if (!cache) {
    cache = new Map();
    checks.set(docker, cache);
  }
  let check = cache.get(imageId);
  if (!check) {
    check = runImageCheck(docker, imageId);
    cache.set(imageId, check);
    // A failure to run the check (engine gone) is not a fact about the image: do not keep it.
    check.catch(() => cache?.delete(imageId));
  }
  return check;
}

async function runImageCheck(docker: Docker, imageId: string): Promise<ImageCheck> {
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      Image: imageId,
      User: `${MA_USER_UID}:${MA_USER_GID}`,
      Entrypoint: ['/bin/sh', '-c', CHECK_SCRIPT],
      Cmd: [],
      WorkingDir: '/',
      Tty: false,
      AttachStdout: false,
      AttachStderr: false,
      NetworkDisabled: true,
      Labels: { 'org.modelarts-training.image-check': '1' },
      HostConfig: { NetworkMode: 'none' },
    });
  } catch (error) {
    return { ok: false, problems: [`The image cannot be checked: the Docker engine refused a container of it (${dockerErrorMessage(error)}).`] };
  }
  try {
    // 'next-exit': the default 'not-running' answers at once for a container not yet started.
    const exited = container.wait({ condition: 'next-exit' });
    try {
      await container.start();
    } catch (error) {
      const message = dockerErrorMessage(error);
      return {
        ok: false,
        problems: [
          /\/bin\/sh/.test(message)
            ? `The image has no /bin/sh, which ModelArts needs to start training: build it FROM an image with a shell (for example a preset image).`
            : `A container of the image does not start (${message}): fix the image's configuration and build it again.`,
        ],
      };
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CHECK_TIMEOUT_MS)));
    const outcome = await Promise.race([exited, timedOut]).finally(() => clearTimeout(timer));
    if (outcome === 'timeout') {
      return { ok: false, problems: [`Checking the image took over ${CHECK_TIMEOUT_MS / 1000} s: make sure /bin/sh, grep and python start quickly in it.`] };
    }
    const logs = (await container.logs({ stdout: true, stderr: false, follow: false })) as unknown as Buffer;
    return interpretCheck(demuxStdout(logs));
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** Stdout of a non-TTY container's logs: Docker frames each chunk with an 8-byte header. */
function demuxStdout(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    if (stream === 1) parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

function interpretCheck(output: string): ImageCheck {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !values.has(line.slice(0, eq))) values.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const problems: string[] = [];
  let user: ImageCheck['user'];
  const passwd = (values.get('passwd') ?? '').split(':');
  if (passwd.length >= 3 && passwd[1] === String(MA_USER_UID)) {
    user = { uid: MA_USER_UID, gid: Number(passwd[2]), name: passwd[0] ?? '' };
    if (user.gid !== MA_USER_GID) {
      problems.push(
        `The user ${user.name} (UID ${MA_USER_UID}) has primary group GID ${passwd[2]}, but ModelArts runs training as ${MA_USER} (UID ${MA_USER_UID}, GID ${MA_USER_GID}): add \`RUN usermod -g ${MA_USER_GID} ${user.name}\`.`,
      );
    }
  } else {
    problems.push(
      `The image has no user with UID ${MA_USER_UID}; ModelArts runs training as ${MA_USER} (UID ${MA_USER_UID}, GID ${MA_USER_GID}): add \`RUN useradd -m -u ${MA_USER_UID} -g ${MA_USER_GID} ${MA_USER}\`.`,
    );
  }
  let python: ImageCheck['python'];
  const pythonPath = values.get('python-path');
  const versionText = values.get('python-version') ?? '';
  const version = /^Python (\S+)/.exec(versionText)?.[1];
  if (!pythonPath) {
    problems.push(
      `Neither python nor python3 is on PATH for UID ${MA_USER_UID}, so the boot file cannot start: install Python in the image (e.g. \`RUN apt-get update && apt-get install -y python3\`) or add its folder to PATH with ENV.`,
    );
  } else if (!version) {
    problems.push(
      `${pythonPath} is on PATH but does not run for UID ${MA_USER_UID} (${versionText || 'no output'}): make it and its libraries readable and executable for UID ${MA_USER_UID} (e.g. \`RUN chmod -R o+rX\` on the folder Python is installed in).`,
    );
  } else {
    python = { path: pythonPath, version };
  }
  return { ok: problems.length === 0, problems, ...(user ? { user } : {}), ...(python ? { python } : {}) };
}
