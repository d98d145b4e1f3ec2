/** `modelarts` launch configurations: parsing with attribute names, the job request they stand for, and errors re-worded in launch terms. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidInputError } from '../../src/core/errors';
import { PACKAGE_JSON_LAUNCH_SCHEMA, launchJsonSchema } from '../../src/core/jsonSchemas';
import { defaultJobName, inLaunchTerms, jobRequestFromLaunch, launchAttributeOf, launchConfigurationFor, parseLaunchConfiguration } from '../../src/core/launchConfig';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const base = { type: 'modelarts', request: 'launch', name: 'digits', bootFile: '/ws/digits/train.py' };

function refusesNaming(value: unknown, field: string, words: string): void {
  assert.throws(
    () => parseLaunchConfiguration(value),
    (error: InvalidInputError) => {
      assert.ok(error instanceof InvalidInputError);
      const issue = error.issues.find((i) => i.field === field);
      assert.ok(issue, `an issue names ${field}: ${error.message}`);
      assert.ok(issue.message.includes(words), `${field}: ${issue.message}`);
      return true;
    },
  );
}

describe('Launch configurations', function () {
  it('names the attribute that is wrong and what it allows', function () {
    refusesNaming({ ...base, nodeCount: 2 }, 'nodeCount', 'must be 1');
    refusesNaming({ ...base, hyperparameters: { 'bad name': 1 } }, 'hyperparameters.bad name', 'names must be');
    refusesNaming({ ...base, hyperparameters: { epochs: [1] } }, 'hyperparameters.epochs', 'text, a number or true/false');
    refusesNaming({ ...base, inputs: { data_url: '' } }, 'inputs.data_url', 'must not be empty');
    refusesNaming({ ...base, bootfile: 'x.py' }, 'bootfile', 'is not an attribute');
    refusesNaming({ ...base, request: 'attach' }, 'request', 'must be "launch"');
    refusesNaming({ ...base, engine: 'pytorch', image: 'x' }, 'image', 'either engine or image');
    refusesNaming({ type: 'modelarts', request: 'launch', name: 'x' }, 'bootFile', 'is required');
    refusesNaming({ ...base, inputs: { epochs: '/data' }, hyperparameters: { epochs: 2 } }, 'hyperparameters.epochs', 'already used in inputs');
    refusesNaming({ ...base, jobName: 'has space' }, 'jobName', 'letters, digits');
    // VS Code's own attributes and internal keys are not the user's mistakes.
    assert.equal(parseLaunchConfiguration({ ...base, preLaunchTask: 'build', __sessionId: 'x', noDebug: true }).noDebug, true);
  });

  it('stands for the job the dev container runs and promotion creates', function () {
    const config = parseLaunchConfiguration({
      ...base,
      codeDir: 'digits',
      bootFile: 'train.py',
      hyperparameters: { epochs: 2, lr: '0.01', verbose: true, dry_run: false },
      inputs: { data_url: 'data', remote: 'obs://bucket/digits/' },
      outputs: { train_url: '', model: 's3://bucket/model/' },
      environment: { SEED: '1' },
    });
    const request = jobRequestFromLaunch(config, { workspaceFolder: '/ws', defaultEngine: 'pytorch-1.13-cpu', defaultFlavor: 'modelarts.local.cpu.1u2g' });
    assert.deepEqual(request, {
      kind: 'job',
      metadata: { name: 'digits-train' },
      algorithm: {
        code_dir: '/ws/digits',
        boot_file: '/ws/digits/train.py',
        engine: { engine_id: 'pytorch-1.13-cpu' },
        parameters: [
          { name: 'epochs', value: '2' },
          { name: 'lr', value: '0.01' },
          { name: 'verbose', value: '' },
        ],
        inputs: [
          { name: 'data_url', remote: { obs: { obs_url: '/ws/data' } } },
          { name: 'remote', remote: { obs: { obs_url: 'obs://bucket/digits/' } } },
        ],
        outputs: [{ name: 'train_url' }, { name: 'model', remote: { obs: { obs_url: 's3://bucket/model/' } } }],
        environments: { SEED: '1' },
      },
      spec: { resource: { flavor_id: 'modelarts.local.cpu.1u2g', node_count: 1 } },
    });
    const custom = jobRequestFromLaunch(parseLaunchConfiguration({ ...base, image: 'mine:1', flavor: 'f' }), { workspaceFolder: '/ws', defaultEngine: 'ignored' });
    assert.deepEqual(custom.algorithm.engine, { image_url: 'mine:1' });
    assert.deepEqual(custom.algorithm.outputs, [{ name: 'train_url' }], 'train_url is the default output');
    assert.equal(defaultJobName({ bootFile: '/x/My Train.py' }), 'My-Train');
  });

  it('reports the engine\'s field errors under the launch attributes they came from', function () {
    const config = parseLaunchConfiguration({ ...base, inputs: { data_url: '/nope' }, hyperparameters: { epochs: 1 } });
    const request = jobRequestFromLaunch(config, { workspaceFolder: '/ws' });
    assert.equal(launchAttributeOf('algorithm.inputs[0].remote.obs.obs_url', request), 'inputs.data_url');
    assert.equal(launchAttributeOf('algorithm.parameters[0].value', request), 'hyperparameters.epochs');
    assert.equal(launchAttributeOf('algorithm.engine', request), 'engine');
    assert.equal(launchAttributeOf('algorithm.engine.image_url', request), 'image');
    assert.equal(launchAttributeOf('spec.resource.flavor_id', request), 'flavor');
    assert.equal(launchAttributeOf('algorithm.boot_file', request), 'bootFile');
    const error = inLaunchTerms(new InvalidInputError('Training job spec', [{ field: 'algorithm.inputs[0].remote.obs.obs_url', message: 'no folder exists at /nope' }]), config, request);
    assert.ok(error instanceof InvalidInputError);
    assert.equal(error.message, 'Launch configuration "digits" is invalid: inputs.data_url: no folder exists at /nope');
  });

  it('offers a configuration for a file with workspace variables', function () {
    const config = launchConfigurationFor({ bootFile: '/ws/digits/train.py', workspaceFolder: '/ws', engine: 'pytorch-1.13-cpu', inputs: { data_url: '/ws/digits/data' } });
    assert.equal(config.bootFile, '${workspaceFolder}/digits/train.py');
    assert.equal(config.codeDir, '${workspaceFolder}');
    assert.deepEqual(config.inputs, { data_url: '${workspaceFolder}/digits/data' });
    const outside = launchConfigurationFor({ bootFile: '/elsewhere/train.py', workspaceFolder: '/ws' });
    assert.equal(outside.codeDir, '/elsewhere');
    assert.doesNotThrow(() => parseLaunchConfiguration(config));
  });

  it('are described in package.json exactly as the zod schema generates them (node scripts/generate-schemas.mjs)', function () {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
    const committed = PACKAGE_JSON_LAUNCH_SCHEMA.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], manifest);
    assert.deepEqual(committed, launchJsonSchema());
    const debuggers = (manifest.contributes as { debuggers: Array<{ configurationSnippets: Array<{ body: unknown }>; initialConfigurations: unknown[] }> }).debuggers;
    for (const initial of debuggers[0]?.initialConfigurations ?? []) assert.doesNotThrow(() => parseLaunchConfiguration(initial));
  });
});
