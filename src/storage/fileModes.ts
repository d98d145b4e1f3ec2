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

/** UID the training code runs as in every container (ModelArts' ma-user). */
const CONTAINER_UID = 1000;

/** Whether the container user (UID 1000) can list a folder this process can see, by its permission bits. */
export async function readableByContainerUser(dir: string): Promise<boolean> {
  const stat = await fs.promises.stat(dir);
  if (stat.uid === CONTAINER_UID) return (stat.mode & 0o500) === 0o500;
  return (stat.mode & 0o005) === 0o005;
}

/** Lets the container user (UID 1000) write into a folder this process made, when this process is someone else. */
export async function openUpForContainerUser(dir: string): Promise<void> {
  if (typeof process.getuid !== 'function' || process.getuid() === CONTAINER_UID) return;
  await chmodTree(dir, 0o777, 0o666);
}
