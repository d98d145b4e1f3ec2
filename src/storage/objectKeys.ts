/**
 * Object keys as paths: a key (or a key relative to a prefix) becomes a file path in the folder
 * store and in every download, so anything that could land outside its folder is refused first.
 */
import { InvalidInputError } from '../core/errors';

/** Why `path` (a `/`-separated relative path) is unsafe as a file path, or undefined when it is safe. */
export function relativePathProblem(path: string): string | undefined {
  if (path === '') return 'is empty';
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.includes('\\')) return 'contains a backslash, which some systems read as a folder separator';
  if (path.startsWith('/')) return 'is absolute (starts with "/")';
  if (/^[A-Za-z]:/.test(path)) return 'starts with a drive letter';
  // On Windows "name:stream" opens an alternate data stream, and these characters are not allowed.
  if (process.platform === 'win32' && /[:*?"<>|]/.test(path)) return 'contains a character Windows does not allow in file names (: * ? " < > |)';
  const segments = path.split('/');
  if (segments.some((segment) => segment === '..')) return 'has a ".." segment, which would reach outside its folder';
  if (segments.some((segment) => segment === '.')) return 'has a "." segment';
  if (segments.some((segment) => segment === '')) return 'has an empty segment ("//" or a trailing "/")';
  return undefined;
}

/** Throws InvalidInputError naming the key when `path` is not a safe relative file path. */
export function assertSafePath(path: string, key: string, where: string): void {
  const problem = relativePathProblem(path);
  if (problem) {
    const what = path === key ? '' : ` (as "${path}" below the prefix)`;
    throw new InvalidInputError(`Object key "${key}" ${where}`, [{ field: '', message: `it cannot be used as a file path${what}: it ${problem}` }]);
  }
}

/** A key ending in "/" with no content: the folder marker S3 consoles create. */
export function isFolderMarker(object: { readonly key: string; readonly size: number }): boolean {
  return object.key.endsWith('/') && object.size === 0;
}

/** Orders keys the way S3 lists them: by their UTF-8 bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
