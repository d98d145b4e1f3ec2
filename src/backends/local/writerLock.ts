/**
 * One writer per data folder. Every VS Code window of a profile shares the local engine's data
 * folder; only the window holding this lock follows Docker, captures logs and changes job records.
 * The others read what it writes. A lock whose process is gone is stale and taken over.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { z } from 'zod';

const holderSchema = z.object({ pid: z.number().int(), host: z.string(), token: z.string(), since: z.number() });
export type LockHolder = z.output<typeof holderSchema>;

export class WriterLock {
  private readonly token = randomUUID();
  private held = false;

  constructor(private readonly file: string) {}

  get isHeld(): boolean {
    return this.held;
  }

  /** Takes the lock if it is free or stale; otherwise returns who holds it. */
  tryAcquire(): { readonly acquired: true } | { readonly acquired: false; readonly holder: LockHolder } {
    if (this.held) return { acquired: true };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(this.file, 'wx');
        const holder: LockHolder = { pid: process.pid, host: os.hostname(), token: this.token, since: Date.now() };
        fs.writeSync(fd, JSON.stringify(holder));
        fs.closeSync(fd);
        this.held = true;
        return { acquired: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = this.readHolder();
      if (holder && !isStale(holder)) return { acquired: false, holder };
      if (!holder && this.isYoung()) {
        // Another process made it an instant ago and is still writing it.
        return { acquired: false, holder: { pid: 0, host: os.hostname(), token: '', since: Date.now() } };
      }
      // Stale (its process is gone) or unreadable: remove it and try once more.
      fs.rmSync(this.file, { force: true });
    }
    const holder = this.readHolder();
    return holder ? { acquired: false, holder } : this.tryAcquire();
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.readHolder()?.token === this.token) fs.rmSync(this.file, { force: true });
  }

  private isYoung(): boolean {
    try {
      return Date.now() - fs.statSync(this.file).mtimeMs < 2000;
    } catch {
      return false;
    }
  }

  private readHolder(): LockHolder | undefined {
    try {
      return holderSchema.parse(JSON.parse(fs.readFileSync(this.file, 'utf8')));
    } catch {
      return undefined;
    }
  }
}

function isStale(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return false; // another machine sharing the folder: assume it lives
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
