/**
 * OBS as the contract server sees it: `obs://bucket/path/` (or `/bucket/path/`) URLs on the S3
 * test server, with the transfers a job needs: code and inputs down before start, outputs and
 * logs up after exit. Folders are key prefixes ending in "/".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3ServerConfig } from '../s3Server';

export interface ObsLocation {
  readonly bucket: string;
  /** Object key or key prefix, without a leading slash. */
  readonly key: string;
}

/** `obs://bucket/a/b/` or `/bucket/a/b/` (ModelArts writes both); undefined for anything else. */
export function parseObsUrl(url: string): ObsLocation | undefined {
  const m = /^(?:obs:\/\/|\/)([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m?.[1]) return undefined;
  return { bucket: m[1], key: m[2] ?? '' };
}

export function obsUrl(location: ObsLocation): string {
  return `obs://${location.bucket}/${location.key}`;
}

export function asFolder(location: ObsLocation): ObsLocation {
  return location.key === '' || location.key.endsWith('/') ? location : { ...location, key: `${location.key}/` };
}

export function childOf(folder: ObsLocation, name: string): ObsLocation {
  return { bucket: folder.bucket, key: `${asFolder(folder).key}${name}` };
}

export interface TransferResult {
  readonly files: number;
  readonly bytes: number;
}

export class Obs {
  private clientPromise: Promise<S3Client> | undefined;

  constructor(private readonly config: S3ServerConfig | (() => Promise<S3ServerConfig>)) {}

  private client(): Promise<S3Client> {
    this.clientPromise ??= (async () => {
      const server = typeof this.config === 'function' ? await this.config() : this.config;
      return new S3Client({
        endpoint: server.endpoint,
        region: server.region,
        forcePathStyle: true,
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    })();
    return this.clientPromise;
  }

  async objectExists(location: ObsLocation): Promise<boolean> {
    const s3 = await this.client();
    try {
      await s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
      return true;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || status === 403) return false;
      throw error;
    }
  }

  /** Objects under a prefix (at most `max`), folder markers left out. */
  async list(prefix: ObsLocation, max = Infinity): Promise<Array<{ key: string; size: number }>> {
    const s3 = await this.client();
    const found: Array<{ key: string; size: number }> = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: prefix.bucket, Prefix: prefix.key, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key && !object.Key.endsWith('/')) found.push({ key: object.Key, size: object.Size ?? 0 });
        if (found.length >= max) return found;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /**
   * Downloads a folder (every object under the prefix) into `dir`; a URL that names one object
   * downloads that object into `dir` under its own name.
   */
  async download(location: ObsLocation, dir: string, signal?: AbortSignal): Promise<TransferResult> {
    fs.mkdirSync(dir, { recursive: true });
    const folder = asFolder(location);
    let objects = await this.list(folder);
    let base = folder.key;
    if (objects.length === 0 && !location.key.endsWith('/') && location.key !== '' && (await this.objectExists(location))) {
      objects = [{ key: location.key, size: 0 }];
      base = location.key.slice(0, location.key.lastIndexOf('/') + 1);
    }
    if (objects.length === 0) throw new Error(`${obsUrl(folder)} holds no objects`);
    const s3 = await this.client();
    let bytes = 0;
    for (const object of objects) {
      signal?.throwIfAborted();
      const target = path.join(dir, ...object.key.slice(base.length).split('/'));
      if (!target.startsWith(dir)) continue;
      const answer = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: object.key }), { abortSignal: signal });
      const content = (await answer.Body?.transformToByteArray()) ?? new Uint8Array();
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
      bytes += content.byteLength;
    }
    return { files: objects.length, bytes };
  }

  /** Uploads every file under `dir` below the folder `location`. */
  async upload(dir: string, location: ObsLocation): Promise<TransferResult> {
    const folder = asFolder(location);
    let files = 0;
    let bytes = 0;
    for (const file of walkFiles(dir)) {
      const relative = path.relative(dir, file).split(path.sep).join('/');
      const content = fs.readFileSync(file);
      await this.put(childOf(folder, relative), content);
      files += 1;
      bytes += content.byteLength;
    }
    return { files, bytes };
  }

  async put(location: ObsLocation, content: Buffer | string): Promise<void> {
    const s3 = await this.client();
    await s3.send(new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: content }));
  }

  destroy(): void {
    void this.clientPromise?.then((client) => client.destroy()).catch(() => undefined);
  }
}

export function walkFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...walkFiles(full));
    else if (entry.isFile()) files.push(full);
  }
  return files.sort();
}
