import * as assert from 'node:assert/strict';
import { InvalidInputError } from '../../src/core/errors';
import {
  formatParameterList,
  parseJobCreateRequest,
  parameterTextProblem,
  parseParameterList,
  toCreateRequest,
  withLiveDuration,
  type TrainingJob,
} from '../../src/core/job';

const valid = {
  kind: 'job',
  metadata: { name: 'digits-1' },
  algorithm: { code_dir: '/code/digits', boot_file: 'train.py', engine: { engine_name: 'PyTorch', engine_version: '1.13-cpu' } },
};

function fieldsOf(value: unknown): string[] {
  try {
    parseJobCreateRequest(value);
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, String(error));
    return error.fields;
  }
  assert.fail('the spec was accepted');
}

describe('job create request', function () {
  it('accepts a ModelArts-shaped request and fills defaults', function () {
    const parsed = parseJobCreateRequest({ ...valid, kind: undefined, algorithm: { ...valid.algorithm, parameters: [{ name: 'epochs', value: 5 }] } });
    assert.equal(parsed.kind, 'job');
    assert.deepEqual(parsed.algorithm.parameters, [{ name: 'epochs', value: '5' }], 'numbers become strings, as ModelArts sends them');
  });

  it('names each wrong field, all at once', function () {
    const fields = fieldsOf({
      metadata: { name: 'no spaces please', description: 'x'.repeat(300) },
      algorithm: { ...valid.algorithm, boot_file: 'train.sh', parameters: [{ name: '-lr', value: '1' }], environments: { PATH2: '$HOME' } },
      spec: { resource: { node_count: 0 } },
    });
    assert.deepEqual(fields.sort(), [
      'algorithm.boot_file',
      'algorithm.environments.PATH2',
      'algorithm.parameters[0].name',
      'metadata.description',
      'metadata.name',
      'spec.resource.node_count',
    ]);
  });

  it('reports misspelt fields instead of ignoring them', function () {
    assert.deepEqual(fieldsOf({ ...valid, metdata: {} }), ['metdata']);
    assert.deepEqual(fieldsOf({ kind: 'job', metdata: { name: 'a' }, algorithm: valid.algorithm }).sort(), ['metadata', 'metdata']);
    assert.deepEqual(fieldsOf({ ...valid, algorithm: { ...valid.algorithm, hyperparameters: [] } }), ['algorithm.hyperparameters']);
  });

  it('says what is missing', function () {
    const error = (() => {
      try {
        parseJobCreateRequest({ metadata: { name: 'a' }, algorithm: { code_dir: '/x' } });
      } catch (e) {
        return e as InvalidInputError;
      }
      return undefined;
    })();
    assert.ok(error);
    assert.deepEqual(error.fields.sort(), ['algorithm.boot_file', 'algorithm.engine']);
    assert.match(error.message, /algorithm\.boot_file: is required with code_dir/);
  });

  it('refuses a flag name used twice across inputs, outputs and parameters', function () {
    const fields = fieldsOf({
      ...valid,
      algorithm: { ...valid.algorithm, outputs: [{ name: 'train_url' }], parameters: [{ name: 'train_url', value: '/tmp' }] },
    });
    assert.deepEqual(fields, ['algorithm.parameters[0].name']);
  });

  it('refuses a value that is not an object', function () {
    assert.throws(() => parseJobCreateRequest('digits'), /must be an object/);
    assert.throws(() => parseJobCreateRequest([valid]), /must be an object/);
  });
});

describe('hyperparameter text', function () {
  it('parses name=value pairs, bare flags, leading dashes and quoted values', function () {
    assert.deepEqual(parseParameterList('epochs=10  --lr=0.01 verbose note="two words" empty='), [
      { name: 'epochs', value: '10' },
      { name: 'lr', value: '0.01' },
      { name: 'verbose' },
      { name: 'note', value: 'two words' },
      { name: 'empty', value: '' },
    ]);
  });

  it('names the first problem the way the spec validation does', function () {
    assert.equal(parameterTextProblem('epochs=10 lr=0.01 verbose'), undefined);
    assert.match(parameterTextProblem('epochs=10 -=3') ?? '', /^algorithm\.parameters\[1\] \(empty\): a parameter name must be/);
    assert.equal(parameterTextProblem('lr=1 lr=2'), 'algorithm.parameters[1].name: "lr" is already used by parameters[0]; each flag name may appear once');
  });

  it('formats back to what parses to the same list', function () {
    const text = 'epochs=10 verbose note="two words"';
    assert.equal(formatParameterList(parseParameterList(text)), text);
    assert.deepEqual(parseParameterList(formatParameterList(parseParameterList(text))), parseParameterList(text));
  });
});

describe('a created job', function () {
  const job: TrainingJob = {
    kind: 'job',
    metadata: { id: 'id-1', name: 'digits', description: 'd', create_time: 1000, workspace_id: '0', user_name: 'me', annotations: { a: 'b' } },
    algorithm: {
      code_dir: '/code/digits/',
      boot_file: '/code/digits/train.py',
      parameters: [{ name: 'epochs', value: '3' }],
      inputs: [],
      outputs: [{ name: 'train_url', local_dir: '/home/ma-user/modelarts/outputs/train_url_0' }],
      engine: { engine_id: 'pytorch-1.13-cpu', engine_name: 'PyTorch', engine_version: '1.13-cpu', image_url: 'img' },
      environments: {},
    },
    spec: { resource: { flavor_id: 'modelarts.local.cpu.2u8g', node_count: 1 } },
    status: { phase: 'Running', secondary_phase: 'Running', duration: 0, start_time: 5000, tasks: ['worker-0'], task_statuses: [], running_records: [] },
  };

  it('turns back into a request that validates (for copy and promote)', function () {
    const request = toCreateRequest(job);
    assert.deepEqual(parseJobCreateRequest(request).algorithm.parameters, [{ name: 'epochs', value: '3' }]);
    assert.equal(request.spec?.resource?.flavor_id, 'modelarts.local.cpu.2u8g');
    assert.deepEqual(request.metadata.annotations, { a: 'b' });
  });

  it('reports its live duration while it runs, and its stored one after', function () {
    assert.equal(withLiveDuration(job, 8000).status.duration, 3000);
    const done = { ...job, status: { ...job.status, phase: 'Completed' as const, duration: 1234 } };
    assert.equal(withLiveDuration(done, 99_999).status.duration, 1234);
  });
});
