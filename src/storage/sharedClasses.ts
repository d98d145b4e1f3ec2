/**
 * What the bundles loaded on first use (dist/s3-store.js, dist/modelarts.js, dist/sign-in.js) take
 * from the main bundle instead of their own copies: the error classes, so `instanceof` holds across
 * them (scripts/build.mjs reads them from here). Set before any of them is required.
 */
import * as errors from '../core/errors';
import * as storageError from './storageError';

export function shareErrorClasses(): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for('modelarts-training.shared')] ??= { 'core/errors': errors, 'storage/storageError': storageError };
}
