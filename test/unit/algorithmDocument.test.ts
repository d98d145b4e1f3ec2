import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { algorithmSchema, type Algorithm } from '../../src/core/algorithm';
import { algorithmEditRequest, formatAlgorithmDocument, parseAlgorithmDocument } from '../../src/core/algorithmDocument';
import { InvalidInputError } from '../../src/core/errors';
import { GENERATED_SCHEMA_FILES, algorithmJsonSchema, formatJsonSchema, jobJsonSchema } from '../../src/core/jsonSchemas';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

const algorithm: Algorithm = algorithmSchema.parse({
  metadata: { id: 'a1', name: 'digits', description: 'small MLP', create_time: 1, update_time: 2 },
  job_config: {
    code_dir: '/code/digits/',
    boot_file: '/code/digits/train.py',
    parameters: [{ name: 'epochs', value: '3' }, { name: 'lr', value: '0.01', description: 'learning rate' }, { name: 'verbose' }],
    inputs: [{ name: 'data_url', description: 'digits CSV' }],
    outputs: [{ name: 'train_url' }],
    engine: { engine_name: 'PyTorch', engine_version: '1.13-cpu' },
    environments: { SEED: '1' },
  },
});

function refusesNaming(text: string, field: string, words?: string): void {
  assert.throws(
    () => parseAlgorithmDocument(text),
    (error: unknown) =>
      error instanceof InvalidInputError && error.fields.includes(field) && (words === undefined || error.message.includes(words)),
    `${field} ${words ?? ''}`,
  );
}

describe('algorithm documents (the JSON that modelarts.algorithms.edit opens)', function () {
  it('round-trips an algorithm: the document parses back to the request that leaves it unchanged', function () {
    const text = formatAlgorithmDocument(algorithm);
    assert.deepEqual(parseAlgorithmDocument(text), algorithmEditRequest(algorithm));
    const document = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(document), ['metadata', 'job_config'], 'only what updateAlgorithm takes: no id or times');
    assert.deepEqual(document.metadata, { name: 'digits', description: 'small MLP' });
    assert.ok(text.endsWith('}\n'));
  });

  it('accepts numbers for parameter values, as a user types them, and keeps them as text', function () {
    const request = algorithmEditRequest(algorithm) as unknown as { job_config: { parameters: Array<{ name: string; value?: unknown }> } };
    request.job_config.parameters[0] = { name: 'epochs', value: 5 };
    assert.equal(parseAlgorithmDocument(JSON.stringify(request)).job_config.parameters?.[0]?.value, '5');
  });

  it('refuses a bad document naming the field and what is allowed', function () {
    const good = algorithmEditRequest(algorithm);
    refusesNaming('{\n  "metadata": {\n    "name": "x",\n  }\n}', '', 'line 4, column 3');
    refusesNaming(JSON.stringify({ ...good, metadata: { name: 'no spaces allowed' } }), 'metadata.name', 'letters, digits, hyphens');
    refusesNaming(JSON.stringify({ ...good, job_config: { ...good.job_config, bootfile: 'x.py' } }), 'job_config.bootfile', 'not a known field');
    refusesNaming(JSON.stringify({ ...good, job_config: { ...good.job_config, parameters: [{ name: '-x', value: '1' }] } }), 'job_config.parameters[0].name');
    refusesNaming(JSON.stringify({ ...good, job_config: { ...good.job_config, outputs: [{ name: 'epochs' }] } }), 'job_config.parameters[0].name', 'used twice');
    refusesNaming('[]', '', 'must be an object');
  });
});

describe('JSON schemas for the editor', function () {
  it('are committed exactly as the zod request schemas generate them (run node scripts/generate-schemas.mjs after a schema change)', function () {
    for (const [file, generate] of Object.entries(GENERATED_SCHEMA_FILES)) {
      const committed = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
      assert.equal(committed, formatJsonSchema(generate()), `${file} is stale: run node scripts/generate-schemas.mjs`);
    }
  });

  it('are the ones package.json contributes through jsonValidation', function () {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: { jsonValidation: Array<{ fileMatch: string; url: string }> } };
    const contributed = manifest.contributes.jsonValidation.map((entry) => [entry.fileMatch, path.normalize(entry.url)]);
    assert.deepEqual(contributed, [
      ['*.algorithm.json', path.normalize('media/schemas/algorithm.schema.json')],
      ['*.job.json', path.normalize('media/schemas/job.schema.json')],
    ]);
  });

  it('describe the request side: strict objects, required fields, numbers for parameter values, readable pattern messages', function () {
    const schema = algorithmJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: { metadata: { required: string[]; properties: { name: { pattern: string; patternErrorMessage: string } } }; job_config: { properties: Record<string, { items?: { properties: { value?: { anyOf: Array<{ type: string }> } } } }> } };
    };
    assert.deepEqual(schema.required, ['metadata', 'job_config']);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.properties.metadata.required, ['name']);
    assert.match(schema.properties.metadata.properties.name.patternErrorMessage, /1 to 64 characters/);
    assert.deepEqual(schema.properties.job_config.properties.parameters?.items?.properties.value?.anyOf.map((branch) => branch.type), ['string', 'number']);
    const job = jobJsonSchema() as { required: string[]; properties: Record<string, unknown> };
    assert.deepEqual(job.required, ['metadata', 'algorithm'], 'kind has a default, so it is optional');
    assert.ok('spec' in job.properties);
  });
});
