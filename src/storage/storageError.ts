/** Failures of an object store, with what a user needs to act on them (never credentials). */
import { ModelArtsError } from '../core/errors';

export class StorageError extends ModelArtsError {
  constructor(
    message: string,
    /** S3 error code ("NoSuchBucket", "AccessDenied", …) or a local one ("ENOENT"). */
    readonly storageCode: string,
    /** HTTP status of an S3 answer; undefined for local and network failures. */
    readonly httpStatus?: number,
  ) {
    super(message, 'ModelArts.Storage');
  }
}
