import * as assert from 'node:assert/strict';
import { algorithmRequestFromJob, parseAlgorithmCreateRequest } from '../../src/core/algorithm';
import { InvalidInputError } from '../../src/core/errors';
import { RETRY_ANNOTATION, parseJobCreateRequest, retryLimit, toCreateRequest, type TrainingJob } from '../../src/core/job';
import { taskCommand } from '../../src/core/contract';

const job: TrainingJob = {
  kind: 'job',
  metadata: { id: 'j', name: 'digits', description: 'mlp', create_time: 1, workspace_id: '0', user_name: '', annotations: { [RETRY_ANNOTATION]: '2' } },
  algorithm: {
    code_dir: '/code/digits/',
    boot_file: '/code/digits/train.py',
    parameters: [{ name: 'epochs', value: '3' }],
    inputs: [{ name: 'data_url', description: 'digits', remote: { obs: { obs_url: 'obs://b/d/' } }, local_dir: '/home/ma-user/modelarts/inputs/data_url_0' }],
    outputs: [{ name: 'train_url', local_dir: '/home/ma-user/modelarts/outputs/train_url_0' }],
    engine: { engine_id: 'pytorch-1.13-cpu', engine_name: 'PyTorch', engine_version: '1.13-cpu', image_url: 'modelarts-training/pytorch:1.13-cpu' },
    environments: { SEED: '1' },
  },
  spec: { resource: { flavor_id: 'modelarts.local.cpu.2u8g', node_count: 1 } },
  status: { phase: 'Completed', secondary_phase: 'Completed', duration: 1, start_time: 1, tasks: ['worker-0'], task_statuses: [], running_records: [] },
};

function invalid(fn: () => unknown, field: string): void {
  assert.throws(fn, (error: unknown) => error instanceof InvalidInputError && error.fields.includes(field), field);
}

describe('algorithms', function () {
  it('saves a job as an algorithm that validates, keeping code, engine, parameters and channels', function () {
    const request = parseAlgorithmCreateRequest(algorithmRequestFromJob(job, 'digits-algo'));
    assert.equal(request.job_config.boot_file, '/code/digits/train.py');
    assert.deepEqual(request.job_config.engine, { engine_name: 'PyTorch', engine_version: '1.13-cpu' });
    assert.deepEqual(request.job_config.inputs, [{ name: 'data_url', description: 'digits' }]);
    assert.deepEqual(request.job_config.outputs, [{ name: 'train_url' }]);
    assert.equal(request.metadata.description, 'mlp');
  });

  it('names each bad field of an algorithm request', function () {
    const base = { metadata: { name: 'a' }, job_config: { code_dir: '/c', boot_file: 'x.py', engine: { engine_id: 'e' } } };
    invalid(() => parseAlgorithmCreateRequest({ ...base, metadata: { name: 'bad name!' } }), 'metadata.name');
    invalid(() => parseAlgorithmCreateRequest({ ...base, job_config: { ...base.job_config, boot_file: undefined } }), 'job_config.boot_file');
    invalid(() => parseAlgorithmCreateRequest({ ...base, job_config: { ...base.job_config, command: 'run' } }), 'job_config.command');
    invalid(() => parseAlgorithmCreateRequest({ ...base, job_config: { ...base.job_config, inputs: [{ name: 'x' }], outputs: [{ name: 'x' }] } }), 'job_config.outputs[0].name');
    invalid(() => parseAlgorithmCreateRequest(null), '');
  });
});

describe('high reliability and copies', function () {
  it('reads the retry annotation, refusing values outside 0 to 3', function () {
    assert.equal(retryLimit(job), 2);
    assert.equal(retryLimit({ metadata: { annotations: {} } }), 0);
    invalid(() => parseJobCreateRequest({ metadata: { name: 'r', annotations: { [RETRY_ANNOTATION]: '4' } }, algorithm: { code_dir: '/c', boot_file: 'a.py', engine: { engine_id: 'e' } } }), `metadata.annotations.${RETRY_ANNOTATION}`);
  });

  it('copies a preset-engine job by engine name and version (portable between engines), keeping inputs and annotations', function () {
    const request = parseJobCreateRequest(toCreateRequest(job));
    assert.deepEqual(request.algorithm.engine, { engine_name: 'PyTorch', engine_version: '1.13-cpu' });
    assert.equal(request.algorithm.inputs?.[0]?.remote.obs?.obs_url, 'obs://b/d/');
    assert.equal(request.metadata.annotations?.[RETRY_ANNOTATION], '2');
  });

  it('runs a custom image command through the shell with the job flags appended', function () {
    const custom = { ...job.algorithm, code_dir: '', boot_file: '', command: 'cd $MA_JOB_DIR && python run.py', inputs: [], engine: { image_url: 'mine:1' } };
    assert.deepEqual(taskCommand(custom), ['/bin/sh', '-c', 'cd $MA_JOB_DIR && python run.py "$@"', 'sh', '--train_url=/home/ma-user/modelarts/outputs/train_url_0', '--epochs=3']);
    assert.deepEqual(taskCommand(job.algorithm).slice(0, 2), ['python', '/home/ma-user/modelarts/user-job-dir/digits/train.py']);
  });
});
