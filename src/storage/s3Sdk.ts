/**
 * The AWS SDK's S3 client, loaded the first time an S3 store is made rather than at activation: it
 * is about half of what the extension would otherwise evaluate at start, and the default store (a
 * folder) never needs it. The bundle keeps it in a file of its own (dist/aws-s3.js).
 */
import type * as S3 from '@aws-sdk/client-s3';

export type S3Sdk = typeof S3;

let loaded: S3Sdk | undefined;

export function loadS3Sdk(): S3Sdk {
  // A require inside a function: evaluated only when called (scripts/build.mjs maps it to dist/aws-s3.js).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('@aws-sdk/client-s3') as S3Sdk;
  return loaded;
}
