/**
 * Any S3-compatible store (OBS, Ceph radosgw, MinIO, AWS) through @aws-sdk/client-s3. Large files go
 * up in parts, several at a time, and a failed or cancelled upload resumes where it stopped: a small
 * journal in the state folder remembers the multipart UploadId, and the server's ListParts says
 * which parts it already holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { CancelledError, invalidInput } from '../core/errors';
import { Semaphore, cancelled, forEachConcurrently, throwIfAborted } from './concurrency';
import type { LevelOptions, ListOptions, ObjectStore, StoreLevel, StoredObject, TransferOptions } from './objectStore';
import { StorageError } from './storageError';

import { MAX_PARTS, MIB, bucketsSchema, levelPageSchema, listPageSchema, partsPageSchema, s3StoreConfigSchema, type ResolvedS3Config, type S3StoreConfig } from './s3Config';
import { loadS3Sdk, type S3Sdk } from './s3Sdk';

export { isHttpUrl, s3StoreConfigSchema, type S3StoreConfig } from './s3Config';

export interface S3StoreOptions {
  /** Folder for the journals of unfinished multipart uploads (kept across restarts). */
  readonly stateDir: string;
}

export interface UploadedPart {
  readonly partNumber: number;
  readonly bytes: number;
}

/** What an upload tells beyond progress: each part as the server acknowledges it, and resumption. */
export interface S3UploadOptions extends TransferOptions {
  readonly onPart?: (part: UploadedPart) => void;
  /** A multipart upload picks up an earlier attempt that the server still holds `parts` of. */
  readonly onResume?: (resumed: { readonly parts: number; readonly bytes: number }) => void;
}

