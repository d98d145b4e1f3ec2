/**
 * Ignore files in Docker's .dockerignore syntax (Go filepath.Match plus `**`, `!` exceptions, the
 * last matching rule wins): what a build context or an upload leaves out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface IgnoreRule {
  readonly regex: RegExp;
  readonly exception: boolean;
  /** For exceptions: the literal folder prefix before the first wildcard, to know which folders to keep walking. */
  readonly prefix: string;
}

/** Go filepath.Match plus `**`, as Docker's .dockerignore uses it, as a regex over slash-separated paths. */
function patternRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i += 1;
        if (pattern[i + 1] === '/') {
          i += 1;
          out += '(?:.*/)?';
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        out += '\\[';
      } else {
        const body = pattern.slice(i + 1, end);
        const negated = body.startsWith('!') || body.startsWith('^');
        out += `[${negated ? '^' : ''}${(negated ? body.slice(1) : body).replace(/[\\\]]/g, '\\$&')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      i += 1;
      out += (pattern[i] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/** The rules of `<folder>/<name>`, none when there is no such file. */
export function readIgnoreFile(folder: string, name: string): IgnoreRule[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(folder, name), 'utf8');
  } catch {
    return [];
  }
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const exception = line.startsWith('!');
    if (exception) line = line.slice(1).trim();
    line = path.posix.normalize(line.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (!line || line === '.') continue;
    const wildcard = line.search(/[*?[\\]/);
    rules.push({ regex: patternRegex(line), exception, prefix: wildcard < 0 ? line : line.slice(0, wildcard) });
  }
  return rules;
}

/**
 * Whether the context path `rel` (slash-separated) is left out. As in Docker, the last matching
 * rule wins, and a pattern that matches a folder leaves out everything under it.
 */
export function isIgnored(rules: readonly IgnoreRule[], rel: string): boolean {
  const parents: string[] = [];
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i += 1) parents.push(parts.slice(0, i).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (parents.some((candidate) => rule.regex.test(candidate))) ignored = !rule.exception;
  }
  return ignored;
}
