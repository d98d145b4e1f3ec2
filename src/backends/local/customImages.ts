/**
 * Custom training images: building one from a Dockerfile on the local Docker engine (classic
 * builder; the bundle has no BuildKit), its context packed as .dockerignore says; the check that an
 * image keeps the custom-image contract is in imageCheck.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import tarFs from 'tar-fs';
import { z } from 'zod';
import { CancelledError, type FieldIssue, InvalidInputError, ModelArtsError } from '../../core/errors';
import { LineSplitter, stripAnsi } from '../../core/lines';
import { readIgnoreFile, isIgnored } from '../../storage/ignoreFile';
import { dockerErrorMessage, parseDocker } from './docker';
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

/** The build context as a tar stream: .git always left out, .dockerignore honoured, the Dockerfile always sent. */
function packContext(build: ValidBuild): Readable {
  const rules = readIgnoreFile(build.contextDir, '.dockerignore');
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

export { checkTrainingImage, type ImageCheck } from './imageCheck';
