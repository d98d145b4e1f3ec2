/** Store URLs to store locations: `obs://` and `s3://` name a bucket and prefix in one store. */
import { parseStoreUrl } from '../core/dataset';
import { InvalidInputError } from '../core/errors';
import type { ObjectStore, StoreLocation, StoreResolver } from './objectStore';

export interface StoreResolverStores {
  /** The embedded store, used when no S3-compatible store is configured. */
  readonly folderStore: ObjectStore;
  /** The configured S3-compatible store (OBS, …); both obs:// and s3:// URLs go to it. */
  readonly s3Store?: ObjectStore;
}

export function createStoreResolver(stores: StoreResolverStores): StoreResolver {
  return {
    resolve(url: string, field: string): StoreLocation {
      const parsed = parseStoreUrl(url, field);
      if (parsed.scheme === 'file') {
        throw new InvalidInputError('Storage location', [
          { field, message: `file:// is not an object store: give the local folder path itself (${parsed.path}) instead of "${url}"` },
        ]);
      }
      const key = parsed.key;
      if (key.startsWith('/') || key.includes('//')) {
        throw new InvalidInputError('Storage location', [{ field, message: `must not contain an empty path segment ("//") (got "${url}")` }]);
      }
      return {
        store: stores.s3Store ?? stores.folderStore,
        bucket: parsed.bucket,
        prefix: key === '' || key.endsWith('/') ? key : `${key}/`,
        url: url.trim(),
      };
    },
  };
}
