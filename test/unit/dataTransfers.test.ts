import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidInputError } from '../../src/core/errors';
import { findData, inspectSources, parseDataUrl, planUpload, runDelete, runDownload, runUpload } from '../../src/storage/dataTransfers';
import { FolderStore } from '../../src/storage/folderStore';

function tempDir(prefix: string, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `modelarts-${prefix}-`));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

describe('dataset transfers (the Datasets commands without VS Code)', function () {
  it('plans where each source lands: a folder below the URL, a file at it, several by name', async function () {
    const folder = tempDir('src', { 'a.txt': 'a', 'sub/b.txt': 'bb' });
    const file = path.join(tempDir('one', { 'c.csv': 'ccc' }), 'c.csv');
    const [folderSource] = await inspectSources([folder], 'source');
    assert.deepEqual({ files: folderSource?.files, bytes: folderSource?.bytes, isFolder: folderSource?.isFolder }, { files: 2, bytes: 3, isFolder: true });

    const one = planUpload(await inspectSources([folder], 'source'), parseDataUrl('obs://datasets/digits/', 'url'), true);
    assert.equal(one.url, 'obs://datasets/digits/');
    assert.deepEqual(one.items.map((item) => item.key), ['digits/']);
    const asObject = planUpload(await inspectSources([file], 'source'), parseDataUrl('obs://datasets/raw/data.csv', 'url'), true);
    assert.deepEqual([asObject.url, asObject.folder], ['obs://datasets/raw/data.csv', 'raw/']);
    const intoFolder = planUpload(await inspectSources([file], 'source'), parseDataUrl('obs://datasets/raw/', 'url'), true);
    assert.equal(intoFolder.url, 'obs://datasets/raw/c.csv');
    const several = planUpload(await inspectSources([folder, file], 'source'), parseDataUrl('obs://datasets/all/', 'url'), false);
    assert.deepEqual(several.items.map((item) => item.key), [`all/${path.basename(folder)}/`, 'all/c.csv']);
    assert.deepEqual([several.files, several.bytes], [3, 6]);
  });

  it('refuses what cannot be uploaded before anything is stored, naming the field', async function () {
    await assert.rejects(inspectSources(['/no/such/thing'], 'source'), (error: unknown) => error instanceof InvalidInputError && error.fields[0] === 'source' && /no such file or folder/.test(error.message));
    await assert.rejects(inspectSources([tempDir('empty')], 'source'), /holds no files: nothing to upload/);
    assert.throws(() => parseDataUrl('https://x/y', 'url'), (error: unknown) => error instanceof InvalidInputError && error.fields[0] === 'url');
  });

  it('uploads, finds an object or a folder as the console reads a URL, downloads and deletes with progress', async function () {
    const store = new FolderStore(tempDir('store'));
    const folder = tempDir('data', { 'x.bin': 'xxxx', 'nested/y.bin': 'yy' });
    const plan = planUpload(await inspectSources([folder], 'source'), parseDataUrl('obs://bucket-a/set/', 'url'), true);
    const seen: number[] = [];
    assert.deepEqual(await runUpload(store, plan, undefined, (p) => seen.push(p.objects)), { objects: 2, bytes: 6 });
    assert.ok(seen.length > 0 && Math.max(...seen) === 2, `progress counted the files: ${seen.join(',')}`);

    const asFolder = await findData(store, parseDataUrl('obs://bucket-a/set', 'url'));
    assert.equal(asFolder.isFolder, true, 'a URL without "/" names the folder when no such object exists');
    assert.deepEqual(asFolder.objects.map((o) => o.key).sort(), ['set/nested/y.bin', 'set/x.bin']);
    const asObject = await findData(store, parseDataUrl('obs://bucket-a/set/x.bin', 'url'));
    assert.deepEqual([asObject.isFolder, asObject.objects.length], [false, 1]);

    const target = tempDir('down');
    assert.deepEqual(await runDownload(store, asFolder, target), { objects: 2, bytes: 6 });
    assert.equal(fs.readFileSync(path.join(target, 'nested', 'y.bin'), 'utf8'), 'yy');
    await assert.rejects(runDownload(store, await findData(store, parseDataUrl('obs://bucket-a/none/', 'url')), target), /nothing is stored at obs:\/\/bucket-a\/none\//);

    const progress: number[] = [];
    assert.equal(await runDelete(store, asFolder, undefined, (p) => progress.push(p.objects)), 2);
    assert.deepEqual(progress, [2]);
    assert.equal((await findData(store, parseDataUrl('obs://bucket-a/set/', 'url'))).objects.length, 0);
    await assert.rejects(findData(store, parseDataUrl('obs://no-bucket/x/', 'url')), (error: unknown) => error instanceof InvalidInputError && /names the bucket "no-bucket", which does not exist/.test(error.message));
  });
});
