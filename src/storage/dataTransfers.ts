/**
 * What the Datasets commands do, without VS Code: a store URL read as a folder or an object (as the
 * OBS console reads a URL without a trailing "/"), local files and folders checked and measured
 * before anything is stored (bad input creates nothing), where each lands in an upload, and the
 * uploads, downloads and deletions themselves with one running total of progress.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { folderKey, parseObjectStoreUrl } from '../core/dataset';
import { CancelledError, InvalidInputError } from '../core/errors';
import type { ObjectStore, StoredObject, TransferProgress, TransferResult } from './objectStore';
import { StorageError } from './storageError';
import { downloadObjects, listPrefix, localFiles, uploadFolder } from './transfer';

/** Keys per DeleteObjects request (the S3 maximum). */
export const DELETE_BATCH = 1000;

/** A location in the store: a folder (key empty or ending in "/") or an object key. */
export interface DataLocation {
  readonly scheme: 'obs' | 's3';
  readonly bucket: string;
  readonly key: string;
}

/** What a URL names once listed: one object, or every object under a folder. */
export interface FoundData extends DataLocation {
  readonly isFolder: boolean;
  readonly objects: StoredObject[];
  readonly url: string;
}

export interface LocalSource {
  readonly path: string;
  readonly isFolder: boolean;
  readonly files: number;
  readonly bytes: number;
}

export interface UploadItem {
  readonly source: LocalSource;
  /** The folder's prefix (ending in "/") or the file's key. */
  readonly key: string;
}

export interface UploadPlan {
  readonly scheme: 'obs' | 's3';
  readonly bucket: string;
  /** Where it all lands: the destination folder, or the object for one file. */
  readonly url: string;
  /** The folder to reveal afterwards. */
  readonly folder: string;
  readonly items: readonly UploadItem[];
  readonly files: number;
  readonly bytes: number;
}

/** An obs:// or s3:// URL; `field` is named when it is not one. */
export function parseDataUrl(value: string, field: string): DataLocation {
  const { scheme, bucket, key } = parseObjectStoreUrl(value, field);
  return { scheme, bucket, key };
}

export function folderUrl(location: DataLocation): string {
  return `${location.scheme}://${location.bucket}/${folderKey(location.key)}`;
}

/** The folder holding a key: "a/b/" and "a/f" are both in "a/". */
export function parentKey(key: string): string {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  return trimmed.slice(0, trimmed.lastIndexOf('/') + 1);
}

/** Checks and measures local sources before anything is stored, so bad input creates nothing. */
export async function inspectSources(paths: readonly string[], field: string): Promise<LocalSource[]> {
  const sources: LocalSource[] = [];
  for (const source of paths) {
    const stat = await fs.promises.stat(source).catch(() => undefined);
    if (!stat || (!stat.isFile() && !stat.isDirectory())) {
      throw new InvalidInputError('Upload', [{ field, message: `no such file or folder: ${source}` }]);
    }
    if (stat.isFile()) {
      sources.push({ path: source, isFolder: false, files: 1, bytes: stat.size });
      continue;
    }
    const { files, bytes } = await measureFolder(source);
    if (files === 0) throw new InvalidInputError('Upload', [{ field, message: `the folder ${source} holds no files: nothing to upload` }]);
    sources.push({ path: source, isFolder: true, files, bytes });
  }
  return sources;
}

/** Files and bytes that uploadFolder will send. */
export async function measureFolder(dir: string): Promise<{ files: number; bytes: number }> {
  const files = await localFiles(dir);
  return { files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0) };
}

/**
 * One source goes to the destination itself (a folder's files below it; a file at its key, or
 * below it when it ends in "/"); several go below it, each by its name.
 */
export function planUpload(sources: readonly LocalSource[], destination: DataLocation, single: boolean): UploadPlan {
  const { scheme, bucket, key } = destination;
  const base = folderKey(key);
  const items: UploadItem[] = sources.map((source) => {
    const name = path.basename(source.path);
    if (single) return { source, key: source.isFolder ? base : key === base ? base + name : key };
    return { source, key: source.isFolder ? `${base}${name}/` : base + name };
  });
  const oneFile = single && items[0] !== undefined && !items[0].source.isFolder ? items[0] : undefined;
  const landing = oneFile ? oneFile.key : base;
  return {
    scheme,
    bucket,
    url: `${scheme}://${bucket}/${landing}`,
    folder: oneFile ? parentKey(landing) : base,
    items,
    files: sources.reduce((sum, s) => sum + s.files, 0),
    bytes: sources.reduce((sum, s) => sum + s.bytes, 0),
  };
}

