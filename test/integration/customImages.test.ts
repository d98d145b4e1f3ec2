/**
 * Custom images against a real Docker engine: real builds FROM the preset image (no registry here,
 * so nothing else can be a base), real cancellation, real checks in throwaway containers.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { CancelledError, InvalidInputError } from '../../src/core/errors';
import { CUSTOM_IMAGE_LABEL, ImageBuildError, buildCustomImage, checkTrainingImage, imageTagProblem } from '../../src/backends/local/customImages';
import { makeFolder, removeFolders } from '../support/jobs';

const docker = new Docker();
const PRESET_IMAGE = 'modelarts-training/pytorch:1.13-cpu';
const run = crypto.randomBytes(4).toString('hex');
const tagOf = (name: string) => `modelarts-test/custom-${name}-${run}:1`;

describe('customImages: building and checking custom training images (real Docker)', function () {
  let presetId: string;
  /** Tags and intermediate layer IDs this suite made, removed in after(). */
  const images: string[] = [];

  /** Builds, remembering every layer the build made so after() can remove it, even when the build fails. */
  async function build(options: Parameters<typeof buildCustomImage>[1]): Promise<{ result?: Awaited<ReturnType<typeof buildCustomImage>>; error?: unknown; lines: string[] }> {
    const lines: string[] = [];
    images.push(options.tag);
    try {
      const result = await buildCustomImage(docker, {
        ...options,
        onLog: (line) => {
          lines.push(line);
          options.onLog?.(line);
        },
      });
      return { result, lines };
    } catch (error) {
      return { error, lines };
    } finally {
      // Layers this build made; a " ---> Using cache" layer may belong to someone else's build.
      let cached = false;
      for (const line of lines) {
        if (line === ' ---> Using cache') cached = true;
        const id = /^ ---> ([0-9a-f]{12})$/.exec(line)?.[1];
        if (id) {
          if (!cached && !presetId.includes(id)) images.push(id);
          cached = false;
        }
      }
    }
  }

  before(async function () {
    await docker.ping(); // fails loudly when the engine is not running: `bash scripts/setup.sh test`
    presetId = (await docker.getImage(PRESET_IMAGE).inspect()).Id;
  });

  after(async function () {
    // Newest first: a layer cannot go while a child image still uses it.
    for (const image of images.reverse()) {
      // noprune: untagged parents may be cache layers other builds share.
      await docker.getImage(image).remove({ noprune: true }).catch(() => undefined);
    }
    // Whatever a tag still names (a layer that refused to go first): images built FROM the preset
    // carry its engine labels, and a later suite must not meet them.
    for (const image of images.filter((name) => name.includes(':'))) await docker.getImage(image).remove({ force: true }).catch(() => undefined);
    removeFolders();
  });

  it('builds a good image FROM the preset image, labelled, with log lines, and the check passes', async function () {
    const context = makeFolder('custom-good', {
      Dockerfile: `FROM ${PRESET_IMAGE}\nARG GREETING=unset\nCOPY data/hello.txt /opt/hello.txt\nENV MODELARTS_GREETING=\${GREETING}\nRUN echo "\u001b[32mgreen ${run}\u001b[0m" && cat /opt/hello.txt\n`,
      'data/hello.txt': `hello ${run}\n`,
      'data/secret.key': 'left out by .dockerignore\n',
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.dockerignore': '# comment\n**/*.key\n',
    });
    const started = Date.now();
    const { result, error, lines } = await build({ contextDir: context, tag: tagOf('good'), buildArgs: { GREETING: 'hi' } });
    const buildMs = Date.now() - started;
    assert.ok(result, `the build succeeds: ${String(error)}\n${lines.join('\n')}`);
    assert.match(result.imageId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(result.tag, tagOf('good'));
    assert.ok(lines.includes('Step 1/6 : FROM modelarts-training/pytorch:1.13-cpu'), lines.join('\n'));
    assert.ok(lines.includes(`green ${run}`), `ANSI escapes stripped from RUN output:\n${lines.join('\n')}`);
    assert.ok(lines.includes(`hello ${run}`));

    const inspect = await docker.getImage(tagOf('good')).inspect();
    assert.equal(inspect.Id, result.imageId);
    assert.equal(inspect.Config.Labels?.[CUSTOM_IMAGE_LABEL], '1');
    assert.ok(inspect.Config.Env.includes('MODELARTS_GREETING=hi'), `build arg reached ENV: ${inspect.Config.Env.join(' ')}`);

    // What the context held: the .dockerignore'd key and .git did not reach the daemon.
    fs.writeFileSync(path.join(context, 'probe.Dockerfile'), `FROM ${PRESET_IMAGE}\nCOPY . /ctx\nRUN cd /ctx && find . -type f | sort\n`);
    const probe = await build({ contextDir: context, tag: tagOf('probe'), dockerfile: 'probe.Dockerfile' });
    assert.ok(probe.result, String(probe.error));
    assert.ok(probe.lines.includes('./data/hello.txt'), probe.lines.join('\n'));
    assert.ok(!probe.lines.some((l) => l.includes('secret.key') || l.includes('.git/')), probe.lines.join('\n'));

    const checkStarted = Date.now();
    const check = await checkTrainingImage(docker, tagOf('good'));
    const checkMs = Date.now() - checkStarted;
    assert.deepEqual(check.problems, []);
    assert.equal(check.ok, true);
    assert.deepEqual(check.user, { uid: 1000, gid: 100, name: 'ma-user' });
    console.log(`      build ${buildMs} ms, check ${checkMs} ms`);
  });

  it('rejects a failing RUN step with an error naming the step and the engine message', async function () {
    const context = makeFolder('custom-failing', {
      Dockerfile: `FROM ${PRESET_IMAGE}\nRUN echo before-${run}\nRUN ls /no-such-folder-${run}\nRUN echo never\n`,
    });
    const { error, lines } = await build({ contextDir: context, tag: tagOf('failing') });
    assert.ok(error instanceof ImageBuildError, `an ImageBuildError, got ${String(error)}`);
    assert.equal(error.step, `Step 3/5 : RUN ls /no-such-folder-${run}`);
    assert.match(error.detail, new RegExp(`^The command '/bin/sh -c ls /no-such-folder-${run}' returned a non-zero code: 2$`));
    assert.equal(
      error.message,
      `Building image ${tagOf('failing')} failed at Step 3/5 : RUN ls /no-such-folder-${run} → ${error.detail}`,
    );
    assert.ok(lines.some((l) => l.includes('No such file or directory')), `the step's output reached onLog:\n${lines.join('\n')}`);
    assert.ok(!lines.includes('never'));
    await assert.rejects(docker.getImage(tagOf('failing')).inspect(), (e: unknown) => (e as { statusCode?: number }).statusCode === 404);
  });

  it('rejects bad input with InvalidInputError naming the field, before contacting Docker', async function () {
    const context = makeFolder('custom-invalid', { Dockerfile: `FROM ${PRESET_IMAGE}\n`, 'sub/Other': `FROM ${PRESET_IMAGE}\n` });
    const outside = makeFolder('custom-outside', { Dockerfile: `FROM ${PRESET_IMAGE}\n` });
    fs.symlinkSync(path.join(outside, 'Dockerfile'), path.join(context, 'Linked'));
    const expectInvalid = async (options: Parameters<typeof buildCustomImage>[1], field: string, message: RegExp) => {
      await assert.rejects(buildCustomImage(docker, options), (error: unknown) => {
        assert.ok(error instanceof InvalidInputError, `InvalidInputError, got ${String(error)}`);
        assert.deepEqual(error.fields, [field]);
        assert.match(error.message, message);
        return true;
      });
    };
    await expectInvalid({ contextDir: context, tag: 'My-Image:1' }, 'tag', /tag: must be a Docker image reference .*lowercase.*"My-Image:1"/);
    await expectInvalid({ contextDir: context, tag: 'bad tag' }, 'tag', /tag: must be a Docker image reference/);
    await expectInvalid({ contextDir: context, tag: 'x:' }, 'tag', /tag:/);
    await expectInvalid({ contextDir: context, tag: '' }, 'tag', /tag: is required/);
    await expectInvalid({ contextDir: context, tag: 'ok:1', dockerfile: 'Missing' }, 'dockerfile', /dockerfile: does not exist/);
    await expectInvalid({ contextDir: context, tag: 'ok:1', dockerfile: `../${path.basename(outside)}/Dockerfile` }, 'dockerfile', /must be inside the context folder/);
    await expectInvalid({ contextDir: context, tag: 'ok:1', dockerfile: '/etc/passwd' }, 'dockerfile', /relative to the context folder/);
    await expectInvalid({ contextDir: context, tag: 'ok:1', dockerfile: 'Linked' }, 'dockerfile', /leads outside the context folder/);
    await expectInvalid({ contextDir: context, tag: 'ok:1', dockerfile: 'sub' }, 'dockerfile', /must be a file/);
    await expectInvalid({ contextDir: path.join(context, 'Dockerfile'), tag: 'ok:1' }, 'contextDir', /contextDir: must be a folder/);
    await expectInvalid({ contextDir: path.join(context, 'nope'), tag: 'ok:1' }, 'contextDir', /contextDir: does not exist/);

    for (const good of ['a', 'my-training:1.0', 'registry.local:5000/team/my_image:v1', 'a__b/c.d-e:Tag_1']) {
      assert.equal(imageTagProblem(good), undefined, good);
    }
  });

  it('cancels a running build quickly: the step stops and no build container is left', async function () {
    const context = makeFolder('custom-cancel', {
      Dockerfile: `FROM ${PRESET_IMAGE}\nRUN echo cancel-${run} && sleep 30 && echo slept-${run}\nRUN echo never\n`,
    });
    const controller = new AbortController();
    let abortedAt = 0;
    const building = build({
      contextDir: context,
      tag: tagOf('cancel'),
      signal: controller.signal,
      onLog: (line) => {
        if (line === `cancel-${run}` && !abortedAt) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
    });
    const { error, lines } = await building;
    const cancelMs = Date.now() - abortedAt;
    assert.ok(abortedAt > 0, `the RUN step started:\n${lines.join('\n')}`);
    assert.ok(error instanceof CancelledError, `CancelledError, got ${String(error)}`);
    assert.ok(cancelMs < 10_000, `rejected ${cancelMs} ms after the abort`);

    // The engine notices the dropped connection, kills the step's container and (forcerm) removes it.
    const buildContainers = async () =>
      (await docker.listContainers({ all: true })).filter((c) => c.Command.includes(`cancel-${run}`));
    const deadline = Date.now() + 10_000;
    let left = await buildContainers();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      left = await buildContainers();
    }
    assert.deepEqual(left.map((c) => `${c.Id.slice(0, 12)} ${c.State} ${c.Command}`), [], 'no build container is left');
    assert.ok(Date.now() - abortedAt < 10_000, `the build container was gone ${Date.now() - abortedAt} ms after the abort`);
    await assert.rejects(docker.getImage(tagOf('cancel')).inspect(), (e: unknown) => (e as { statusCode?: number }).statusCode === 404);

    // Already aborted: nothing is sent.
    await assert.rejects(buildCustomImage(docker, { contextDir: context, tag: tagOf('cancel'), signal: AbortSignal.abort() }), CancelledError);
  });

  it('passes the preset image: ma-user with UID 1000 and Python 3.11; a second check is cached', async function () {
    const started = Date.now();
    const check = await checkTrainingImage(docker, PRESET_IMAGE);
    const firstMs = Date.now() - started;
    assert.deepEqual(check, {
      ok: true,
      problems: [],
      user: { uid: 1000, gid: 100, name: 'ma-user' },
      python: { path: '/usr/bin/python', version: check.python?.version },
    });
    assert.match(check.python?.version ?? '', /^3\.11\.\d+$/);

    const again = Date.now();
    const cached = await checkTrainingImage(docker, presetId); // same image by ID
    const secondMs = Date.now() - again;
    assert.equal(cached, check, 'the same result object, from the cache');
    assert.ok(secondMs < 100, `the second check is instant (${secondMs} ms; the first took ${firstMs} ms)`);
    console.log(`      first check ${firstMs} ms, cached ${secondMs} ms`);
  });

  it('reports an image without UID 1000, and one without python/python3 on PATH', async function () {
    const context = makeFolder('custom-nouser', {
      Dockerfile: `FROM ${PRESET_IMAGE}\nUSER root\nRUN userdel ma-user\nENV PATH=/nowhere\n`,
    });
    const { result, error } = await build({ contextDir: context, tag: tagOf('nouser') });
    assert.ok(result, String(error));
    const check = await checkTrainingImage(docker, tagOf('nouser'));
    assert.equal(check.ok, false);
    assert.equal(check.user, undefined);
    assert.equal(check.python, undefined);
    assert.deepEqual(check.problems, [
      'The image has no user with UID 1000; ModelArts runs training as ma-user (UID 1000, GID 100): add `RUN useradd -m -u 1000 -g 100 ma-user`.',
      'Neither python nor python3 is on PATH for UID 1000, so the boot file cannot start: install Python in the image (e.g. `RUN apt-get update && apt-get install -y python3`) or add its folder to PATH with ENV.',
    ]);
  });

  it('reports a missing image as not in the local engine, with no pull', async function () {
    const check = await checkTrainingImage(docker, `modelarts-test/never-built-${run}:1`);
    assert.equal(check.ok, false);
    assert.equal(check.problems.length, 1);
    assert.match(check.problems[0] ?? '', /^The image modelarts-test\/never-built-\w+:1 is not in the local Docker engine, and images cannot be pulled .*build it/);
  });
});
