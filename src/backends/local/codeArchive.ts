/**
 * Packs a code folder as ModelArts delivers code: a snapshot under ${MA_JOB_DIR}/<folder name>,
 * owned by ma-user. The job keeps running the code as it was when the job was created, even while
 * the user edits it. What the folder's .modelartsignore (or .gitignore) leaves out is left out here
 * too, as in the upload to OBS, so a local job sees the files a cloud job would.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import tarFs from 'tar-fs';
import { MA_USER, MA_USER_GID, MA_USER_UID } from '../../core/contract';
import { loadCodeIgnore, type CodeIgnoreFile } from '../../storage/codeIgnore';

export interface CodeArchiveStats {
  files: number;
  bytes: number;
  /** Entries left out by the ignore rules and the folders that are never code (a folder counts once). */
  skipped: number;
  /** The ignore file whose rules applied. */
  ignoreFile: CodeIgnoreFile | undefined;
}

/** A tar stream of `codeDir` whose entries are under `folderName/`, plus counts filled while it streams. */
export function packCodeFolder(codeDir: string, folderName: string): { stream: NodeJS.ReadableStream; stats: CodeArchiveStats } {
  const rules = loadCodeIgnore(codeDir);
  const stats: CodeArchiveStats = { files: 0, bytes: 0, skipped: 0, ignoreFile: rules.ignoreFile };
  const options: tarFs.PackOptions & { umask: number } = {
    umask: 0o022,
    // tar-fs asks before walking into a folder, with the full path, so a left-out folder is never read.
    ignore: (name: string) => {
      const rel = path.relative(codeDir, name).split(path.sep).join('/');
      if (rel === '' || rel === '..' || rel.startsWith('../')) return false;
      const isDir = fs.lstatSync(name, { throwIfNoEntry: false })?.isDirectory() ?? false;
      const ignored = rules.ignores(rel, isDir);
      if (ignored) stats.skipped += 1;
      return ignored;
    },
    map: (entry) => {
      // tar-stream knows uname/gname; tar-fs' types do not.
      const header = entry as typeof entry & { uname?: string; gname?: string };
      header.name = header.name === '.' ? folderName : `${folderName}/${header.name}`;
      header.uid = MA_USER_UID;
      header.gid = MA_USER_GID;
      header.uname = MA_USER;
      header.gname = 'users';
      if (header.type === 'file') {
        stats.files += 1;
        stats.bytes += header.size ?? 0;
      }
      return header;
    },
  };
  return { stream: tarFs.pack(codeDir, options), stats };
}
