/**
 * The S3 store's code (its class and the AWS SDK behind it), loaded when the settings first name an
 * S3 store: the default store is a folder. The build makes it dist/s3-store.js, which takes the
 * main bundle's error classes (scripts/build.mjs); in the tests' plain build, the module itself.
 */
import { shareErrorClasses } from './sharedClasses';
import type * as Store from './s3Store';

let loaded: typeof Store | undefined;

export function s3StoreClass(): typeof Store.S3Store {
  shareErrorClasses();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('./s3Store') as typeof Store;
  return loaded.S3Store;
}
