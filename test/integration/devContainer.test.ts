/**
 * Dev containers on a real Docker engine: the digits example debugged through debugpy over the
 * Debug Adapter Protocol (as VS Code does it), a crashing program, a run without the debugger,
 * cancelling a launch, and the sweep of containers whose editor died.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';
import { MA_JOB_DIR, bootArguments } from '../../src/core/contract';
import { CancelledError, type InvalidInputError } from '../../src/core/errors';
import type { JobCreateRequest } from '../../src/core/job';
import { DEV_OWNER_LABEL, listensOn } from '../../src/backends/local/devContainer';
import { LABELS, MANAGED_BY } from '../../src/backends/local/docker';
import { LocalBackend } from '../../src/backends/local/localBackend';
import type { DevContainerOutput } from '../../src/backends/capabilities';
import { attachDebugpy } from '../support/dapClient';
import { DIGITS_DIR, PRESET_ENGINE, jobRequest, makeFolder, recordingLogger, removeFolders } from '../support/jobs';

const docker = new Docker();
const SMALL = 'modelarts.local.cpu.1u2g';
const TRAIN = path.join(DIGITS_DIR, 'train.py');
/** Inside the epoch loop, after an epoch's batches: `epoch` and `total_loss` are set. */
const BREAK_AT = 'train_loss, train_acc = total_loss / len(y_train), correct / len(y_train)';

function lineOf(file: string, text: string): number {
  const index = fs.readFileSync(file, 'utf8').split('\n').findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `${text} is in ${file}`);
  return index + 1;
}

/** A code folder ma-user (UID 1000) can read through the bind mount, as a workspace is. */
function codeFolder(prefix: string, files: Record<string, string>): string {
  const folder = makeFolder(prefix, files);
  fs.chmodSync(folder, 0o755);
  return folder;
}

function digitsRequest(epochs: number): JobCreateRequest {
  return {
    kind: 'job',
    metadata: { name: 'digits-dev' },
    algorithm: {
      code_dir: DIGITS_DIR,
      boot_file: TRAIN,
      engine: PRESET_ENGINE,
      parameters: [{ name: 'epochs', value: String(epochs) }, { name: 'lr', value: '0.01' }],
      inputs: [{ name: 'data_url', remote: { obs: { obs_url: path.join(DIGITS_DIR, 'data') } } }],
      outputs: [{ name: 'train_url' }],
    },
    spec: { resource: { flavor_id: SMALL } },
  };
}

