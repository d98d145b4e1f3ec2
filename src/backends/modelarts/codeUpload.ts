/**
 * Sends a code folder to OBS before a cloud job is created, incrementally: a manifest object beside
 * the code (`<prefix>.modelarts-upload-manifest.json`: each file's size and sha256) says what the
 * last upload to that location sent, so only files whose content changed go again, and files that
 * disappeared are deleted (only those the manifest names: nothing else under the prefix is ever
 * touched). The manifest is written last, after every upload succeeded, so an interrupted upload is
 * redone next time rather than taken as done. One listing of the prefix checks the manifest against
 * what is really stored: an object it names that is missing (or of another size or ETag) goes again.
 * The manifest lands in the job's code folder with the code; it is small and harmless there.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { checkCodeLimits, listCodeFiles, type CodeFile, type CodeLimits } from '../../storage/codeIgnore';
import { forEachConcurrently, throwIfAborted } from '../../storage/concurrency';
import { compareKeys } from '../../storage/objectKeys';
import type { ObjectStore, StoredObject, TransferProgress } from '../../storage/objectStore';

/** The manifest's name under the prefix; no code file may have it. */
export const UPLOAD_MANIFEST = '.modelarts-upload-manifest.json';

const entrySchema = z.object({
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The object's ETag as listed after the upload: another ETag later means someone replaced it. */
  etag: z.string().optional(),
});
const manifestSchema = z.object({ version: z.literal(1), files: z.record(z.string(), entrySchema) });
type ManifestEntry = z.output<typeof entrySchema>;
type Manifest = z.output<typeof manifestSchema>;

const hashCacheSchema = z.object({
  version: z.literal(1),
  dir: z.string(),
  files: z.record(z.string(), z.object({ size: z.number(), mtimeMs: z.number(), sha256: z.string() })),
});
type HashCache = z.output<typeof hashCacheSchema>['files'];

export interface CodeUploadOptions {
  /** Aborting stops the upload, requests in flight included; the manifest is then not written. */
  readonly signal?: AbortSignal;
  /** Bytes and objects of what is actually sent (unchanged files are not counted, nor the manifest). */
  readonly onProgress?: (progress: TransferProgress) => void;
  /** Files in flight at once (default 8); large files also go in parts, see the store. */
  readonly concurrency?: number;
  /** A folder for a local cache of content hashes by size and mtime, so unchanged files are not read again. */
  readonly cacheDir?: string;
  /** Checked before anything is sent: ModelArts' limits by default, `false` for none. */
  readonly limits?: CodeLimits | false;
  /** The field named when the folder is beyond a limit (default `algorithm.code_dir`). */
  readonly field?: string;
}

export interface CodeUploadResult {
  /** Files of the folder that the job gets (after the ignore rules), and their bytes. */
  readonly files: number;
  readonly bytes: number;
  readonly uploaded: number;
  readonly uploadedBytes: number;
  /** Objects of files that are no longer in the folder (or are now ignored). */
  readonly deleted: number;
  readonly unchanged: number;
}

const DEFAULT_CONCURRENCY = 8;
const HASH_CONCURRENCY = 4;
/** A file modified this close to its hashing could change again within the clock's resolution: not cached. */
const RACY_MS = 2000;

