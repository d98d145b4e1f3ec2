import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseStoreUrl, formatStoreUrl } from '../../src/core/dataset';
import { InvalidInputError } from '../../src/core/errors';
import { LOCAL_FLAVORS, costHint, costOfBilling, defaultFlavor, flavorsThatFit } from '../../src/core/flavors';
import { parseJobCreateRequest } from '../../src/core/job';
import type { PresetEngine } from '../../src/core/presetEngines';
import { dockerOptions, reportedGpus } from '../../src/backends/local/docker';
import { planLocalJob, type PlanContext } from '../../src/backends/local/jobPlanner';
import { FolderStore } from '../../src/storage/folderStore';
import { createStoreResolver } from '../../src/storage/storeResolver';
import { makeFolder, removeFolders } from '../support/jobs';

const GIB = 1024 ** 3;

describe('store URLs', function () {
  it('accepts obs://, s3:// and file:// locations', function () {
    assert.deepEqual(parseStoreUrl('obs://my-bucket/data/digits/', 'f'), { scheme: 'obs', bucket: 'my-bucket', key: 'data/digits/' });
    assert.deepEqual(parseStoreUrl('s3://b12/x', 'f'), { scheme: 's3', bucket: 'b12', key: 'x' });
    assert.deepEqual(parseStoreUrl('file:///data/my%20set/', 'f'), { scheme: 'file', path: '/data/my set/' });
    assert.equal(formatStoreUrl(parseStoreUrl('obs://my-bucket/a/', 'f')), 'obs://my-bucket/a/');
  });

  it('refuses what could escape or is not a store', function () {
    for (const bad of ['http://x/y', 'obs://UPPER/x', 'obs://bucket/../etc', 'obs://b/./x', 'file://relative/path', 'obs://ab']) {
      assert.throws(
        () => parseStoreUrl(bad, 'algorithm.inputs[0].remote.obs.obs_url'),
        (error: unknown) => error instanceof InvalidInputError && error.fields[0] === 'algorithm.inputs[0].remote.obs.obs_url',
        bad,
      );
    }
  });
});

describe('local flavors', function () {
  it('offers only flavors that fit the machine, and a default that leaves half of it free', function () {
    const laptop = { cpus: 2, memoryBytes: 7.6 * GIB };
    assert.deepEqual(flavorsThatFit(laptop).map((f) => f.flavor_id), ['modelarts.local.cpu.1u2g', 'modelarts.local.cpu.2u4g']);
    // Half the machine: the 2-core laptop keeps a core for a second job.
    assert.equal(defaultFlavor(laptop)?.flavor_id, 'modelarts.local.cpu.1u2g');
    assert.equal(defaultFlavor({ cpus: 2, memoryBytes: 24 * GIB })?.flavor_id, 'modelarts.local.cpu.1u2g');
    assert.equal(defaultFlavor({ cpus: 8, memoryBytes: 32 * GIB })?.flavor_id, 'modelarts.local.cpu.4u16g');
    assert.equal(defaultFlavor({ cpus: 16, memoryBytes: 64 * GIB })?.flavor_id, 'modelarts.local.cpu.8u32g');
    // Too small for a half: the smallest that fits.
    assert.equal(defaultFlavor({ cpus: 1, memoryBytes: 3 * GIB })?.flavor_id, 'modelarts.local.cpu.1u2g');
    assert.equal(defaultFlavor({ cpus: 1, memoryBytes: 1 * GIB }), undefined);
    // GPU flavors only where the engine reports GPUs, and never as the default.
    assert.ok(!flavorsThatFit({ cpus: 16, memoryBytes: 64 * GIB }).some((f) => f.flavor_type === 'GPU'));
    const gpuBox = { cpus: 16, memoryBytes: 64 * GIB, gpus: 1 };
    assert.deepEqual(flavorsThatFit(gpuBox).filter((f) => f.flavor_type === 'GPU').map((f) => f.flavor_id), ['modelarts.local.gpu.1g.4u16g']);
    assert.equal(defaultFlavor(gpuBox)?.flavor_type, 'CPU');
    assert.equal(reportedGpus({ NCPU: 8, MemTotal: 1, Runtimes: { runc: {}, nvidia: {} } }), 1);
    assert.equal(reportedGpus({ NCPU: 8, MemTotal: 1, GenericResources: [{ DiscreteResourceSpec: { Kind: 'NVIDIA-GPU', Value: 2 } }] }), 2);
    assert.equal(reportedGpus({ NCPU: 8, MemTotal: 1, Runtimes: { runc: {} } }), 0);
    assert.ok(LOCAL_FLAVORS.every((f) => /^modelarts\.local\.(cpu|gpu\.\d+g)\.\d+u\d+g$/.test(f.flavor_id)));
  });

  it('says what a flavor costs: nothing on this machine, free or billed by its code on ModelArts', function () {
    assert.ok(LOCAL_FLAVORS.every((f) => costHint(f) === 'no charge: runs on this machine'));
    const cloud = (id: string, billing?: { code?: string | null; unit_num?: number | null } | null) => ({ ...LOCAL_FLAVORS[0]!, flavor_id: id, cost: costOfBilling(id, billing) });
    assert.equal(costHint(cloud('modelarts.p3.large.public.free', { code: 'modelarts.vm.gpu.free', unit_num: 1 })), 'free of charge on ModelArts');
    assert.equal(costHint(cloud('modelarts.vm.cpu.free')), 'free of charge on ModelArts');
    assert.equal(costHint(cloud('modelarts.vm.cpu.8u', { code: 'modelarts.vm.cpu.8u', unit_num: 2 })), 'billed per use: 2 × modelarts.vm.cpu.8u (prices in the ModelArts console)');
    assert.equal(costHint(cloud('modelarts.vm.freestyle.2u', { code: 'modelarts.vm.freestyle.2u' })), 'billed per use: 1 × modelarts.vm.freestyle.2u (prices in the ModelArts console)', 'only a whole "free" segment is free');
    assert.equal(costHint(cloud('pool.flavor', null)), undefined, 'no billing given: nothing said');
  });
});

