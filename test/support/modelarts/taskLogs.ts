/**
 * Task logs as ModelArts serves them: a preview holding at most the last window of the log (so a
 * growing log makes the window slide) and temporary links to the full log, served by the contract
 * server itself under an unguessable path, like a presigned OBS URL that expires.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';

export interface LogPreview {
  readonly content: string;
  readonly current_size: number;
  readonly full_size: number;
}

interface LogLink {
  readonly file: string;
  readonly contentType: string;
  readonly expiresAt: number;
}

export const LOG_LINK_PREFIX = '/obs-temp';

export class TaskLogs {
  private readonly links = new Map<string, LogLink>();

  constructor(
    private readonly windowBytes: number,
    private readonly ttlMs: number,
  ) {}

  /** The last window of the log, or undefined while it does not exist yet. */
  preview(file: string): LogPreview | undefined {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return undefined;
    }
    const length = Math.min(size, this.windowBytes);
    const buffer = Buffer.alloc(length);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buffer, 0, length, size - length);
    } finally {
      fs.closeSync(fd);
    }
    return { content: buffer.toString('utf8'), current_size: length, full_size: size };
  }

  /** A link valid for the TTL that answers the whole log (as it is when fetched). */
  link(serverUrl: string, objectName: string, file: string, contentType: string, now: number): string {
    const token = randomBytes(24).toString('hex');
    const expiresAt = now + this.ttlMs;
    this.links.set(token, { file, contentType, expiresAt });
    const signature = randomBytes(20).toString('base64url');
    return `${serverUrl}${LOG_LINK_PREFIX}/${token}/${objectName}?AWSAccessKeyId=CONTRACTSERVER&Expires=${Math.floor(expiresAt / 1000)}&Signature=${signature}`;
  }

  /** The link's answer: the log, a 403 once expired, a 404 for an unknown link or a removed log. */
  serve(token: string, now: number): { status: number; contentType: string; body: Buffer | string } {
    const link = this.links.get(token);
    if (!link) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    if (link.expiresAt <= now) return s3Error(403, 'AccessDenied', 'Request has expired');
    try {
      return { status: 200, contentType: link.contentType, body: fs.readFileSync(link.file) };
    } catch {
      return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    }
  }
}

function s3Error(status: number, code: string, message: string) {
  return {
    status,
    contentType: 'application/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`,
  };
}
