/** Permission bits for folders that containers (running as ma-user, UID 1000) read or write. */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Sets `dirMode` on `dir` and every folder under it, `fileMode` on every file. */
export async function chmodTree(dir: string, dirMode: number, fileMode: number): Promise<void> {
  await fs.promises.chmod(dir, dirMode);
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await chmodTree(full, dirMode, fileMode);
    else if (entry.isFile()) await fs.promises.chmod(full, fileMode);
  }
}
