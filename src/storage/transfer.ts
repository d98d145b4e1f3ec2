/**
 * Whole folders to and from a store location, on top of the ObjectStore interface: several objects
 * at a time, one aggregated progress, cancellation that reaches every request in flight.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidInputError } from '../core/errors';
import { forEachConcurrently, throwIfAborted } from './concurrency';
import { assertSafePath, compareKeys, isFolderMarker } from './objectKeys';
import type { StoreLocation, StoredObject, TransferOptions, TransferProgress, TransferResult } from './objectStore';

export interface FolderTransferOptions extends TransferOptions {
  /** Objects in flight at once (default 16); large objects also go in parts, see the store. */
  readonly concurrency?: number;
}

export interface PrefixFingerprint extends TransferResult {
  /** sha256 (hex) over the location and every object's key, size and ETag, in key order. */
  readonly hash: string;
}

const DEFAULT_CONCURRENCY = 16;

/** Every object under the location, in key order. */
export async function listPrefix(location: StoreLocation, options: { readonly signal?: AbortSignal } = {}): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  for await (const page of location.store.list(location.bucket, location.prefix, options.signal ? { signal: options.signal } : {})) {
    objects.push(...page);
  }
  return objects;
}

/** The fingerprint of a listing: equal hashes mean the same objects with the same content. */
export function fingerprintObjects(location: StoreLocation, objects: readonly StoredObject[]): PrefixFingerprint {
  const hash = createHash('sha256');
  hash.update(`modelarts-prefix-fingerprint 1\n${location.store.description}\n${location.bucket}\n${location.prefix}\n`);
  let bytes = 0;
  for (const object of [...objects].sort((a, b) => compareKeys(a.key, b.key))) {
    hash.update(`${object.key}\0${object.size}\0${object.etag ?? `mtime:${object.lastModified ?? ''}`}\n`);
    bytes += object.size;
  }
  return { hash: hash.digest('hex'), objects: objects.length, bytes };
}

export async function fingerprintPrefix(location: StoreLocation, options: { readonly signal?: AbortSignal } = {}): Promise<PrefixFingerprint> {
  return fingerprintObjects(location, await listPrefix(location, options));
}

/**
 * Downloads every object under the location into `dir`, keys relative to the prefix becoming
 * paths. A key that would land outside `dir` fails the whole download before anything is written.
 */
export async function downloadPrefix(location: StoreLocation, dir: string, options: FolderTransferOptions = {}): Promise<TransferResult> {
  return downloadObjects(location, await listPrefix(location, options), dir, options);
}

/** Downloads these objects (a listing of the location) into `dir`; see downloadPrefix. */
export async function downloadObjects(location: StoreLocation, objects: readonly StoredObject[], dir: string, options: FolderTransferOptions = {}): Promise<TransferResult> {
  const folders = new Set<string>();
  const files: Array<{ object: StoredObject; file: string }> = [];
  const claimed = new Map<string, string>();
  for (const object of objects) {
    if (!object.key.startsWith(location.prefix)) continue;
    const relative = object.key.slice(location.prefix.length);
    if (relative === '') continue; // the marker of the prefix itself
    const marker = isFolderMarker(object);
    const target = marker ? relative.replace(/\/+$/, '') : relative;
    assertSafePath(target, object.key, `under ${location.url}`);
    // "a" and "a/b" can both be keys, but not both be paths.
    for (let parent = path.posix.dirname(target); parent !== '.'; parent = path.posix.dirname(parent)) {
      if (claimed.get(parent) === 'file') throw collision(location, object.key, parent);
      claimed.set(parent, 'folder');
    }
    if (marker) {
      if (claimed.get(target) === 'file') throw collision(location, object.key, target);
      claimed.set(target, 'folder');
      folders.add(target);
      continue;
    }
    if (claimed.has(target)) throw collision(location, object.key, target);
    claimed.set(target, 'file');
    files.push({ object, file: path.join(dir, ...target.split('/')) });
  }

  await fs.promises.mkdir(dir, { recursive: true });
  for (const folder of folders) await fs.promises.mkdir(path.join(dir, ...folder.split('/')), { recursive: true });
  const progress = progressAggregate(files.map((f) => f.object.size), options.onProgress);
  await forEachConcurrently(
    files.map((f, index) => ({ ...f, index })),
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async ({ object, file, index }, signal) => {
      await location.store.download(location.bucket, object.key, file, { signal, onProgress: (p) => progress.update(index, p.bytes) });
      progress.finish(index, object.size);
    },
    options.signal,
  );
  return progress.result();
}

