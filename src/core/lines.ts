/** Splits a byte stream into text lines, across chunk boundaries and multi-byte characters. */
import { StringDecoder } from 'node:string_decoder';
import type { z } from 'zod';

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  /** Complete lines in `chunk` (without their "\n"); an unfinished line waits for the next chunk. */
  push(chunk: Buffer | string): string[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    return lines;
  }

  /** What is left at the end of the stream: a last line without "\n", if any. */
  end(): string | undefined {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    return rest ? rest : undefined;
  }

  get pending(): string {
    return this.partial;
  }
}

/** Removes ANSI escape sequences (colours, cursor moves) and carriage-return redraws. */
export function stripAnsi(line: string): string {
  // CSI ... final byte, OSC ... BEL/ST, and lone two-character escapes.
  const withoutEscapes = line.replace(/\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g, '');
  // A progress bar redraws with "\r": keep what was drawn last.
  const cr = withoutEscapes.lastIndexOf('\r', withoutEscapes.length - 2);
  return (cr >= 0 ? withoutEscapes.slice(cr + 1) : withoutEscapes).replace(/\r$/, '');
}

/** The records of a JSON-lines file that `schema` accepts; a torn last line (a crash mid-append) or a foreign line is skipped. */
export function parseJsonLines<T extends z.ZodType>(text: string, schema: T): Array<z.output<T>> {
  const records: Array<z.output<T>> = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      records.push(schema.parse(JSON.parse(line)));
    } catch {
      /* torn or foreign line */
    }
  }
  return records;
}
