/**
 * The ModelArts backend's code, evaluated when the first account needs it rather than at
 * activation: most windows have no ModelArts account, and the backend (client, signer, schemas,
 * watcher, log tail, uploads) is a tenth of the bundle. The build makes it dist/modelarts.js,
 * required here on first use (in the tests' plain build, the module itself).
 */
import type * as Backend from '../backends/modelarts/modelartsBackend';
import * as errors from '../core/errors';
import * as storageError from '../storage/storageError';

/** What dist/modelarts.js takes from the main bundle rather than its own copy (scripts/build.mjs): the error classes, so `instanceof` holds. */
const SHARED = Symbol.for('modelarts-training.shared');

let loaded: typeof Backend | undefined;

/** The backend module: its class and the checks of settings and keys. */
export function modelArts(): typeof Backend {
  (globalThis as Record<symbol, unknown>)[SHARED] ??= { 'core/errors': errors, 'storage/storageError': storageError };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('../backends/modelarts/modelartsBackend') as typeof Backend;
  return loaded;
}
