/**
 * The embedded object store: a root folder in which each bucket is a subfolder and each key a
 * relative file path. It is the default store, so jobs work with no S3 server at all.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError } from '../core/errors';
import { cancelled, throwIfAborted } from './concurrency';
import { compareKeys, relativePathProblem } from './objectKeys';
import type { LevelOptions, ListOptions, ObjectStore, StoreLevel, StoredObject, TransferOptions } from './objectStore';
import { StorageError } from './storageError';

const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Temporary files live here, outside every bucket, so a listing never shows a half-written object. */
const PARTIAL_DIR = '.partial';

export class FolderStore implements ObjectStore {
  readonly description: string;

  constructor(readonly root: string) {
    this.description = `local folder store at ${root}`;
  }

  async *list(bucket: string, prefix: string, options: ListOptions = {}): AsyncIterable<StoredObject[]> {
    const bucketDir = await this.existingBucketDir(bucket);
    const pageSize = Math.max(1, Math.min(options.pageSize ?? 1000, 1000));
    // Start at the deepest folder the prefix names; the rest of the prefix filters its entries.
    const slash = prefix.lastIndexOf('/');
    const folderKey = prefix.slice(0, slash + 1);
    if (folderKey && relativePathProblem(folderKey.slice(0, -1))) return;
    let page: StoredObject[] = [];
    for await (const object of walk(path.join(bucketDir, folderKey), folderKey, prefix, options.signal)) {
      page.push(object);
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length) yield page;
  }

  /** Entries of one folder, sorted by key; the continuation token is the last key returned. */
  async listLevel(bucket: string, prefix: string, options: LevelOptions = {}): Promise<StoreLevel> {
    const bucketDir = await this.existingBucketDir(bucket);
    throwIfAborted(options.signal, 'Listing');
    const pageSize = Math.max(1, Math.min(options.pageSize ?? 1000, 1000));
    // As in list(): the folder the prefix ends in, its last segment filtering the entries.
    const folderKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    if (folderKey && relativePathProblem(folderKey.slice(0, -1))) return { folders: [], objects: [] };
    const after = options.continuationToken;
    const keys = (await readFolder(path.join(bucketDir, folderKey)))
      .filter((entry) => entry.isFile() || entry.isDirectory())
      .map((entry) => folderKey + entry.name + (entry.isDirectory() ? '/' : ''))
      .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
      .sort(compareKeys);
    const page = keys.slice(0, pageSize);
    const folders = page.filter((key) => key.endsWith('/'));
    const objects: StoredObject[] = [];
    for (const key of page.filter((k) => !k.endsWith('/'))) {
      const stat = await fs.promises.stat(path.join(bucketDir, key)).catch(() => undefined);
      if (stat?.isFile()) objects.push(storedObject(key, stat)); // else deleted while listing
    }
    const last = page.at(-1);
    return { folders, objects, ...(keys.length > page.length && last !== undefined ? { nextContinuationToken: last } : {}) };
  }

  async listBuckets(options: { readonly signal?: AbortSignal } = {}): Promise<string[]> {
    throwIfAborted(options.signal, 'Listing');
    let entries: fs.Dirent[];
    try {
      entries = await readFolder(this.root);
    } catch (error) {
      throw new StorageError(`Cannot list the buckets of the ${this.description}: ${(error as Error).message}`, (error as NodeJS.ErrnoException).code ?? 'Unknown');
    }
    // Internal folders such as ".partial" are no valid bucket names, so this leaves them out.
    return entries
      .filter((entry) => entry.isDirectory() && isBucketName(entry.name))
      .map((entry) => entry.name)
      .sort(compareKeys);
  }

