/**
 * Training acceleration: job inputs staged from a store are kept in a content-addressed cache, so a
 * second job on the same data starts without downloading anything. An entry is `<root>/<hash>/`,
 * the hash being the fingerprint of the prefix's listing (keys, sizes, ETags); it is bind-mounted
 * read-only into job containers, so everything in it is readable by the container user (UID 1000).
 * Least recently used entries go when the cache grows beyond its budget, except those in use.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { cancelled, throwIfAborted } from './concurrency';
import type { StoreLocation, StoredObject, TransferProgress } from './objectStore';
import { downloadObjects, fingerprintObjects, listPrefix, type FolderTransferOptions, type PrefixFingerprint } from './transfer';
import { chmodTree } from './fileModes';

export interface InputCacheOptions {
  /** Budget for the whole cache; entries in use are kept even above it. Default 20 GiB. */
  readonly maxBytes?: number;
}

export interface StagedInput extends PrefixFingerprint {
  /** The staged folder: mount it read-only, never write to it. */
  readonly dir: string;
  /** True when the cache already held it and nothing was downloaded. */
  readonly hit: boolean;
  /** Lets the entry be evicted again; call once the job no longer uses `dir`. */
  readonly release: () => void;
}

const ENTRY = /^[0-9a-f]{64}$/;
const TEMPORARY = /^([0-9a-f]{64})\.(partial|evicting)-(\d+)-[0-9a-f]+$/;
const metaSchema = z.object({ version: z.literal(1), bytes: z.number(), objects: z.number(), url: z.string(), lastUsed: z.number() });
type EntryMeta = z.output<typeof metaSchema>;

interface SharedDownload {
  readonly done: Promise<void>;
  readonly controller: AbortController;
  readonly listeners: Set<(progress: TransferProgress) => void>;
  waiters: number;
}

export class InputCache {
  private readonly maxBytes: number;
  /** Downloads in progress in this process, by hash: concurrent stages of one input share one. */
  private readonly downloads = new Map<string, SharedDownload>();
  private evicting: Promise<void> = Promise.resolve();

  constructor(
    readonly root: string,
    options: InputCacheOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 20 * 1024 ** 3;
  }