const journalSchema = z.object({
  version: z.literal(1),
  endpoint: z.string(),
  bucket: z.string(),
  key: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
  partSize: z.number().int().positive(),
  uploadId: z.string().min(1),
});
type Journal = z.output<typeof journalSchema>;

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export class S3Store implements ObjectStore {
  readonly description: string;
  private readonly config: ResolvedS3Config;
  /** The AWS SDK, loaded when the first S3 store is made (it is half of what activation would load otherwise). */
  private readonly sdk: S3Sdk = loadS3Sdk();
  private readonly client: InstanceType<S3Sdk['S3Client']>;
  private readonly requests: Semaphore;
  private readonly journalDir: string;
  private readonly uploadsInParts = new Map<string, Promise<void>>();

  /** Throws InvalidInputError naming the wrong field of `config` (never its secret values). */
  constructor(config: S3StoreConfig, options: S3StoreOptions) {
    const parsed = s3StoreConfigSchema.safeParse(config);
    if (!parsed.success) throw invalidInput('S3 store settings', parsed.error);
    this.config = parsed.data;
    this.description = `S3 store at ${this.config.endpoint}`;
    this.journalDir = path.join(options.stateDir, 'multipart-uploads');
    this.requests = new Semaphore(this.config.maxRequests);
    // Keep-alive sockets, enough for every transfer request plus listings and completions.
    const agentOptions = { keepAlive: true, maxSockets: this.config.maxRequests + 4 };
    this.client = new this.sdk.S3Client({
      endpoint: this.config.endpoint,
      region: this.config.region,
      forcePathStyle: this.config.forcePathStyle,
      credentials: this.config.credentials,
      // The SDK's default sends streamed bodies aws-chunked with trailing checksums, which
      // S3-compatible servers refuse (radosgw: 411) or store framing and all.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: new http.Agent(agentOptions), httpsAgent: new https.Agent(agentOptions), connectionTimeout: 10_000 },
    });
  }

  dispose(): void {
    this.client.destroy();
  }

  async *list(bucket: string, prefix: string, options: ListOptions = {}): AsyncIterable<StoredObject[]> {
    const pageSize = Math.max(1, Math.min(options.pageSize ?? 1000, 1000));
    let token: string | undefined;
    do {
      const answer = await this.send('ListObjectsV2', bucket, prefix, options.signal, (abortSignal) =>
        this.client.send(
          new this.sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, MaxKeys: pageSize, ContinuationToken: token }),
          { abortSignal },
        ),
      );
      const page = listPageSchema.safeParse(answer);
      if (!page.success) throw new StorageError(`The ${this.description} sent a listing of s3://${bucket}/${prefix} this extension cannot read (${page.error.issues[0]?.message}).`, 'InvalidListing');
      const objects = (page.data.Contents ?? []).map(storedObject);
      if (objects.length) yield objects;
      token = page.data.IsTruncated ? page.data.NextContinuationToken : undefined;
      if (page.data.IsTruncated && !token) throw new StorageError(`The ${this.description} cut the listing of s3://${bucket}/${prefix} short without a continuation token.`, 'InvalidListing');
    } while (token);
  }

  async listLevel(bucket: string, prefix: string, options: LevelOptions = {}): Promise<StoreLevel> {
    const pageSize = Math.max(1, Math.min(options.pageSize ?? 1000, 1000));
    const answer = await this.send('ListObjectsV2', bucket, prefix, options.signal, (abortSignal) =>
      this.client.send(
        new this.sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, Delimiter: '/', MaxKeys: pageSize, ContinuationToken: options.continuationToken }),
        { abortSignal },
      ),
    );
    const page = levelPageSchema.safeParse(answer);
    if (!page.success) throw new StorageError(`The ${this.description} sent a listing of s3://${bucket}/${prefix} this extension cannot read (${page.error.issues[0]?.message}).`, 'InvalidListing');
    const token = page.data.IsTruncated ? page.data.NextContinuationToken : undefined;
    if (page.data.IsTruncated && !token) throw new StorageError(`The ${this.description} cut the listing of s3://${bucket}/${prefix} short without a continuation token.`, 'InvalidListing');
    return {
      folders: (page.data.CommonPrefixes ?? []).map((p) => p.Prefix),
      // The folder marker a console creates for the prefix itself is the level, not an entry of it.
      objects: (page.data.Contents ?? []).filter((o) => o.Key !== prefix).map(storedObject),
      ...(token ? { nextContinuationToken: token } : {}),
    };
  }

  async listBuckets(options: { readonly signal?: AbortSignal } = {}): Promise<string[]> {
    const answer = await this.send('ListBuckets', '', undefined, options.signal, (abortSignal) => this.client.send(new this.sdk.ListBucketsCommand({}), { abortSignal }));
    const parsed = bucketsSchema.safeParse(answer);
    if (!parsed.success) throw new StorageError(`The ${this.description} sent a bucket list this extension cannot read (${parsed.error.issues[0]?.message}).`, 'InvalidListing');
    return (parsed.data.Buckets ?? []).map((b) => b.Name).sort();
  }

  async download(bucket: string, key: string, file: string, options: TransferOptions = {}): Promise<void> {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.partial-${randomBytes(6).toString('hex')}`);
    await this.requests.run(async () => {
      const answer = await this.send('GetObject', bucket, key, options.signal, (abortSignal) =>
        this.client.send(new this.sdk.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal }),
      );
      const expected = answer.ContentLength;
      let bytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          options.onProgress?.({ bytes, ...(expected !== undefined ? { totalBytes: expected } : {}), objects: 0, totalObjects: 1 });
          callback(null, chunk);
        },
      });
      try {
        const body = answer.Body as Readable | undefined;
        if (!body) throw new StorageError(`GetObject of s3://${bucket}/${key} at ${this.config.endpoint} returned no body.`, 'EmptyBody');
        await pipeline(body, counter, fs.createWriteStream(temp, { mode: 0o644 }), ...(options.signal ? [{ signal: options.signal }] : []));
        if (expected !== undefined && bytes !== expected) {
          throw new StorageError(`GetObject of s3://${bucket}/${key} at ${this.config.endpoint} ended after ${bytes} of ${expected} bytes.`, 'IncompleteBody');
        }
        await fs.promises.rename(temp, file);
      } catch (error) {
        await fs.promises.rm(temp, { force: true });
        if (options.signal?.aborted) throw cancelled(options.signal, `Download of s3://${bucket}/${key}`);
        throw error instanceof StorageError ? error : this.failure(error, 'GetObject', bucket, key);
      }
      options.onProgress?.({ bytes, totalBytes: bytes, objects: 1, totalObjects: 1 });
    }, options.signal);
  }

  async upload(file: string, bucket: string, key: string, options: S3UploadOptions = {}): Promise<void> {
    const stat = await fs.promises.stat(file);
    if (stat.size >= this.config.multipartThresholdBytes) {
      // One multipart upload per key at a time in this process: they would share one journal.
      const journal = this.journalFile(bucket, key);
      const previous = this.uploadsInParts.get(journal) ?? Promise.resolve();
      const current = previous.catch(() => undefined).then(() => this.uploadLarge(file, stat, bucket, key, options));
      this.uploadsInParts.set(journal, current);
      try {
        return await current;
      } finally {
        if (this.uploadsInParts.get(journal) === current) this.uploadsInParts.delete(journal);
      }
    }
    await this.requests.run(async () => {
      // A buffer, not a stream: its length is known (no aws-chunked encoding) and the SDK can retry it.
      const body = await fs.promises.readFile(file);
      throwIfAborted(options.signal);
      await this.send('PutObject', bucket, key, options.signal, (abortSignal) =>
        this.client.send(new this.sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }), { abortSignal }),
      );
    }, options.signal);
    options.onProgress?.({ bytes: stat.size, totalBytes: stat.size, objects: 1, totalObjects: 1 });
  }

  private async uploadLarge(file: string, stat: fs.Stats, bucket: string, key: string, options: S3UploadOptions): Promise<void> {
    try {
      await this.uploadInParts(file, stat, bucket, key, options);
    } catch (error) {
      // The server forgot the upload of the journal (expired or aborted by someone): start over, once.
      if (!(error instanceof StaleUploadError)) throw error;
      await this.removeJournal(bucket, key);
      await this.uploadInParts(file, stat, bucket, key, options);
    }
  }

  async deleteObjects(bucket: string, keys: readonly string[], options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      const answer = await this.send('DeleteObjects', bucket, batch[0] ?? '', options.signal, (abortSignal) =>
        this.client.send(new this.sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), { abortSignal }),
      );
      const errors = (answer.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (errors.length) {
        const first = errors.slice(0, 3).map((e) => `"${e.Key}" (${e.Code}${e.Message ? `: ${e.Message}` : ''})`);
        throw new StorageError(
          `Could not delete ${errors.length} object${errors.length === 1 ? '' : 's'} from bucket "${bucket}" at ${this.config.endpoint}: ${first.join(', ')}${errors.length > 3 ? ', …' : ''}`,
          errors[0]?.Code ?? 'DeleteFailed',
        );
      }
    }
  }

  async ensureBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (error) {
      if ((error as SdkError).$metadata?.httpStatusCode !== 404) throw this.failure(error, 'HeadBucket', bucket);
    }
    try {
      await this.client.send(new this.sdk.CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      const code = (error as SdkError).name;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw this.failure(error, 'CreateBucket', bucket);
    }
  }

  private async uploadInParts(file: string, stat: fs.Stats, bucket: string, key: string, options: S3UploadOptions): Promise<void> {
    const signal = options.signal;
    let journal = await this.readJournal(bucket, key);
    if (journal && (journal.size !== stat.size || journal.mtimeMs !== stat.mtimeMs)) {
      // The file changed since the unfinished attempt: its parts are worthless, and they cost storage.
      await this.abortUpload(bucket, key, journal.uploadId);
      await this.removeJournal(bucket, key);
      journal = undefined;
    }
    const done = new Map<number, { etag: string; size: number }>();
    const resumed = journal !== undefined;
    if (journal) {
      for (const part of await this.listParts(bucket, key, journal.uploadId, signal)) done.set(part.partNumber, part);
    } else {
      const partSize = Math.max(this.config.partSizeBytes, Math.ceil(stat.size / MAX_PARTS / MIB) * MIB);
      const created = await this.send('CreateMultipartUpload', bucket, key, signal, (abortSignal) =>
        this.client.send(new this.sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), { abortSignal }),
      );
      if (!created.UploadId) throw new StorageError(`CreateMultipartUpload of s3://${bucket}/${key} at ${this.config.endpoint} returned no UploadId.`, 'NoUploadId');
      journal = { version: 1, endpoint: this.config.endpoint, bucket, key, size: stat.size, mtimeMs: stat.mtimeMs, partSize, uploadId: created.UploadId };
      await this.writeJournal(journal);
    }
    const { partSize, uploadId } = journal;
    const partCount = Math.max(1, Math.ceil(stat.size / partSize));
    const partBytes = (n: number) => Math.min(partSize, stat.size - (n - 1) * partSize);
    const etags = new Map<number, string>();
    const missing: number[] = [];
    let bytes = 0;
    for (let n = 1; n <= partCount; n += 1) {
      const held = done.get(n);
      if (held && held.size === partBytes(n)) {
        etags.set(n, held.etag);
        bytes += held.size;
      } else {
        missing.push(n);
      }
    }
    if (resumed) options.onResume?.({ parts: etags.size, bytes });
    options.onProgress?.({ bytes, totalBytes: stat.size, objects: 0, totalObjects: 1 });

    const handle = await fs.promises.open(file, 'r');
    try {
      await forEachConcurrently(
        missing,
        this.config.partConcurrency,
        async (n, partSignal) => {
          await this.requests.run(async () => {
            const body = Buffer.allocUnsafe(partBytes(n));
            await readFully(handle, body, (n - 1) * partSize);
            throwIfAborted(partSignal);
            const answer = await this.send('UploadPart', bucket, key, partSignal, (abortSignal) =>
              this.client.send(
                new this.sdk.UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: body.length }),
                { abortSignal },
              ),
            );
            if (!answer.ETag) throw new StorageError(`UploadPart ${n} of s3://${bucket}/${key} at ${this.config.endpoint} returned no ETag.`, 'NoETag');
            etags.set(n, answer.ETag);
            bytes += body.length;
            options.onPart?.({ partNumber: n, bytes: body.length });
            options.onProgress?.({ bytes, totalBytes: stat.size, objects: 0, totalObjects: 1 });
          }, partSignal);
        },
        signal,
      );
    } catch (error) {
      // The journal stays: a later call resumes with the parts the server holds.
      if (resumed && isUnknownUpload(error)) throw new StaleUploadError();
      if (signal?.aborted) throw cancelled(signal, `Upload of s3://${bucket}/${key}`);
      throw error;
    } finally {
      await handle.close();
    }

    const now = await fs.promises.stat(file);
    if (now.size !== stat.size || now.mtimeMs !== stat.mtimeMs) {
      await this.abortUpload(bucket, key, uploadId);
      await this.removeJournal(bucket, key);
      throw new StorageError(`${file} changed while it was being uploaded to s3://${bucket}/${key}; upload it again.`, 'SourceChanged');
    }
    try {
      await this.send('CompleteMultipartUpload', bucket, key, signal, (abortSignal) =>
        this.client.send(
          new this.sdk.CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: [...etags].sort((a, b) => a[0] - b[0]).map(([PartNumber, ETag]) => ({ PartNumber, ETag })) },
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      if (resumed && isUnknownUpload(error)) throw new StaleUploadError();
      throw error;
    }
    await this.removeJournal(bucket, key);
    options.onProgress?.({ bytes: stat.size, totalBytes: stat.size, objects: 1, totalObjects: 1 });
  }

  private async listParts(bucket: string, key: string, uploadId: string, signal: AbortSignal | undefined): Promise<Array<{ partNumber: number; etag: string; size: number }>> {
    const parts: Array<{ partNumber: number; etag: string; size: number }> = [];
    let marker: string | undefined;
    for (;;) {
      let answer;
      try {
        answer = await this.send('ListParts', bucket, key, signal, (abortSignal) =>
          this.client.send(new this.sdk.ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }), { abortSignal }),
        );
      } catch (error) {
        if (isUnknownUpload(error)) throw new StaleUploadError();
        throw error;
      }
      const page = partsPageSchema.safeParse(answer);
      if (!page.success) throw new StorageError(`The ${this.description} sent a part list for s3://${bucket}/${key} this extension cannot read.`, 'InvalidListing');
      parts.push(...(page.data.Parts ?? []).map((p) => ({ partNumber: p.PartNumber, etag: p.ETag, size: p.Size })));
      if (!page.data.IsTruncated || page.data.NextPartNumberMarker === undefined) return parts;
      marker = String(page.data.NextPartNumberMarker);
    }
  }

  private async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch {
      // Already gone, or the server will expire it: nothing to do either way.
    }
  }

  private journalFile(bucket: string, key: string): string {
    const id = createHash('sha256').update(`${this.config.endpoint}\n${bucket}\n${key}`).digest('hex').slice(0, 40);
    return path.join(this.journalDir, `${id}.json`);
  }

  private async readJournal(bucket: string, key: string): Promise<Journal | undefined> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.journalFile(bucket, key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const journal = journalSchema.parse(JSON.parse(text));
      return journal.endpoint === this.config.endpoint && journal.bucket === bucket && journal.key === key ? journal : undefined;
    } catch {
      return undefined; // a damaged journal only costs a fresh upload
    }
  }

  private async writeJournal(journal: Journal): Promise<void> {
    await fs.promises.mkdir(this.journalDir, { recursive: true });
    const file = this.journalFile(journal.bucket, journal.key);
    const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.promises.writeFile(temp, JSON.stringify(journal, null, 2));
    await fs.promises.rename(temp, file);
  }

  private async removeJournal(bucket: string, key: string): Promise<void> {
    await fs.promises.rm(this.journalFile(bucket, key), { force: true });
  }

  /** Runs one SDK call, turning its failure into a StorageError (or CancelledError) that says where. */
  private async send<T>(operation: string, bucket: string, key: string | undefined, signal: AbortSignal | undefined, call: (abortSignal?: AbortSignal) => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    try {
      return await call(signal);
    } catch (error) {
      if (signal?.aborted) throw cancelled(signal);
      throw this.failure(error, operation, bucket, key);
    }
  }

  private failure(error: unknown, operation: string, bucket: string, key?: string): Error {
    if (error instanceof StorageError || error instanceof CancelledError) return error;
    const e = (error ?? {}) as SdkError;
    // ListBuckets concerns no bucket: the endpoint alone says where.
    const where = bucket ? `s3://${bucket}${key !== undefined ? `/${key}` : ''} at ${this.config.endpoint}` : this.config.endpoint;
    const status = e.$metadata?.httpStatusCode;
    if (status === undefined) {
      const code = e.code ?? e.name ?? 'NetworkError';
      const hint = code === 'ECONNREFUSED' ? ': nothing answers there (is the server running?)' : `: ${e.message ?? String(error)}`;
      return new StorageError(`${operation} of ${where} failed (${code})${hint}`, code);
    }
    const code = e.Code ?? e.name ?? 'Unknown';
    const hints: Record<string, string> = {
      NoSuchBucket: `the bucket "${bucket}" does not exist`,
      AccessDenied: 'the access key is not allowed to do this',
      InvalidAccessKeyId: 'the server does not know this access key',
      SignatureDoesNotMatch: 'the secret key does not match the access key (or the region is wrong)',
      NoSuchKey: 'no such object',
    };
    const detail = hints[code] ?? (e.message && e.message !== code && e.message !== 'UnknownError' ? e.message : '');
    return new StorageError(`${operation} of ${where} failed: HTTP ${status} ${code}${detail ? ` (${detail})` : ''}`, code, status);
  }
}

function storedObject(o: { Key: string; Size: number; ETag?: string | undefined; LastModified?: Date | undefined }): StoredObject {
  return {
    key: o.Key,
    size: o.Size,
    ...(o.ETag ? { etag: o.ETag } : {}),
    ...(o.LastModified ? { lastModified: o.LastModified.getTime() } : {}),
  };
}

/** The journal's UploadId is no longer known to the server. */
class StaleUploadError extends Error {}

/** radosgw answers NoSuchKey, AWS and OBS NoSuchUpload, for an upload that was aborted or expired. */
function isUnknownUpload(error: unknown): boolean {
  return error instanceof StorageError && error.httpStatus === 404 && (error.storageCode === 'NoSuchUpload' || error.storageCode === 'NoSuchKey');
}

async function readFully(handle: fs.promises.FileHandle, buffer: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, position + offset);
    if (bytesRead === 0) throw new StorageError(`The file ended early while reading bytes ${position}–${position + buffer.length} for upload.`, 'SourceChanged');
    offset += bytesRead;
  }
}
