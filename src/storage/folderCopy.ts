/**
 * Copies a job's output folder somewhere a person chose ("Download Output…"): into a new folder of
 * its own, never over something already there, with progress and cancel; a copy that fails or is
 * cancelled removes what it wrote, so nothing is left half-copied.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CancelledError } from '../core/errors';
import { uniqueName } from '../core/format';
import { localFiles } from './transfer';

export interface FolderCopyProgress {
  readonly files: number;
  readonly totalFiles: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

export interface FolderCopyResult {
  /** The folder made for the copy. */
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
}

/** A name for a new folder in `parent`: `name`, else `name-2`, `name-3`… whichever does not exist. */
export function freeFolderName(parent: string, name: string): string {
  return uniqueName(name, (candidate) => fs.existsSync(path.join(parent, candidate)));
}

export async function copyFolderInto(
  source: string,
  parent: string,
  name: string,
  options: { readonly signal?: AbortSignal; readonly onProgress?: (progress: FolderCopyProgress) => void } = {},
): Promise<FolderCopyResult> {
  const files = await localFiles(source, options.signal);
  const totalBytes = files.reduce((sum, file) => sum + file.size, 0);
  const dir = path.join(parent, freeFolderName(parent, name));
  await fs.promises.mkdir(dir, { recursive: false });
  let bytes = 0;
  let copied = 0;
  try {
    for (const file of files) {
      if (options.signal?.aborted) throw new CancelledError('Copying the output');
      const target = path.join(dir, ...file.key.split('/'));
      await fs.promises.mkdir(path.dirname(target), { recursive: true });
      await pipeline(fs.createReadStream(file.file), fs.createWriteStream(target, { flags: 'wx' }), ...(options.signal ? [{ signal: options.signal }] : []));
      bytes += file.size;
      copied++;
      options.onProgress?.({ files: copied, totalFiles: files.length, bytes, totalBytes });
    }
  } catch (error) {
    await fs.promises.rm(dir, { recursive: true, force: true });
    if (options.signal?.aborted) throw new CancelledError('Copying the output');
    throw error;
  }
  return { dir, files: copied, bytes };
}