/** Uploads the code folder `dir` to `bucket`/`prefix` (empty or ending in "/"), sending only what changed. */
export async function uploadCodeFolder(store: ObjectStore, dir: string, bucket: string, prefix: string, options: CodeUploadOptions = {}): Promise<CodeUploadResult> {
  const { signal } = options;
  if (prefix !== '' && !prefix.endsWith('/')) throw new InvalidInputError('Code upload', [{ field: 'prefix', message: `must end with "/" (got "${prefix}")` }]);
  const listing = await listCodeFiles(dir, { signal });
  if (options.limits !== false) checkCodeLimits(dir, listing, { ...options.limits, field: options.field ?? 'algorithm.code_dir' });
  if (listing.files.some((f) => f.rel === UPLOAD_MANIFEST)) {
    throw new InvalidInputError('Code upload', [{ field: options.field ?? 'algorithm.code_dir', message: `${dir} holds a file named ${UPLOAD_MANIFEST}, a name the upload keeps for itself` }]);
  }
  const manifestKey = prefix + UPLOAD_MANIFEST;
  const stored = await listObjects(store, bucket, prefix, signal);
  const previous = stored.has(manifestKey) ? await readManifest(store, bucket, manifestKey, signal) : undefined;
  // Only a file the last upload stored at its size may be unchanged: those are hashed to decide.
  // Every other file is sent at once, hashed (for the manifest) while it goes.
  const mayBeSame = (file: CodeFile): boolean => {
    const before = previous?.files[file.rel];
    const object = stored.get(prefix + file.rel);
    return before !== undefined && object !== undefined && before.size === file.size && object.size === file.size && (!before.etag || !object.etag || before.etag === object.etag);
  };
  const fresh: HashCache = {};
  const hashes = await hashFiles(dir, listing.files.filter(mayBeSame), options, fresh);

  const next: Record<string, ManifestEntry> = {};
  const toSend: CodeFile[] = [];
  for (const file of listing.files) {
    const sha256 = hashes.get(file.rel);
    if (sha256 !== undefined && previous?.files[file.rel]?.sha256 === sha256) next[file.rel] = entry(file.size, sha256, stored.get(prefix + file.rel)?.etag);
    else toSend.push(file);
  }
  const sentHashes = hashFiles(dir, toSend.filter((file) => !hashes.has(file.rel)), options, fresh);
  // A failed upload must not leave this promise rejected and unobserved.
  sentHashes.catch(() => undefined);

  // Largest first: the long multipart uploads start early and the small files fill the gaps.
  toSend.sort((a, b) => b.size - a.size);
  const progress = progressTotal(toSend.map((f) => f.size), options.onProgress);
  await forEachConcurrently(
    toSend.map((file, index) => ({ file, index })),
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async ({ file, index }, taskSignal) => {
      await store.upload(path.join(dir, ...file.rel.split('/')), bucket, prefix + file.rel, { signal: taskSignal, onProgress: (p) => progress.update(index, p.bytes) });
      progress.finish(index, file.size);
    },
    signal,
  );
  for (const [rel, sha256] of await sentHashes) hashes.set(rel, sha256);
  const cacheFile = hashCacheFile(dir, options);
  // A cache that cannot be written only costs time.
  if (cacheFile) await writeHashCache(cacheFile, path.resolve(dir), fresh).catch(() => undefined);
  if (toSend.length) {
    // The ETags the server gave, for the next upload's check (one more listing, only when something was sent).
    const after = await listObjects(store, bucket, prefix, signal);
    for (const file of toSend) {
      const object = after.get(prefix + file.rel);
      next[file.rel] = entry(file.size, hashes.get(file.rel) as string, object?.size === file.size ? object.etag : undefined);
    }
  }

  // Only what the previous manifest names, and only what is still there.
  const present = new Set(listing.files.map((f) => f.rel));
  const gone = Object.keys(previous?.files ?? {}).filter((rel) => !present.has(rel) && stored.has(prefix + rel));
  if (gone.length) await store.deleteObjects(bucket, gone.map((rel) => prefix + rel), { signal });

  const manifest: Manifest = { version: 1, files: next };
  if (!previous || canonical(previous) !== canonical(manifest)) await writeManifest(store, bucket, manifestKey, manifest, options.cacheDir, signal);
  const bytes = listing.files.reduce((sum, f) => sum + f.size, 0);
  return {
    files: listing.files.length,
    bytes,
    uploaded: toSend.length,
    uploadedBytes: toSend.reduce((sum, f) => sum + f.size, 0),
    deleted: gone.length,
    unchanged: listing.files.length - toSend.length,
  };
}

function entry(size: number, sha256: string, etag: string | undefined): ManifestEntry {
  return etag ? { size, sha256, etag } : { size, sha256 };
}

async function listObjects(store: ObjectStore, bucket: string, prefix: string, signal: AbortSignal | undefined): Promise<Map<string, StoredObject>> {
  const objects = new Map<string, StoredObject>();
  for await (const page of store.list(bucket, prefix, { signal })) for (const object of page) objects.set(object.key, object);
  return objects;
}

/**
 * The stored manifest; undefined when its content is not one (then everything is sent, and nothing
 * deleted). A failed download fails the upload: going on without it would leave deleted files behind.
 */
