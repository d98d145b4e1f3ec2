/**
 * OBS locations as ModelArts writes them: `obs://bucket/dir/` and `/bucket/dir/` alike (its own
 * answers mix both); one form, `obs://`, is sent. A URL without a bucket, with a `..` segment or
 * with a bucket name OBS does not allow is refused naming the field.
 */
import { parseObjectStoreUrl } from '../../core/dataset';
import { InvalidInputError } from '../../core/errors';

export interface ObsLocation {
  readonly bucket: string;
  /** The key or prefix inside the bucket; a folder's ends in "/". */
  readonly key: string;
}

const IP_LIKE = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** True for what names an OBS location rather than a path on this machine. */
export function isObsUrl(value: string): boolean {
  return value.startsWith('obs://') || value.startsWith('s3://');
}

export function parseObsUrl(value: string, field: string, options: { readonly folder?: boolean } = {}): ObsLocation {
  const fail = (message: string): never => {
    throw new InvalidInputError('OBS location', [{ field, message: `${message} (got "${value}")` }]);
  };
  const url = value.startsWith('/') && !value.startsWith('//') ? `obs:/${value}` : value;
  if (!isObsUrl(url)) return fail('must be an OBS URL such as obs://bucket/folder/');
  const { bucket, key } = parseObjectStoreUrl(url, field);
  if (!bucket) return fail('must name a bucket: obs://bucket/folder/');
  if (IP_LIKE.test(bucket)) return fail('must name a bucket, not an IP address');
  if (bucket.includes('.-') || bucket.includes('-.')) return fail('must name a bucket without "-" next to "."');
  if (key.split('/').some((segment) => segment === '..' || segment === '.')) return fail('must not contain "." or ".." segments');
  return { bucket, key: options.folder && key && !key.endsWith('/') ? `${key}/` : key };
}

export function formatObsUrl(location: ObsLocation): string {
  return `obs://${location.bucket}/${location.key}`;
}