/** Uploads the plan's items one after the other, reporting one running total. */
export async function runUpload(store: ObjectStore, plan: UploadPlan, signal?: AbortSignal, onProgress?: (progress: TransferProgress) => void): Promise<TransferResult> {
  await store.ensureBucket(plan.bucket);
  let objects = 0;
  let bytes = 0;
  for (const { source, key } of plan.items) {
    const report = (p: TransferProgress) => onProgress?.({ objects: objects + p.objects, bytes: bytes + p.bytes, totalObjects: plan.files, totalBytes: plan.bytes });
    const options = { ...(signal ? { signal } : {}), onProgress: report };
    if (source.isFolder) {
      const result = await uploadFolder(source.path, { store, bucket: plan.bucket, prefix: key, url: `${plan.scheme}://${plan.bucket}/${key}` }, options);
      objects += result.objects;
      bytes += result.bytes;
    } else {
      await store.upload(source.path, plan.bucket, key, options);
      objects += 1;
      bytes += source.bytes;
    }
  }
  return { objects, bytes };
}

/** Lists what the URL names: the object of that key, else every object under the folder. */
export async function findData(store: ObjectStore, location: DataLocation, signal?: AbortSignal): Promise<FoundData> {
  try {
    return await listData(store, location, signal);
  } catch (error) {
    if (!(error instanceof StorageError) || error.storageCode !== 'NoSuchBucket') throw error;
    throw new InvalidInputError('Storage location', [{ field: 'url', message: `names the bucket "${location.bucket}", which does not exist in the ${store.description}` }]);
  }
}

async function firstObject(store: ObjectStore, bucket: string, prefix: string, options: { readonly signal?: AbortSignal }): Promise<StoredObject | undefined> {
  for await (const page of store.list(bucket, prefix, { pageSize: 1, ...options })) return page[0];
  return undefined;
}

export async function listData(store: ObjectStore, location: DataLocation, signal?: AbortSignal): Promise<FoundData> {
  const { scheme, bucket, key } = location;
  const options = signal ? { signal } : {};
  if (key !== '' && !key.endsWith('/')) {
    // The object "a" sorts before "a.csv" and "a/": one entry says whether it exists. (Not
    // listLevel: it leaves out an object whose key is the prefix, taking it for a folder marker.)
    const object = await firstObject(store, bucket, key, options);
    if (object?.key === key) return { scheme, bucket, key, isFolder: false, objects: [object], url: `${scheme}://${bucket}/${key}` };
  }
  const prefix = folderKey(key);
  const url = `${scheme}://${bucket}/${prefix}`;
  const objects = await listPrefix({ store, bucket, prefix, url }, options);
  return { scheme, bucket, key: prefix, isFolder: true, objects, url };
}

export async function runDownload(store: ObjectStore, found: FoundData, dir: string, signal?: AbortSignal, onProgress?: (progress: TransferProgress) => void): Promise<TransferResult> {
  if (found.objects.length === 0) throw new InvalidInputError('Download', [{ field: 'url', message: `nothing is stored at ${found.url}` }]);
  const options = { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) };
  if (found.isFolder) return downloadObjects({ store, bucket: found.bucket, prefix: found.key, url: found.url }, found.objects, dir, options);
  const object = found.objects[0] as StoredObject;
  const file = path.join(dir, path.posix.basename(object.key));
  const total = { totalObjects: 1, totalBytes: object.size };
  await store.download(found.bucket, object.key, file, { ...options, onProgress: (p) => onProgress?.({ ...p, ...total }) });
  return { objects: 1, bytes: object.size };
}

export async function runDelete(store: ObjectStore, found: FoundData, signal?: AbortSignal, onProgress?: (progress: TransferProgress) => void): Promise<number> {
  const totals = { totalObjects: found.objects.length, totalBytes: totalBytes(found.objects) };
  let objects = 0;
  let bytes = 0;
  for (let start = 0; start < found.objects.length; start += DELETE_BATCH) {
    if (signal?.aborted) throw new CancelledError('Deletion');
    const batch = found.objects.slice(start, start + DELETE_BATCH);
    await store.deleteObjects(found.bucket, batch.map((o) => o.key), signal ? { signal } : {});
    objects += batch.length;
    bytes += totalBytes(batch);
    onProgress?.({ objects, bytes, ...totals });
  }
  return objects;
}

export function totalBytes(objects: readonly StoredObject[]): number {
  return objects.reduce((sum, o) => sum + o.size, 0);
}

