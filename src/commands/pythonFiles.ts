/** Finding boot-file candidates in a code folder, for the job and algorithm commands. */
import * as fs from 'node:fs';
import * as path from 'node:path';

const SKIPPED_FOLDERS = new Set(['__pycache__', '.git', '.venv', 'venv', 'node_modules', '.mypy_cache', '.ipynb_checkpoints']);

/** Python files under `dir` (a few levels deep), the likeliest boot files first. */
export async function findPythonFiles(dir: string, maxDepth = 4, limit = 500): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string, depth: number): Promise<void> => {
    if (depth > maxDepth || found.length >= limit) return;
    const entries = await fs.promises.readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name) && !entry.name.startsWith('.')) await walk(full, depth + 1);
      else if (entry.isFile() && entry.name.endsWith('.py') && found.length < limit) found.push(full);
    }
  };
  await walk(dir, 0);
  const rank = (file: string) => {
    const base = path.basename(file);
    const depth = path.relative(dir, file).split(path.sep).length;
    return (base === 'train.py' ? 0 : /train/i.test(base) ? 1 : base === 'main.py' ? 2 : 3) * 10 + depth;
  };
  return found.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