async function readManifest(store: ObjectStore, bucket: string, key: string, signal: AbortSignal | undefined): Promise<Manifest | undefined> {
  const temp = path.join(os.tmpdir(), `modelarts-manifest-${randomBytes(6).toString('hex')}.json`);
  try {
    await store.download(bucket, key, temp, { signal });
    let json: unknown;
    try {
      json = JSON.parse(await fs.promises.readFile(temp, 'utf8'));
    } catch {
      return undefined;
    }
    const parsed = manifestSchema.safeParse(json);
    return parsed.success ? parsed.data : undefined;
  } finally {
    await fs.promises.rm(temp, { force: true });
  }
}

async function writeManifest(store: ObjectStore, bucket: string, key: string, manifest: Manifest, cacheDir: string | undefined, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal, 'Code upload');
  const folder = cacheDir ?? os.tmpdir();
  await fs.promises.mkdir(folder, { recursive: true });
  const temp = path.join(folder, `modelarts-manifest-${randomBytes(6).toString('hex')}.json`);
  try {
    await fs.promises.writeFile(temp, canonical(manifest));
    await store.upload(temp, bucket, key, { signal });
  } finally {
    await fs.promises.rm(temp, { force: true });
  }
}

/** The manifest as stored: files in key order, so equal manifests have equal text. */
function canonical(manifest: Manifest): string {
  const files = Object.entries(manifest.files).sort((a, b) => compareKeys(a[0], b[0]));
  return `${JSON.stringify({ version: 1, files: Object.fromEntries(files.map(([rel, e]) => [rel, entry(e.size, e.sha256, e.etag)])) }, null, 1)}\n`;
}

/** sha256 of every file's content, read as a stream; from the cache in `cacheDir` when size and mtime match. */
function hashCacheFile(dir: string, options: CodeUploadOptions): string | undefined {
  return options.cacheDir ? path.join(options.cacheDir, `code-hashes-${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 20)}.json`) : undefined;
}

/** Hashes the files (from the cache where size and mtime match), adding what may be cached next time to `fresh`. */
async function hashFiles(dir: string, files: readonly CodeFile[], options: CodeUploadOptions, fresh: HashCache): Promise<Map<string, string>> {
  const root = path.resolve(dir);
  const cacheFile = hashCacheFile(dir, options);
  const cache = cacheFile ? await readHashCache(cacheFile, root) : {};
  const hashes = new Map<string, string>();
  const startedAt = Date.now();
  await forEachConcurrently(
    files,
    HASH_CONCURRENCY,
    async (file, taskSignal) => {
      const cached = cache[file.rel];
      const sha256 = cached && cached.size === file.size && cached.mtimeMs === file.mtimeMs ? cached.sha256 : await hashFile(path.join(root, ...file.rel.split('/')), taskSignal);
      hashes.set(file.rel, sha256);
      if (file.mtimeMs < startedAt - RACY_MS) fresh[file.rel] = { size: file.size, mtimeMs: file.mtimeMs, sha256 };
    },
    options.signal,
  );
  return hashes;
}

async function hashFile(file: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readHashCache(file: string, root: string): Promise<HashCache> {
  try {
    const parsed = hashCacheSchema.safeParse(JSON.parse(await fs.promises.readFile(file, 'utf8')));
    return parsed.success && parsed.data.dir === root ? parsed.data.files : {};
  } catch {
    return {};
  }
}

async function writeHashCache(file: string, root: string, files: HashCache): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.promises.writeFile(temp, JSON.stringify({ version: 1, dir: root, files }));
  await fs.promises.rename(temp, file);
}

/** Sums per-object progress into one running total over what is sent. */
function progressTotal(sizes: readonly number[], onProgress: ((progress: TransferProgress) => void) | undefined) {
  const totalBytes = sizes.reduce((sum, size) => sum + size, 0);
  const perObject = new Array<number>(sizes.length).fill(0);
  let bytes = 0;
  let objects = 0;
  const set = (index: number, objectBytes: number) => {
    bytes += objectBytes - (perObject[index] ?? 0);
    perObject[index] = objectBytes;
  };
  const report = () => onProgress?.({ bytes, totalBytes, objects, totalObjects: sizes.length });
  return {
    update(index: number, objectBytes: number) {
      set(index, objectBytes);
      report();
    },
    finish(index: number, size: number) {
      set(index, size);
      objects += 1;
      report();
    },
  };
}
