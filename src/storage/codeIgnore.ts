/**
 * What of a code folder is training code: the folder minus what its `.modelartsignore` (or, when it
 * has none, its `.gitignore`) leaves out, in gitignore syntax, minus version-control and cache
 * folders that are never code. Only the ignore file at the root of the code folder is read: nested
 * `.gitignore` files in subfolders are not honoured. Both the cloud upload and the local snapshot
 * use it, so a job sees the same files wherever it runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidInputError } from '../core/errors';
import { formatBytes } from '../core/format';
import { throwIfAborted } from './concurrency';
import { compareKeys } from './objectKeys';

/** Entries (files or folders, at any depth) that are never training code; no rule brings them back. */
export const ALWAYS_SKIPPED: ReadonlySet<string> = new Set(['.git', '.hg', '.svn', '__pycache__', '.ipynb_checkpoints', '.mypy_cache', '.pytest_cache']);

/** The ignore files read, first found wins: `.modelartsignore` replaces `.gitignore`, it does not add to it. */
export const CODE_IGNORE_FILES = ['.modelartsignore', '.gitignore'] as const;
export type CodeIgnoreFile = (typeof CODE_IGNORE_FILES)[number];

export interface GitignoreRule {
  /** The line as written, for messages. */
  readonly pattern: string;
  readonly regex: RegExp;
  readonly negated: boolean;
  /** A trailing "/": matches folders only. */
  readonly dirOnly: boolean;
}

export interface CodeIgnore {
  readonly ignoreFile: CodeIgnoreFile | undefined;
  readonly rules: readonly GitignoreRule[];
  /** Whether `rel` (slash-separated, relative to the code folder) is left out, its parent folders included. */
  ignores(rel: string, isDir: boolean): boolean;
}

export interface CodeFile {
  /** Slash-separated, relative to the code folder. */
  readonly rel: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface CodeListing {
  /** In key order. */
  readonly files: CodeFile[];
  readonly ignoreFile: CodeIgnoreFile | undefined;
  /** Entries left out (a folder left out counts once; what is inside it is not walked). */
  readonly skipped: number;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/** The rules of a gitignore text, in order (the last matching rule decides). */
export function parseGitignore(text: string): GitignoreRule[] {
  const rules: GitignoreRule[] = [];
  for (const raw of text.split('\n')) {
    // A leading "#" is a comment ("\#" a literal "#"); trailing spaces go unless escaped ("\ ").
    let line = trimTrailingSpaces(raw.replace(/\r$/, ''));
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1);
    const dirOnly = line.endsWith('/') && !line.endsWith('\\/');
    if (dirOnly) line = line.replace(/\/+$/, '');
    if (!line) continue;
    // A slash at the start or in the middle anchors the pattern to the folder; otherwise any depth.
    const anchored = line.includes('/');
    const body = line.replace(/^\//, '');
    if (!body) continue;
    let regex: RegExp;
    try {
      regex = new RegExp(`^${anchored ? '' : '(?:.*/)?'}${globToRegex(body)}$`);
    } catch {
      continue; // a bad range such as [z-a] matches nothing, as in git
    }
    rules.push({ pattern: raw.trim(), regex, negated, dirOnly });
  }
  return rules;
}

function trimTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === ' ') end -= 1;
  if (end === line.length) return line;
  let slashes = 0;
  while (end - slashes > 0 && line[end - slashes - 1] === '\\') slashes += 1;
  // An odd number of backslashes escapes the first space, which stays.
  return line.slice(0, slashes % 2 === 1 ? end + 1 : end);
}

