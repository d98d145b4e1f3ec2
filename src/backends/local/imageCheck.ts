/**
 * Whether an image keeps the ModelArts custom-image contract (ma-user with UID 1000 / GID 100, a
 * Python on PATH) before a job runs in it: a short container runs the check as the job would.
 */
import type Docker from 'dockerode';
import { z } from 'zod';
import { MA_USER, MA_USER_GID, MA_USER_UID } from '../../core/contract';
import { dockerErrorMessage, isDockerStatus, parseDocker } from './docker';

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
