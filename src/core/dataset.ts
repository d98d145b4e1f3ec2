/**
 * Datasets: named locations in an object store (a local folder store, or an S3-compatible store such
 * as OBS). Store URLs are `obs://bucket/prefix/`, `s3://bucket/prefix/` or `file:///abs/folder/`.
 */
import { z } from 'zod';
import { InvalidInputError } from './errors';

export type StoreUrl =
  | { readonly scheme: 'obs' | 's3'; readonly bucket: string; readonly key: string }
  | { readonly scheme: 'file'; readonly path: string };

const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses a store URL; `field` names the setting or spec field in the error. */
export function parseStoreUrl(value: string, field: string): StoreUrl {
  const fail = (message: string): never => {
    throw new InvalidInputError('Storage location', [{ field, message: `${message} (got "${value}")` }]);
  };
  const match = /^(obs|s3|file):\/\/(.*)$/.exec(value.trim());
  if (!match) return fail('must start with obs://, s3:// or file://');
  const scheme = match[1] as 'obs' | 's3' | 'file';
  const rest = match[2] ?? '';
  if (scheme === 'file') {
    if (!rest.startsWith('/')) return fail('must be an absolute folder, as file:///path/to/folder');
    return { scheme, path: decodeURIComponent(rest) };
  }
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET_PATTERN.test(bucket) || bucket.includes('..')) {
    return fail('must name a bucket of 3 to 63 lowercase letters, digits, "." and "-"');
  }
  if (key.split('/').some((segment) => segment === '..' || segment === '.')) {
    return fail('must not contain "." or ".." path segments');
  }
  return { scheme, bucket, key };
}

/**
 * An obs:// or s3:// URL of the object store, bucket and key as written; a local folder (file://)
 * and an empty path segment are refused, naming `field`.
 */
export function parseObjectStoreUrl(value: string, field: string): { readonly scheme: 'obs' | 's3'; readonly bucket: string; readonly key: string } {
  const parsed = parseStoreUrl(value, field);
  const fail = (message: string): never => {
    throw new InvalidInputError('Storage location', [{ field, message: `${message} (got "${value}")` }]);
  };
  if (parsed.scheme === 'file') return fail(`file:// is not an object store: give an obs:// or s3:// URL, or, where a local folder is allowed, the local folder path itself (${parsed.path})`);
  if (parsed.key.startsWith('/') || parsed.key.includes('//')) return fail('must not contain an empty path segment ("//")');
  return parsed;
}

/** The key as a folder prefix: empty, or ending in "/". */
export function folderKey(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}

export function formatStoreUrl(url: StoreUrl): string {
  return url.scheme === 'file' ? `file://${url.path}` : `${url.scheme}://${url.bucket}/${url.key}`;
}

export const datasetSchema = z.object({
  name: z.string().min(1),
  /** Store URL of the dataset's folder (prefix), ending in "/". */
  url: z.string(),
  description: z.string().default(''),
  object_count: z.number().int().nonnegative().optional(),
  size_bytes: z.number().nonnegative().optional(),
  update_time: z.number().optional(),
});
export type Dataset = z.output<typeof datasetSchema>;