/** Git's wildmatch with WM_PATHNAME: `*` and `?` stop at "/", `**` spans folders only as a whole segment. */
function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] as string;
    if (c === '*') {
      let end = i;
      while (glob[end + 1] === '*') end += 1;
      const whole = end > i && (i === 0 || glob[i - 1] === '/') && (end === glob.length - 1 || glob[end + 1] === '/');
      if (!whole) out += '[^/]*';
      else if (end === glob.length - 1) out += i === 0 ? '.*' : '.+'; // "a/**": everything inside a
      else {
        out += '(?:.*/)?'; // "**/b", "a/**/b": zero or more folders
        end += 1;
      }
      i = end;
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const bracket = bracketExpression(glob, i);
      out += bracket ? bracket.regex : '\\[';
      if (bracket) i = bracket.end;
    } else if (c === '\\') {
      i += 1;
      out += (glob[i] ?? '\\').replace(REGEX_SPECIAL, '\\$&');
    } else {
      out += c.replace(REGEX_SPECIAL, '\\$&');
    }
  }
  return out;
}

/** `[abc]`, `[a-z]`, `[!x]` / `[^x]`, `[]x]`; never matches "/". Undefined when unterminated (a literal "["). */
function bracketExpression(glob: string, start: number): { regex: string; end: number } | undefined {
  let i = start + 1;
  const negated = glob[i] === '!' || glob[i] === '^';
  if (negated) i += 1;
  let body = '';
  for (let first = true; i < glob.length; i += 1, first = false) {
    const c = glob[i] as string;
    if (c === ']' && !first) return { regex: negated ? `(?!/)[^${body}]` : `(?!/)[${body}]`, end: i };
    if (c === '\\' && i + 1 < glob.length) {
      i += 1;
      body += `\\${glob[i]}`;
    } else {
      body += c === '-' ? '-' : c.replace(/[\\\]^[]/g, '\\$&');
    }
  }
  return undefined;
}

/** The verdict of the last rule matching `rel` itself (parents not considered); undefined when none matches. */
export function matchGitignore(rules: readonly GitignoreRule[], rel: string, isDir: boolean): boolean | undefined {
  for (let i = rules.length - 1; i >= 0; i -= 1) {
    const rule = rules[i] as GitignoreRule;
    if (rule.dirOnly && !isDir) continue;
    if (rule.regex.test(rel)) return !rule.negated;
  }
  return undefined;
}

/** Whether `rel` is ignored. As git says, a file cannot be re-included when a parent folder is excluded. */
export function isGitignored(rules: readonly GitignoreRule[], rel: string, isDir: boolean): boolean {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i += 1) {
    if (matchGitignore(rules, parts.slice(0, i).join('/'), true)) return true;
  }
  return matchGitignore(rules, rel, isDir) === true;
}

/** The ignore rules of a code folder: its `.modelartsignore`, else its `.gitignore`, else none. */
export function loadCodeIgnore(dir: string): CodeIgnore {
  let ignoreFile: CodeIgnoreFile | undefined;
  let rules: GitignoreRule[] = [];
  for (const name of CODE_IGNORE_FILES) {
    const file = path.join(dir, name);
    if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
    ignoreFile = name;
    rules = parseGitignore(fs.readFileSync(file, 'utf8'));
    break;
  }
  return {
    ignoreFile,
    rules,
    ignores: (rel, isDir) => rel.split('/').some((part) => ALWAYS_SKIPPED.has(part)) || isGitignored(rules, rel, isDir),
  };
}

/**
 * The files of a code folder that a job gets, in key order. A link to a file counts as the file; a
 * link to a folder is not followed (no cycles, nothing from outside the folder).
 */
export async function listCodeFiles(dir: string, options: { readonly signal?: AbortSignal } = {}): Promise<CodeListing> {
  const ignore = loadCodeIgnore(dir);
  const files: CodeFile[] = [];
  let skipped = 0;
  const walk = async (folder: string, relPrefix: string): Promise<void> => {
    throwIfAborted(options.signal, 'Listing the code folder');
    const entries = await fs.promises.readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      const rel = relPrefix + entry.name;
      const stat = entry.isSymbolicLink() ? await fs.promises.stat(full).catch(() => undefined) : undefined;
      const isDir = entry.isDirectory() || (stat?.isDirectory() ?? false);
      // Parents were checked on the way down: one level is enough here.
      if (ALWAYS_SKIPPED.has(entry.name) || matchGitignore(ignore.rules, rel, isDir) === true || stat?.isDirectory()) {
        skipped += 1;
      } else if (entry.isDirectory()) {
        await walk(full, `${rel}/`);
      } else if (entry.isFile() || stat?.isFile()) {
        const { size, mtimeMs } = stat ?? (await fs.promises.stat(full));
        files.push({ rel, size, mtimeMs });
      }
    }
  };
  await walk(dir, '');
  files.sort((a, b) => compareKeys(a.rel, b.rel));
  return { files, ignoreFile: ignore.ignoreFile, skipped };
}

