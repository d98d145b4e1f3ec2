import * as assert from 'node:assert/strict';
import {
  bootArguments,
  bootCommand,
  codeFolderName,
  containerBootFile,
  containerEnvironment,
  containerWorkingDir,
  taskHostName,
} from '../../src/core/contract';
import type { TrainingJob } from '../../src/core/job';

const algorithm: TrainingJob['algorithm'] = {
  code_dir: '/home/me/work/digits/',
  boot_file: '/home/me/work/digits/src/train.py',
  parameters: [
    { name: 'epochs', value: '10' },
    { name: 'verbose' },
    { name: 'empty', value: '' },
  ],
  inputs: [{ name: 'data_url', remote: { obs: { obs_url: 'obs://bucket/digits/' } } }],
  outputs: [{ name: 'train_url' }],
  engine: { image_url: 'img' },
  environments: { MY_FLAG: '1' },
};

describe('ModelArts container contract', function () {
  it('places the code under ${MA_JOB_DIR}/<last folder of code_dir>', function () {
    assert.equal(codeFolderName('/home/me/work/digits/'), 'digits');
    assert.equal(codeFolderName('C:\\work\\digits'), 'digits');
    assert.equal(codeFolderName('obs://bucket/code/digits/'), 'digits');
    assert.equal(containerBootFile(algorithm.code_dir, algorithm.boot_file), '/home/ma-user/modelarts/user-job-dir/digits/src/train.py');
    assert.equal(containerBootFile('C:\\work\\digits\\', 'C:\\work\\digits\\a\\b.py'), '/home/ma-user/modelarts/user-job-dir/digits/a/b.py');
  });

  it('passes inputs, outputs and hyperparameters as flags, a value-less parameter as a bare flag', function () {
    assert.deepEqual(bootArguments(algorithm), [
      '--data_url=/home/ma-user/modelarts/inputs/data_url_0',
      '--train_url=/home/ma-user/modelarts/outputs/train_url_0',
      '--epochs=10',
      '--verbose',
      '--empty',
    ]);
    assert.equal(bootCommand(algorithm)[0], 'python');
    assert.equal(bootCommand(algorithm)[1], '/home/ma-user/modelarts/user-job-dir/digits/src/train.py');
  });

  it('sets the MA_ and VC_ variables and lets the job override them', function () {
    const env = containerEnvironment({ algorithm }, { jobId: 'j1', task: 'worker-1', index: 1, nodeCount: 2, gpus: 0 });
    assert.equal(env.MA_JOB_DIR, '/home/ma-user/modelarts/user-job-dir');
    assert.equal(env.WORKSPACE, '/home/ma-user/modelarts/user-job-dir/digits');
    assert.equal(env.VC_TASK_INDEX, '1');
    assert.equal(env.MA_NUM_HOSTS, '2');
    assert.equal(env.VC_WORKER_HOSTS, 'modelarts-job-j1-worker-0,modelarts-job-j1-worker-1');
    assert.equal(env.MA_CURRENT_INSTANCE_NAME, 'modelarts-job-j1-worker-1');
    assert.equal(env.MY_FLAG, '1');
    const overridden = containerEnvironment({ algorithm: { ...algorithm, environments: { MA_NUM_GPUS: '8' } } }, { jobId: 'j', task: 'worker-0', index: 0, nodeCount: 1, gpus: 0 });
    assert.equal(overridden.MA_NUM_GPUS, '8');
  });

  it('names tasks within the 63 characters of a host name', function () {
    const name = taskHostName('425b7087-83de-49ed-9e40-5bb642be956f', 'worker-0');
    assert.equal(name, 'modelarts-job-425b7087-83de-49ed-9e40-5bb642be956f-worker-0');
    assert.ok(name.length <= 63);
  });

  it('works in the code folder unless working_dir says otherwise', function () {
    assert.equal(containerWorkingDir(algorithm), '/home/ma-user/modelarts/user-job-dir/digits');
    assert.equal(containerWorkingDir({ ...algorithm, working_dir: '/tmp' }), '/tmp');
  });
});
