/**
 * Object storage behind one interface: the embedded local-folder store (the default, buckets are
 * folders) and any S3-compatible store (OBS, MinIO, Ceph). Datasets, job inputs and job outputs all
 * go through it. No `vscode` import: it runs and is tested in plain Node.
 */

export interface StoredObject {
  /** Full key inside the bucket, `/`-separated. */
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  /** Epoch milliseconds. */
  readonly lastModified?: number;
}

export interface TransferProgress {
  readonly bytes: number;
  readonly totalBytes?: number;
  readonly objects: number;
  readonly totalObjects?: number;
}

export interface TransferOptions {
  /** Aborting stops the transfer: requests in flight are aborted, nothing half-written is left as final. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: TransferProgress) => void;
}

export interface TransferResult {
  readonly objects: number;
  readonly bytes: number;
}

export interface ListOptions {
  readonly signal?: AbortSignal;
  /** Most objects per page (S3 allows up to 1000). */
  readonly pageSize?: number;
}

export interface LevelOptions {
  readonly signal?: AbortSignal;
  /** Most entries (folders and objects together) per page (S3 allows up to 1000). */
  readonly pageSize?: number;
  /** Where the previous page ended (its `nextContinuationToken`). */
  readonly continuationToken?: string;
}

/** One level below a prefix, as S3 lists it with the delimiter "/". */
export interface StoreLevel {
  /** Full prefixes one level down, each ending in "/", in key order. */
  readonly folders: string[];
  /** Objects directly at this level, in key order (the prefix's own folder marker left out). */
  readonly objects: StoredObject[];
  /** Pass back as `continuationToken` for the next page; undefined on the last page. */
  readonly nextContinuationToken?: string;
}

export interface ObjectStore {
  /** For messages: "local folder store at /…", "S3 store at http://127.0.0.1:7480". */
  readonly description: string;
  /** Objects whose key starts with `prefix`, page by page, in key order. */
  list(bucket: string, prefix: string, options?: ListOptions): AsyncIterable<StoredObject[]>;
  /** One page of the level below `prefix`: its sub-prefixes ("folders") and its objects. */
  listLevel(bucket: string, prefix: string, options?: LevelOptions): Promise<StoreLevel>;
  /** Every bucket the store (or its credentials) can see, sorted. */
  listBuckets(options?: { readonly signal?: AbortSignal }): Promise<string[]>;
  /** Writes one object to `file` (through a temporary file, renamed when complete). */
  download(bucket: string, key: string, file: string, options?: TransferOptions): Promise<void>;
  /** Stores one file; large files go in parts, with bounded concurrency, resumable after a failure. */
  upload(file: string, bucket: string, key: string, options?: TransferOptions): Promise<void>;
  /** Deletes the keys (missing keys are not an error). */
  deleteObjects(bucket: string, keys: readonly string[], options?: { readonly signal?: AbortSignal }): Promise<void>;
  /** Creates the bucket if it does not exist. */
  ensureBucket(bucket: string): Promise<void>;
}

/** A folder in a store: what an `obs://bucket/prefix/` or `s3://bucket/prefix/` URL names. */
export interface StoreLocation {
  readonly store: ObjectStore;
  readonly bucket: string;
  /** Key prefix, empty or ending in "/". */
  readonly prefix: string;
  /** The URL as the user wrote it, for messages. */
  readonly url: string;
}

/** Maps store URLs to stores; throws InvalidInputError naming `field` for a bad URL. */
export interface StoreResolver {
  resolve(url: string, field: string): StoreLocation;
}