export interface CodeLimits {
  /** Most files (ModelArts: 1,000). */
  readonly maxFiles?: number;
  /** Most bytes (ModelArts: 5 GB). */
  readonly maxBytes?: number;
}

/** ModelArts' limits on a code directory (creating_a_training_job: 5 GB, 1,000 files). */
export const MODELARTS_CODE_LIMITS = { maxFiles: 1000, maxBytes: 5 * 1024 ** 3 } as const;

export interface CodeLimitOptions extends CodeLimits {
  /** The field named in the error (default `algorithm.code_dir`). */
  readonly field?: string;
  /** What is validated (default "Training job spec"). */
  readonly subject?: string;
}

/** Throws InvalidInputError when the listing is beyond a limit, naming the biggest folders to leave out. */
export function checkCodeLimits(dir: string, listing: CodeListing, options: CodeLimitOptions = {}): void {
  const maxFiles = options.maxFiles ?? MODELARTS_CODE_LIMITS.maxFiles;
  const maxBytes = options.maxBytes ?? MODELARTS_CODE_LIMITS.maxBytes;
  const field = options.field ?? 'algorithm.code_dir';
  const count = listing.files.length;
  const bytes = listing.files.reduce((sum, f) => sum + f.size, 0);
  const issues: Array<{ field: string; message: string }> = [];
  const advice = ignoreAdvice(listing.ignoreFile);
  if (count > maxFiles) {
    issues.push({ field, message: `${dir} has ${figure(count)} files (ModelArts allows ${figure(maxFiles)})${biggestFolders(listing, 'files')}; ${advice}` });
  }
  if (bytes > maxBytes) {
    issues.push({ field, message: `${dir} holds ${formatBytes(bytes)} (ModelArts allows ${formatBytes(maxBytes)})${biggestFolders(listing, 'bytes')}; ${advice}` });
  }
  if (issues.length) throw new InvalidInputError(options.subject ?? 'Training job spec', issues);
}

function ignoreAdvice(ignoreFile: CodeIgnoreFile | undefined): string {
  if (ignoreFile === '.modelartsignore') return 'add what the job does not need to .modelartsignore';
  if (ignoreFile === '.gitignore') return 'list what the job does not need in a .modelartsignore (it replaces .gitignore for jobs)';
  return 'list what the job does not need in a .modelartsignore file in that folder (gitignore syntax)';
}

/** ": biggest folders data/ (1,100 files, 30.0 MB), …" over the top-level folders, by the exceeded measure. */
function biggestFolders(listing: CodeListing, by: 'files' | 'bytes'): string {
  const folders = new Map<string, { files: number; bytes: number }>();
  for (const file of listing.files) {
    const slash = file.rel.indexOf('/');
    if (slash < 0) continue;
    const name = file.rel.slice(0, slash + 1);
    const folder = folders.get(name) ?? { files: 0, bytes: 0 };
    folder.files += 1;
    folder.bytes += file.size;
    folders.set(name, folder);
  }
  const top = [...folders].sort((a, b) => b[1][by] - a[1][by] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
  if (!top.length) return '';
  return `: biggest folders ${top.map(([name, f]) => `${name} (${figure(f.files)} file${f.files === 1 ? '' : 's'}, ${formatBytes(f.bytes)})`).join(', ')}`;
}

function figure(n: number): string {
  return n.toLocaleString('en-US');
}
