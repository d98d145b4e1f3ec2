/**
 * What an S3 store is configured with (endpoint, region, addressing, credentials, part sizes and
 * concurrency) and the shapes of the S3 answers it reads, checked with zod: nothing here loads the
 * AWS SDK, so settings can be checked without it.
 */
import { z } from 'zod';

export const MIB = 1024 * 1024;
/** S3 refuses parts under 5 MiB (except the last) and more than 10,000 parts. */
export const MIN_PART_SIZE = 5 * MIB;
export const MAX_PARTS = 10_000;

/** An http:// or https:// URL with a host: what an S3 endpoint must be. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export const s3StoreConfigSchema = z
  .object({
    endpoint: z.string().refine(isHttpUrl, { error: 'must be an http:// or https:// URL, such as https://obs.cn-north-4.myhuaweicloud.com' }),
    region: z.string().min(1, { error: 'must name the region, such as cn-north-4 (any name for a server with one region)' }),
    /** Bucket in the path (http://host/bucket/key) rather than in the host name; what most S3-compatible servers want. */
    forcePathStyle: z.boolean().default(true),
    credentials: z
      .object({
        accessKeyId: z.string().min(1, { error: 'is empty' }),
        secretAccessKey: z.string().min(1, { error: 'is empty' }),
        sessionToken: z.string().min(1, { error: 'is empty (leave it out when there is none)' }).optional(),
      })
      .strict(),
    /** Files at least this large go up in parts. */
    multipartThresholdBytes: z.number().int().min(MIN_PART_SIZE).default(16 * MIB),
    partSizeBytes: z.number().int().min(MIN_PART_SIZE).max(5 * 1024 * MIB).default(16 * MIB),
    /** Parts of one file in flight at once. */
    partConcurrency: z.number().int().min(1).max(64).default(4),
    /** Object and part requests in flight at once over the whole store (all files together). */
    maxRequests: z.number().int().min(1).max(256).default(24),
  })
  .strict();
export type S3StoreConfig = z.input<typeof s3StoreConfigSchema>;
export type ResolvedS3Config = z.output<typeof s3StoreConfigSchema>;

export const listPageSchema = z.object({
  Contents: z
    .array(z.object({ Key: z.string(), Size: z.number().nonnegative(), ETag: z.string().optional(), LastModified: z.date().optional() }))
    .optional(),
  IsTruncated: z.boolean().optional(),
  NextContinuationToken: z.string().optional(),
});

export const levelPageSchema = listPageSchema.extend({
  CommonPrefixes: z.array(z.object({ Prefix: z.string() })).optional(),
});

export const bucketsSchema = z.object({
  Buckets: z.array(z.object({ Name: z.string() })).optional(),
});

export const partsPageSchema = z.object({
  Parts: z.array(z.object({ PartNumber: z.number().int().positive(), ETag: z.string(), Size: z.number().nonnegative() })).optional(),
  IsTruncated: z.boolean().optional(),
  NextPartNumberMarker: z.union([z.string(), z.number()]).optional(),
});