/** Uploads every file under `dir` (following no folder links) to the location, paths becoming keys. */
export async function uploadFolder(dir: string, location: StoreLocation, options: FolderTransferOptions = {}): Promise<TransferResult> {
  const files = await localFiles(dir, options.signal);
  // Largest first: the long multipart uploads start early and the small files fill the gaps.
  files.sort((a, b) => b.size - a.size);
  const progress = progressAggregate(files.map((f) => f.size), options.onProgress);
  await forEachConcurrently(
    files.map((f, index) => ({ ...f, index })),
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async ({ file, key, size, index }, signal) => {
      await location.store.upload(file, location.bucket, location.prefix + key, { signal, onProgress: (p) => progress.update(index, p.bytes) });
      progress.finish(index, size);
    },
    options.signal,
  );
  return progress.result();
}

/** Deletes every object under the location; returns what was deleted. */
export async function deletePrefix(location: StoreLocation, options: FolderTransferOptions = {}): Promise<TransferResult> {
  let objects = 0;
  let bytes = 0;
  for await (const page of location.store.list(location.bucket, location.prefix, options.signal ? { signal: options.signal } : {})) {
    throwIfAborted(options.signal, 'Deletion');
    await location.store.deleteObjects(location.bucket, page.map((o) => o.key), options.signal ? { signal: options.signal } : {});
    objects += page.length;
    bytes += page.reduce((sum, o) => sum + o.size, 0);
    options.onProgress?.({ bytes, objects });
  }
  return { objects, bytes };
}

/** The files uploadFolder sends from `dir`: path, key (relative, `/`-separated) and size. */
export async function localFiles(dir: string, signal?: AbortSignal): Promise<Array<{ file: string; key: string; size: number }>> {
  const files: Array<{ file: string; key: string; size: number }> = [];
  await collectFiles(dir, '', files, signal);
  return files;
}

async function collectFiles(dir: string, keyPrefix: string, into: Array<{ file: string; key: string; size: number }>, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await collectFiles(full, `${keyPrefix}${entry.name}/`, into, signal);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      // A link to a file is uploaded as the file; a link to a folder is not followed (no cycles).
      const stat = await fs.promises.stat(full).catch(() => undefined);
      if (stat?.isFile()) into.push({ file: full, key: keyPrefix + entry.name, size: stat.size });
    }
  }
}

function collision(location: StoreLocation, key: string, relative: string): InvalidInputError {
  return new InvalidInputError(`Object key "${key}" under ${location.url}`, [
    { field: '', message: `it cannot be downloaded: "${relative}" would have to be both a file and a folder` },
  ]);
}

/** Sums per-object progress into one running total. */
function progressAggregate(sizes: readonly number[], onProgress: ((progress: TransferProgress) => void) | undefined) {
  const totalBytes = sizes.reduce((sum, size) => sum + size, 0);
  const perObject = new Array<number>(sizes.length).fill(0);
  let bytes = 0;
  let objects = 0;
  const report = () => onProgress?.({ bytes, totalBytes, objects, totalObjects: sizes.length });
  return {
    update(index: number, objectBytes: number) {
      bytes += objectBytes - (perObject[index] ?? 0);
      perObject[index] = objectBytes;
      report();
    },
    finish(index: number, size: number) {
      bytes += size - (perObject[index] ?? 0);
      perObject[index] = size;
      objects += 1;
      report();
    },
    result(): TransferResult {
      return { objects, bytes };
    },
  };
}