async function devContainersOf(engine: LocalBackend): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.store}=${engine.storeId}`, DEV_OWNER_LABEL] } });
}

describe('Dev containers (real Docker, debugpy)', function () {
  let dataDir: string;
  let engine: LocalBackend;

  before(async function () {
    dataDir = makeFolder('dev-data');
    engine = new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger(), capacity: { cpus: 2, memoryGib: 8 } });
    assert.equal((await engine.connect()).kind, 'available', 'the local engine must reach Docker');
  });

  after(async function () {
    await engine?.devContainers.removeAll();
    engine?.dispose();
    removeFolders();
  });

  it('stops at a breakpoint in train.py with the job\'s paths and variables, runs to the end, and leaves nothing behind', async function () {
    const progress: string[] = [];
    const dev = await engine.devContainers.launch(digitsRequest(2), { debug: true, onProgress: (m) => progress.push(m) });
    try {
      assert.ok(dev.debugPort && dev.debugPort > 0, 'debugpy is published on a port');
      const inspect = await docker.getContainer(dev.containerId).inspect();
      const bindings = inspect.HostConfig.PortBindings?.['5678/tcp'] ?? [];
      assert.deepEqual(bindings.map((b: { HostIp: string }) => b.HostIp), ['127.0.0.1'], 'the port is published on 127.0.0.1 only');
      assert.ok(inspect.HostConfig.Binds?.includes(`${DIGITS_DIR}:${MA_JOB_DIR}/digits`), `the code is bind-mounted: ${inspect.HostConfig.Binds?.join(', ')}`);
      assert.equal(inspect.Config.User, '1000:100');
      assert.deepEqual(dev.command.slice(-bootArguments(dev.job.algorithm).length), bootArguments(dev.job.algorithm), 'the boot file gets the job\'s flags');
      assert.ok(progress.some((m) => /debugpy/.test(m)), `progress was reported: ${progress.join(' | ')}`);

      const line = lineOf(TRAIN, BREAK_AT);
      assert.ok(dev.codeMapping);
      const client = await attachDebugpy(dev.debugPort, { pathMappings: [dev.codeMapping], breakpoints: { [TRAIN]: [line] } });
      try {
        const stopped = await client.waitForEvent('stopped', 90_000);
        assert.equal(stopped.body?.reason, 'breakpoint');
        const threadId = stopped.body?.threadId as number;
        const stack = await client.request('stackTrace', { threadId, levels: 1 });
        const frame = (stack.body?.stackFrames as Array<{ id: number; line: number; source: { path: string } }>)[0];
        assert.equal(frame?.source.path, TRAIN, 'the container path maps back to the workspace file');
        assert.equal(frame?.line, line);
        const scopes = await client.request('scopes', { frameId: frame?.id });
        const locals = (scopes.body?.scopes as Array<{ name: string; variablesReference: number }>).find((s) => s.name === 'Locals');
        const variables = await client.request('variables', { variablesReference: locals?.variablesReference });
        const epoch = (variables.body?.variables as Array<{ name: string; value: string }>).find((v) => v.name === 'epoch');
        assert.equal(epoch?.value, '1', 'the first epoch stops');
        const env = await client.request('evaluate', { expression: "__import__('os').environ['MA_JOB_DIR']", frameId: frame?.id, context: 'repl' });
        assert.equal(env.body?.result, `'${MA_JOB_DIR}'`);

        await client.request('setBreakpoints', { source: { path: TRAIN }, breakpoints: [] });
        await client.request('continue', { threadId });
        // An attached debugpy ends the session with "terminated"; the exit code is the container's.
        await client.waitForEvent('terminated', 120_000);
      } finally {
        client.close();
      }
      assert.equal((await dev.exited).exitCode, 0);
      assert.ok(fs.existsSync(path.join(dev.outputDirs.train_url ?? '', 'checkpoint.pt')), 'the checkpoint is in the output folder');
    } finally {
      await dev.remove();
    }
    assert.deepEqual(await devContainersOf(engine), [], 'no dev container remains');
  });

  it('removes the container of a program that crashes under the debugger', async function () {
    const code = codeFolder('dev-crash', { 'crash.py': 'import sys\nprint("about to fail")\nraise RuntimeError("boom")\n' });
    const request = { ...jobRequest('crash', code, 'crash.py'), spec: { resource: { flavor_id: SMALL } } };
    const dev = await engine.devContainers.launch(request, { debug: true });
    assert.ok(dev.debugPort && dev.codeMapping);
    const client = await attachDebugpy(dev.debugPort, { pathMappings: [dev.codeMapping] });
    try {
      await client.waitForEvent('terminated', 60_000);
      assert.ok(client.output.join('').includes('about to fail'), `the program's output reached the client: ${client.output.join('')}`);
    } finally {
      client.close();
    }
    assert.equal((await dev.exited).exitCode, 1);
    await dev.remove();
    assert.deepEqual(await devContainersOf(engine), []);
  });

  it('runs without the debugger with the MA_* variables and the flags, its output from the first byte', async function () {
    const code = codeFolder('dev-run', {
      'show.py': 'import os, sys\nprint("job dir", os.environ["MA_JOB_DIR"])\nprint("argv", " ".join(sys.argv[1:]))\nprint("to stderr", file=sys.stderr)\n',
    });
    const request = { ...jobRequest('show', code, 'show.py', [{ name: 'epochs', value: '3' }]), spec: { resource: { flavor_id: SMALL } } };
    const output: DevContainerOutput[] = [];
    const dev = await engine.devContainers.launch(request, { onOutput: (o) => output.push(o) });
    assert.equal(dev.debugPort, undefined);
    assert.equal((await dev.exited).exitCode, 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stdout = output.filter((o) => o.stream === 'stdout').map((o) => o.text).join('');
    assert.match(stdout, new RegExp(`job dir ${MA_JOB_DIR}`));
    assert.match(stdout, /argv --train_url=\/home\/ma-user\/modelarts\/outputs\/train_url_0 --epochs=3/);
    assert.match(output.filter((o) => o.stream === 'stderr').map((o) => o.text).join(''), /to stderr/);
    await dev.remove();
    assert.deepEqual(await devContainersOf(engine), []);
  });

  it('stages an obs:// input through the input cache, as the job would', async function () {
    const bucketDir = path.join(dataDir, 'object-store', 'datasets', 'digits');
    fs.mkdirSync(bucketDir, { recursive: true });
    fs.copyFileSync(path.join(DIGITS_DIR, 'data', 'digits.csv.gz'), path.join(bucketDir, 'digits.csv.gz'));
    const code = codeFolder('dev-input', { 'ls.py': 'import os, sys\nprint(sorted(os.listdir(sys.argv[1].split("=", 1)[1])))\n' });
    const request = {
      ...jobRequest('ls', code, 'ls.py'),
      algorithm: { ...jobRequest('ls', code, 'ls.py').algorithm, inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'obs://datasets/digits/' } } }] },
      spec: { resource: { flavor_id: SMALL } },
    };
    const runOnce = async () => {
      const output: string[] = [];
      const dev = await engine.devContainers.launch(request, { onOutput: (o) => output.push(o.text) });
      await dev.exited;
      await new Promise((resolve) => setTimeout(resolve, 200));
      await dev.remove();
      return { preparation: dev.preparation.join('\n'), output: output.join('') };
    };
    const first = await runOnce();
    assert.match(first.preparation, /Input data_url: downloaded 1 files/);
    assert.match(first.output, /\['digits\.csv\.gz'\]/);
    const second = await runOnce();
    assert.match(second.preparation, /is in the input cache \(1 files/);
    assert.deepEqual(await devContainersOf(engine), []);
  });

  it('refuses what a dev container cannot run, naming the field, and creates nothing', async function () {
    const multi = { ...digitsRequest(1), spec: { resource: { flavor_id: SMALL, node_count: 2 } } };
    await assert.rejects(engine.devContainers.launch(multi, { debug: true }), (error: InvalidInputError) => error.fields.includes('spec.resource.node_count'));
    const missing = { ...digitsRequest(1), algorithm: { ...digitsRequest(1).algorithm, boot_file: path.join(DIGITS_DIR, 'nope.py') } };
    await assert.rejects(engine.devContainers.check(missing, { debug: true }), (error: InvalidInputError) => error.fields.includes('algorithm.boot_file'));
    assert.deepEqual(await devContainersOf(engine), []);
  });

  it('cancelling a launch removes what it made', async function () {
    const controller = new AbortController();
    const launching = engine.devContainers.launch(digitsRequest(1), {
      debug: true,
      signal: controller.signal,
      onProgress: (message) => {
        if (/Creating the dev container/.test(message)) setTimeout(() => controller.abort(), 0);
      },
    });
    await assert.rejects(launching, CancelledError);
    assert.deepEqual(await devContainersOf(engine), [], 'the cancelled container was removed');
  });

  it('sweeps dev containers whose editor process is gone, and only those', async function () {
    const make = (owner: string) =>
      docker.createContainer({
        Image: 'modelarts-training/pytorch:1.13-cpu',
        Cmd: ['sleep', '60'],
        Labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.store]: engine.storeId, [DEV_OWNER_LABEL]: owner },
      });
    const hostName = (await import('node:os')).hostname();
    const orphan = await make(`${hostName}:999999`);
    const alive = await make(`${hostName}:${process.pid}`);
    try {
      const removed = await engine.devContainers.sweep();
      assert.equal(removed, 1);
      const left = (await devContainersOf(engine)).map((c) => c.Id);
      assert.deepEqual(left, [alive.id]);
    } finally {
      await orphan.remove({ force: true }).catch(() => undefined);
      await alive.remove({ force: true }).catch(() => undefined);
    }
  });

  it('reads listening sockets from /proc/net/tcp', function () {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:162E 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0',
    ].join('\n');
    assert.equal(listensOn(table, 5678), true);
    assert.equal(listensOn(table.replace(' 0A ', ' 01 '), 5678), false, 'an established connection is not listening');
    assert.equal(listensOn(table, 5679), false);
  });
});