  async stage(location: StoreLocation, options: FolderTransferOptions = {}): Promise<StagedInput> {
    await fs.promises.mkdir(path.join(this.root, 'pins'), { recursive: true });
    await fs.promises.chmod(this.root, 0o755);
    const objects = await listPrefix(location, options);
    const fingerprint = fingerprintObjects(location, objects);
    const { hash } = fingerprint;
    const dir = path.join(this.root, hash);
    // Pinned before anything else, so no eviction (here or in another window) removes it under us.
    const release = this.pin(hash);
    try {
      let hit = await isDirectory(dir);
      if (hit) {
        await this.writeMeta(hash, { version: 1, bytes: fingerprint.bytes, objects: fingerprint.objects, url: location.url, lastUsed: Date.now() });
      } else {
        hit = await this.sharedDownload(hash, location, objects, options);
        await this.evict();
      }
      return { ...fingerprint, dir, hit, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Evicts least recently used entries until the cache fits its budget; entries in use stay. */
  evict(): Promise<void> {
    const run = this.evicting.then(() => this.evictNow());
    this.evicting = run.catch(() => undefined);
    return run;
  }

  /** Waits for this process's download of `hash`, starting it if none runs; true if another process won. */
  private async sharedDownload(hash: string, location: StoreLocation, objects: readonly StoredObject[], options: FolderTransferOptions): Promise<boolean> {
    let shared = this.downloads.get(hash);
    let foundReady = false;
    if (!shared) {
      const controller = new AbortController();
      const listeners = new Set<(progress: TransferProgress) => void>();
      const done = this.download(hash, location, objects, controller.signal, options.concurrency, (p) => listeners.forEach((l) => l(p))).then((ready) => {
        foundReady = ready;
      });
      const created: SharedDownload = { done, controller, listeners, waiters: 0 };
      shared = created;
      this.downloads.set(hash, created);
      done.then(
        () => this.downloads.delete(hash),
        () => this.downloads.delete(hash),
      );
    }
    const download = shared;
    download.waiters += 1;
    if (options.onProgress) download.listeners.add(options.onProgress);
    try {
      await untilAborted(download.done, options.signal);
      return foundReady;
    } finally {
      download.waiters -= 1;
      if (options.onProgress) download.listeners.delete(options.onProgress);
      // The download runs for whoever still waits; the last one to give up stops it.
      if (download.waiters === 0 && options.signal?.aborted) download.controller.abort(options.signal.reason);
    }
  }

  /** Downloads into a temporary folder renamed into place when complete; true if it was already there. */
  private async download(
    hash: string,
    location: StoreLocation,
    objects: readonly StoredObject[],
    signal: AbortSignal,
    concurrency: number | undefined,
    onProgress: (progress: TransferProgress) => void,
  ): Promise<boolean> {
    const partial = path.join(this.root, `${hash}.partial-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      const result = await downloadObjects(location, objects, partial, { signal, onProgress, ...(concurrency ? { concurrency } : {}) });
      // Folders 0755 and files 0644: job containers run as UID 1000 and must read every input.
      await chmodTree(partial, 0o755, 0o644);
      let ready = false;
      try {
        await fs.promises.rename(partial, path.join(this.root, hash));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        ready = true; // another process staged the same content first: use theirs
        await fs.promises.rm(partial, { recursive: true, force: true });
      }
      await this.writeMeta(hash, { version: 1, bytes: result.bytes, objects: result.objects, url: location.url, lastUsed: Date.now() });
      return ready;
    } catch (error) {
      await fs.promises.rm(partial, { recursive: true, force: true });
      throw error;
    }
  }

  private async evictNow(): Promise<void> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.root);
    } catch {
      return;
    }
    const inUse = this.pinnedHashes();
    const entries: Array<{ hash: string; bytes: number; lastUsed: number }> = [];
    for (const name of names) {
      const temporary = TEMPORARY.exec(name);
      if (temporary && !processAlive(Number(temporary[3]))) {
        // Left behind by a process that died mid-download or mid-eviction.
        await fs.promises.rm(path.join(this.root, name), { recursive: true, force: true });
        continue;
      }
      if (!ENTRY.test(name)) continue;
      const meta = await this.readMeta(name);
      entries.push(meta ? { hash: name, bytes: meta.bytes, lastUsed: meta.lastUsed } : { hash: name, ...(await measure(path.join(this.root, name))) });
    }
    let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    for (const entry of entries.sort((a, b) => a.lastUsed - b.lastUsed)) {
      if (total <= this.maxBytes) break;
      if (inUse.has(entry.hash)) continue;
      // Renamed first, so the entry disappears at once and a half-removed one is never seen as a hit.
      const doomed = path.join(this.root, `${entry.hash}.evicting-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        await fs.promises.rename(path.join(this.root, entry.hash), doomed);
      } catch {
        continue;
      }
      await fs.promises.rm(path.join(this.root, `${entry.hash}.json`), { force: true });
      await fs.promises.rm(doomed, { recursive: true, force: true });
      total -= entry.bytes;
    }
  }

  /** Marks `hash` in use with a file naming this process (other windows sharing the cache see it). */
  private pin(hash: string): () => void {
    const file = path.join(this.root, 'pins', `${hash}.${process.pid}.${randomBytes(4).toString('hex')}`);
    fs.writeFileSync(file, '');
    let released = false;
    return () => {
      if (released) return;
      released = true;
      fs.rmSync(file, { force: true });
    };
  }

  private pinnedHashes(): Set<string> {
    const pinned = new Set<string>();
    const dir = path.join(this.root, 'pins');
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const [hash, pid] = name.split('.');
      if (!hash || !pid) continue;
      if (processAlive(Number(pid))) pinned.add(hash);
      else fs.rmSync(path.join(dir, name), { force: true });
    }
    return pinned;
  }

  private async readMeta(hash: string): Promise<EntryMeta | undefined> {
    try {
      return metaSchema.parse(JSON.parse(await fs.promises.readFile(path.join(this.root, `${hash}.json`), 'utf8')));
    } catch {
      return undefined;
    }
  }

  private async writeMeta(hash: string, meta: EntryMeta): Promise<void> {
    const file = path.join(this.root, `${hash}.json`);
    const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.promises.writeFile(temp, JSON.stringify(meta));
    await fs.promises.rename(temp, file);
  }
}

/** Settles with `work`, or rejects as soon as `signal` aborts (the work itself goes on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function measure(dir: string): Promise<{ bytes: number; lastUsed: number }> {
  let bytes = 0;
  const walk = async (folder: string) => {
    for (const entry of await fs.promises.readdir(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) bytes += (await fs.promises.stat(full)).size;
    }
  };
  await walk(dir).catch(() => undefined);
  const stat = await fs.promises.stat(dir).catch(() => undefined);
  return { bytes, lastUsed: stat?.mtimeMs ?? 0 };
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
