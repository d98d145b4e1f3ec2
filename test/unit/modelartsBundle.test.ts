/**
 * dist/modelarts.js, the ModelArts backend's own bundle (loaded with the first account), throws
 * the main bundle's error classes, so `instanceof InvalidInputError` holds in the editor for what
 * the cloud backend refuses. Reads the bundle the build made (npm test builds before testing).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as errors from '../../src/core/errors';
import * as storageError from '../../src/storage/storageError';
import type * as Backend from '../../src/backends/modelarts/modelartsBackend';

const BUNDLE = path.resolve(__dirname, '..', '..', '..', 'dist', 'modelarts.js');

describe('the ModelArts backend bundle', function () {
  it('uses the error classes it is handed, and names the bad setting', function () {
    assert.ok(fs.existsSync(BUNDLE), `${BUNDLE} exists (node scripts/build.mjs)`);
    (globalThis as Record<symbol, unknown>)[Symbol.for('modelarts-training.shared')] = { 'core/errors': errors, 'storage/storageError': storageError };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bundle = require(BUNDLE) as typeof Backend;
    const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    assert.throws(
      () => new bundle.ModelArtsBackend({ config: { region: 'North China' }, credentials: undefined, logger, stateDir: '/nonexistent' }),
      (error: unknown) => error instanceof errors.InvalidInputError && error.fields.includes('modelarts.cloud.region'),
    );
    assert.throws(() => bundle.parseObsUrl('obs://Bad_Bucket/x/', 'codeLocation'), errors.InvalidInputError);
  });
});