  async download(bucket: string, key: string, file: string, options: TransferOptions = {}): Promise<void> {
    const source = this.objectPath(await this.existingBucketDir(bucket), bucket, key);
    let size: number;
    try {
      const stat = await fs.promises.stat(source);
      if (!stat.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      size = stat.size;
    } catch (error) {
      throw this.failure(error, 'download', bucket, key);
    }
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await copyAtomically(source, file, path.dirname(file), size, options);
  }

  /** Creates the bucket's folder when missing: in the embedded store a bucket is only a folder. */
  async upload(file: string, bucket: string, key: string, options: TransferOptions = {}): Promise<void> {
    const target = this.objectPath(this.bucketDir(bucket), bucket, key);
    const stat = await fs.promises.stat(file);
    const partialDir = path.join(this.root, PARTIAL_DIR);
    await fs.promises.mkdir(partialDir, { recursive: true });
    try {
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
    } catch (error) {
      throw this.failure(error, 'upload', bucket, key);
    }
    try {
      await copyAtomically(file, target, partialDir, stat.size, options);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw this.failure(error, 'upload', bucket, key);
    }
  }

  async deleteObjects(bucket: string, keys: readonly string[], options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    const bucketDir = await this.existingBucketDir(bucket);
    const targets = keys.map((key) => this.objectPath(bucketDir, bucket, key));
    for (const target of targets) {
      throwIfAborted(options.signal, 'Deletion');
      try {
        await fs.promises.unlink(target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
        continue;
      }
      // Folders exist only to hold keys: remove the ones this left empty, as S3 would show them.
      for (let dir = path.dirname(target); dir !== bucketDir && dir.startsWith(bucketDir); dir = path.dirname(dir)) {
        try {
          await fs.promises.rmdir(dir);
        } catch {
          break;
        }
      }
    }
  }

  async ensureBucket(bucket: string): Promise<void> {
    await fs.promises.mkdir(this.bucketDir(bucket), { recursive: true });
  }

  private bucketDir(bucket: string): string {
    if (!isBucketName(bucket)) {
      throw new InvalidInputError(`Bucket "${bucket}"`, [{ field: '', message: 'must be 3 to 63 lowercase letters, digits, "." and "-"' }]);
    }
    return path.join(this.root, bucket);
  }

  private async existingBucketDir(bucket: string): Promise<string> {
    const dir = this.bucketDir(bucket);
    try {
      if ((await fs.promises.stat(dir)).isDirectory()) return dir;
    } catch {
      // reported below
    }
    throw new StorageError(`Bucket "${bucket}" does not exist in the ${this.description}.`, 'NoSuchBucket');
  }

  private objectPath(bucketDir: string, bucket: string, key: string): string {
    const problem = relativePathProblem(key);
    if (problem) {
      throw new InvalidInputError(`Object key "${key}" in bucket "${bucket}"`, [{ field: '', message: `the local folder store keeps keys as file paths, and this one ${problem}` }]);
    }
    return path.join(bucketDir, ...key.split('/'));
  }

  private failure(error: unknown, operation: string, bucket: string, key: string): Error {
    const code = (error as NodeJS.ErrnoException).code ?? 'Unknown';
    if (code === 'ENOENT') return new StorageError(`Cannot ${operation} "${key}": no such object in bucket "${bucket}" of the ${this.description}.`, 'NoSuchKey');
    if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
      return new StorageError(`Cannot ${operation} "${key}" in bucket "${bucket}": a file and a folder of the same name would collide in the ${this.description}.`, code);
    }
    return new StorageError(`Cannot ${operation} "${key}" in bucket "${bucket}" of the ${this.description}: ${(error as Error).message}`, code);
  }
}

function isBucketName(name: string): boolean {
  return BUCKET_PATTERN.test(name) && !name.includes('..');
}

/** The entries of a folder; none when it does not exist (a prefix nothing is stored under). */
async function readFolder(dir: string): Promise<fs.Dirent[]> {
  try {
    return await fs.promises.readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}

/** Size and modification time stand in for an ETag: either changes when the content does. */
function storedObject(key: string, stat: fs.Stats): StoredObject {
  return { key, size: stat.size, etag: `"${Math.trunc(stat.mtimeMs).toString(16)}-${stat.size.toString(16)}"`, lastModified: stat.mtimeMs };
}

/** Objects under `dir` (whose key is `dirKey`) that start with `prefix`, in key order. */
async function* walk(dir: string, dirKey: string, prefix: string, signal: AbortSignal | undefined): AsyncGenerator<StoredObject> {
  throwIfAborted(signal, 'Listing');
  const entries = await readFolder(dir);
  // A folder's keys all start with "name/": sorting folders by that form keeps the walk in key order.
  const named = entries
    .filter((entry) => entry.isFile() || entry.isDirectory())
    .map((entry) => ({ entry, key: dirKey + entry.name + (entry.isDirectory() ? '/' : '') }))
    .sort((a, b) => compareKeys(a.key, b.key));
  for (const { entry, key } of named) {
    if (entry.isDirectory()) {
      if (key.startsWith(prefix) || prefix.startsWith(key)) yield* walk(path.join(dir, entry.name), key, prefix, signal);
    } else if (key.startsWith(prefix)) {
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(path.join(dir, entry.name));
      } catch {
        continue; // deleted while listing
      }
      yield storedObject(key, stat);
    }
  }
}

/** Copies through a temporary file in `tempDir`, renamed onto `target` only when complete. */
async function copyAtomically(source: string, target: string, tempDir: string, size: number, options: TransferOptions): Promise<void> {
  throwIfAborted(options.signal);
  const temp = path.join(tempDir, `.${path.basename(target)}.partial-${randomBytes(6).toString('hex')}`);
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      options.onProgress?.({ bytes, totalBytes: size, objects: 0, totalObjects: 1 });
      callback(null, chunk);
    },
  });
  try {
    await pipeline(fs.createReadStream(source), counter, fs.createWriteStream(temp, { mode: 0o644 }), ...(options.signal ? [{ signal: options.signal }] : []));
    await fs.promises.rename(temp, target);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    if (options.signal?.aborted) throw cancelled(options.signal);
    throw error;
  }
  options.onProgress?.({ bytes, totalBytes: size, objects: 1, totalObjects: 1 });
}