describe('Docker host setting', function () {
  it('understands unix, tcp and ssh hosts', function () {
    assert.deepEqual(dockerOptions(''), {});
    assert.deepEqual(dockerOptions('unix:///run/user/1000/docker.sock'), { socketPath: '/run/user/1000/docker.sock' });
    assert.deepEqual(dockerOptions('tcp://127.0.0.1:2375'), { protocol: 'http', host: '127.0.0.1', port: '2375' });
    assert.equal(dockerOptions('ssh://me@build-box').protocol, 'ssh');
  });

  it('names the setting when the value is wrong', function () {
    for (const bad of ['unix://relative.sock', 'ftp://x:1', 'tcp://nohost', 'not a url']) {
      assert.throws(() => dockerOptions(bad), (error: unknown) => error instanceof InvalidInputError && error.fields[0] === 'modelarts.local.dockerHost', bad);
    }
  });
});

describe('local job planning', function () {
  const engine: PresetEngine = {
    engine_id: 'pytorch-1.13-cpu',
    engine_name: 'PyTorch',
    engine_version: '1.13-cpu',
    v1_compatible: false,
    run_user: '1000',
    image_info: { cpu_image_url: 'modelarts-training/pytorch:1.13-cpu', image_version: 'x' },
  };
  const resolver = createStoreResolver({ folderStore: new FolderStore(os.tmpdir()) });
  const context: PlanContext = {
    id: 'job-1',
    now: 42,
    engines: [engine],
    flavors: LOCAL_FLAVORS.slice(0, 2),
    defaultFlavor: LOCAL_FLAVORS[1],
    capacity: { cpus: 4, memoryGib: 16 },
    getAlgorithm: () => undefined,
    resolveStore: (url, field) => resolver.resolve(url, field),
    checkImage: async (image) => [`no image ${image}`],
  };
  const code = makeFolder('plan');
  after(removeFolders);
  fs.mkdirSync(path.join(code, 'src'));
  fs.writeFileSync(path.join(code, 'src', 'train.py'), 'print(1)');

  it('normalises paths the ModelArts way and fills the job', async function () {
    const plan = await planLocalJob(
      parseJobCreateRequest({
        metadata: { name: 'p' },
        algorithm: { code_dir: `file://${code}`, boot_file: 'src/train.py', engine: { engine_name: 'pytorch', engine_version: '1.13-cpu' } },
      }),
      context,
    );
    assert.equal(plan.job.algorithm.code_dir, code + path.sep);
    assert.equal(plan.job.algorithm.boot_file, path.join(code, 'src', 'train.py'));
    assert.equal(plan.job.algorithm.engine.image_url, 'modelarts-training/pytorch:1.13-cpu');
    assert.deepEqual(plan.job.algorithm.outputs, [{ name: 'train_url', local_dir: '/home/ma-user/modelarts/outputs/train_url_0' }]);
    assert.equal(plan.job.spec.resource.flavor_id, 'modelarts.local.cpu.2u4g');
    assert.equal(plan.job.status.phase, 'Creating');
    assert.equal(plan.job.metadata.create_time, 42);
  });

  it('collects every problem before refusing', async function () {
    await assert.rejects(
      planLocalJob(
        parseJobCreateRequest({
          metadata: { name: 'p' },
          algorithm: {
            code_dir: 'relative/code',
            boot_file: 'train.py',
            engine: { engine_id: 'mindspore-2' },
            inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'https://b1b/d/' } } }],
          },
          spec: { resource: { flavor_id: 'modelarts.local.cpu.8u32g', node_count: 2 } },
        }),
        context,
      ),
      (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.deepEqual(error.fields.sort(), [
          'algorithm.code_dir',
          'algorithm.engine.engine_id',
          'algorithm.inputs[0].remote.obs.obs_url',
          'spec.resource.flavor_id',
        ]);
        assert.match(error.message, /offered: PyTorch 1\.13-cpu \(pytorch-1\.13-cpu\)/);
        return true;
      },
    );
  });

  it('refuses a boot file outside the code folder or missing', async function () {
    for (const boot of ['../x.py', 'src/missing.py', path.join(os.tmpdir(), 'other.py')]) {
      await assert.rejects(
        planLocalJob(parseJobCreateRequest({ metadata: { name: 'p' }, algorithm: { code_dir: code, boot_file: boot, engine: { engine_id: 'pytorch-1.13-cpu' } } }), context),
        (error: unknown) => error instanceof InvalidInputError && error.fields.includes('algorithm.boot_file'),
        boot,
      );
    }
  });
});
