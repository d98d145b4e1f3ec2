/** Store URLs to store locations: `obs://` and `s3://` name a bucket and prefix in one store. */
import { folderKey, parseObjectStoreUrl } from '../core/dataset';
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
      const { bucket, key } = parseObjectStoreUrl(url, field);
      return {
        store: stores.s3Store ?? stores.folderStore,
        bucket,
        prefix: folderKey(key),
        url: url.trim(),
      };
    },
  };
}
