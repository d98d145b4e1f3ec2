/**
 * Packs a code folder as ModelArts delivers code: a snapshot under ${MA_JOB_DIR}/<folder name>,
 * owned by ma-user. The job keeps running the code as it was when the job was created, even while
 * the user edits it.
 */
import * as path from 'node:path';
import tarFs from 'tar-fs';
import { MA_USER, MA_USER_GID, MA_USER_UID } from '../../core/contract';

/** Folders that are never training code. */
const SKIPPED = new Set(['.git', '.hg', '.svn', '__pycache__', '.ipynb_checkpoints', '.mypy_cache', '.pytest_cache']);

export interface CodeArchiveStats {
  files: number;
  bytes: number;
}

/** A tar stream of `codeDir` whose entries are under `folderName/`, plus counts filled while it streams. */
export function packCodeFolder(codeDir: string, folderName: string): { stream: NodeJS.ReadableStream; stats: CodeArchiveStats } {
  const stats: CodeArchiveStats = { files: 0, bytes: 0 };
  const options: tarFs.PackOptions & { umask: number } = {
    umask: 0o022,
    ignore: (name: string) => SKIPPED.has(path.basename(name)),
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
