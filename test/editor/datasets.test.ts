/**
 * The dataset commands inside a real VS Code extension host, called with arguments as keybindings,
 * tasks and other extensions call them: against the default folder store, then one round trip
 * through the real S3 server configured in the settings with credentials in SecretStorage.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { BucketNode, ErrorNode, FolderNode, LoadMoreNode, ObjectNode, type DatasetNode } from '../../src/views/datasetsModel';
import { datasetContextValue } from '../../src/views/datasetsTree';
import { EXTENSION_ID, menuOffers, rejectsNaming } from '../support/editor';
import { ensureS3Server } from '../support/s3Server';

interface Listing {
  url: string;
  folders: string[];
  objects: Array<{ url: string; size: number }>;
  more: boolean;
}

const run = <T>(command: string, ...args: unknown[]) => Promise.resolve(vscode.commands.executeCommand<T>(`modelarts.datasets.${command}`, ...args));
const list = (url: string) => run<Listing>('refresh', { url });

function tempFolder(files: Record<string, string | Buffer> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-datasets-editor-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

function filesUnder(dir: string, rel = ''): string[] {
  return fs
    .readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(dir, `${rel}${entry.name}/`) : [`${rel}${entry.name}`]))
    .sort();
}

/** Polls the Datasets view's state until `wanted` (settings and credentials apply asynchronously). */
async function waitForState(wanted: string): Promise<{ state: string; buckets: string[] }> {
  let last: { state: string; buckets: string[] } | undefined;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    last = await run<{ state: string; buckets: string[] }>('refresh').catch(() => undefined);
    if (last?.state === wanted) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the Datasets view did not reach "${wanted}": ${JSON.stringify(last)}`);
}

describe('Datasets in VS Code', function () {
  const bucket = `editor-${randomBytes(3).toString('hex')}`;
  const folders: string[] = [];
  const folder = (files: Record<string, string | Buffer> = {}) => {
    const dir = tempFolder(files);
    folders.push(dir);
    return dir;
  };
  const source = { 'a.txt': 'alpha\n', 'sub/b.bin': randomBytes(200_000), 'sub/deeper/c.csv': 'x,y\n1,2\n' };

  before(async function () {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `extension ${EXTENSION_ID} is loaded`);
    await extension.activate();
    // The default store: a local folder store in the extension's storage.
    assert.equal(vscode.workspace.getConfiguration('modelarts').get('storage.kind'), 'folder');
  });

  after(function () {
    for (const dir of folders) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('contributes the commands, their menus by node kind, the Explorer entry and the welcome states', async function () {
    const commands = await vscode.commands.getCommands(true);
    for (const command of ['upload', 'download', 'delete', 'copyUrl', 'useAsInput', 'refresh', 'loadMore']) {
      assert.ok(commands.includes(`modelarts.datasets.${command}`), `modelarts.datasets.${command} is registered`);
    }
    const bucketNode = new BucketNode('b');
    const folderNode = new FolderNode(bucketNode, 'f/');
    const kinds: Array<[string, DatasetNode]> = [
      ['bucket', bucketNode],
      ['folder', folderNode],
      ['object', new ObjectNode(folderNode, { key: 'f/o', size: 1 })],
      ['more', new LoadMoreNode(folderNode)],
      ['error', new ErrorNode(folderNode, 'down')],
    ];
    const expected: Record<string, string[]> = {
      bucket: ['upload', 'download', 'useAsInput', 'copyUrl', 'refresh'],
      folder: ['upload', 'download', 'useAsInput', 'copyUrl', 'refresh', 'delete'],
      object: ['download', 'copyUrl', 'delete'],
      more: [],
      error: ['refresh'],
    };
    for (const [kind, node] of kinds) {
      const offered = ['upload', 'download', 'useAsInput', 'copyUrl', 'refresh', 'delete'].filter((c) => menuOffers(`modelarts.datasets.${c}`, 'modelarts.datasets', datasetContextValue(node)));
      assert.deepEqual(offered, expected[kind], `the menu of a ${kind} row (${datasetContextValue(node)})`);
    }
    const contributes = vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON.contributes as {
      menus: Record<string, Array<{ command: string; when?: string; group?: string }>>;
      viewsWelcome: Array<{ view: string; contents: string; when?: string }>;
      commands: Array<{ command: string; category?: string; icon?: string; enablement?: string }>;
    };
    assert.ok(contributes.menus['explorer/context']?.some((m) => m.command === 'modelarts.datasets.upload' && m.group === 'modelarts@2'));
    const welcome = (state: string) => contributes.viewsWelcome.find((w) => w.view === 'modelarts.datasets' && w.when === `modelarts.storageState == ${state}`)?.contents ?? '';
    assert.match(welcome('needsCredentials'), /\[Set Storage Credentials\]\(command:modelarts\.storage\.setCredentials\)/);
    assert.match(welcome('empty'), /\(command:modelarts\.datasets\.upload\)/);
    const own = contributes.commands.filter((c) => c.command.startsWith('modelarts.datasets.'));
    assert.ok(own.every((c) => c.category === 'ModelArts'));
    assert.equal(own.find((c) => c.command === 'modelarts.datasets.useAsInput')?.enablement, 'isWorkspaceTrusted');
  });

  it('uploads a folder and a file, lists them as the view does, downloads them byte for byte, copies a URL and deletes', async function () {
    const dir = folder(source);
    const up = await run<{ url: string; objects: number; bytes: number }>('upload', { source: dir, url: `obs://${bucket}/set/` });
    assert.deepEqual(up, { url: `obs://${bucket}/set/`, objects: 3, bytes: 6 + 200_000 + 8 });
    const file = await run<{ url: string; objects: number }>('upload', { source: path.join(dir, 'a.txt'), url: `obs://${bucket}/single/` });
    assert.deepEqual(file, { url: `obs://${bucket}/single/a.txt`, objects: 1, bytes: 6 });

    const top = await run<{ state: string; buckets: string[] }>('refresh');
    assert.equal(top.state, 'ready');
    assert.ok(top.buckets.includes(bucket), `${bucket} among ${top.buckets.join(', ')}`);
    assert.deepEqual(await list(`obs://${bucket}/`), { url: `obs://${bucket}/`, folders: [`obs://${bucket}/set/`, `obs://${bucket}/single/`], objects: [], more: false });
    assert.deepEqual(await list(`obs://${bucket}/set`), {
      url: `obs://${bucket}/set/`,
      folders: [`obs://${bucket}/set/sub/`],
      objects: [{ url: `obs://${bucket}/set/a.txt`, size: 6 }],
      more: false,
    });

    const target = path.join(folder(), 'out');
    const down = await run<{ dir: string; objects: number; bytes: number }>('download', { url: `obs://${bucket}/set/`, dir: target });
    assert.deepEqual(down, { dir: target, objects: 3, bytes: up.bytes });
    assert.deepEqual(filesUnder(target), ['a.txt', 'sub/b.bin', 'sub/deeper/c.csv']);
    for (const name of filesUnder(target)) assert.ok(fs.readFileSync(path.join(target, name)).equals(fs.readFileSync(path.join(dir, name))), `${name} is the same bytes`);
    const one = path.join(folder(), 'one');
    assert.deepEqual(await run('download', { url: `obs://${bucket}/set/sub/b.bin`, dir: one }), { dir: one, objects: 1, bytes: 200_000 });
    assert.ok(fs.readFileSync(path.join(one, 'b.bin')).equals(source['sub/b.bin']));

    assert.equal(await run('copyUrl', { url: `obs://${bucket}/set/sub/` }), `obs://${bucket}/set/sub/`);
    assert.equal(await vscode.env.clipboard.readText(), `obs://${bucket}/set/sub/`);
    assert.deepEqual(await run('useAsInput', { url: `obs://${bucket}/set` }), { inputs: [{ name: 'data_url', url: `obs://${bucket}/set/` }] });

    assert.deepEqual(await run('delete', { url: `obs://${bucket}/set/sub/` }), { deleted: 2 });
    assert.deepEqual((await list(`obs://${bucket}/set/`)).folders, [], 'the folder went with its objects');
    assert.deepEqual(await run('delete', { url: `obs://${bucket}/single/a.txt` }), { deleted: 1 }, 'a URL without "/" names the object');
    assert.deepEqual(await run('delete', { url: `obs://${bucket}/set/` }), { deleted: 1 });
    assert.deepEqual(await list(`obs://${bucket}/`), { url: `obs://${bucket}/`, folders: [], objects: [], more: false });
    assert.deepEqual(await run('delete', { url: `obs://${bucket}/set/` }), { deleted: 0 }, 'deleting nothing is no error');
  });

  it('lists a level 100 entries at a time, as the view pages it', async function () {
    const files: Record<string, string> = {};
    for (let i = 0; i < 105; i += 1) files[`f-${String(i).padStart(3, '0')}.txt`] = String(i);
    const up = await run<{ objects: number }>('upload', { source: folder(files), url: `obs://${bucket}/many/` });
    assert.equal(up.objects, 105);
    const page = await list(`obs://${bucket}/many/`);
    assert.equal(page.objects.length, 100);
    assert.equal(page.more, true, 'a "Load more…" row follows');
    assert.deepEqual(await run('delete', { url: `obs://${bucket}/many/` }), { deleted: 105 });
  });

  it('refuses bad input naming the field, and creates nothing', async function () {
    const dir = folder({ 'f.txt': 'x' });
    const fresh = `editor-bad-${randomBytes(3).toString('hex')}`;
    await rejectsNaming(run('upload', { source: dir, url: 'http://example.com/x/' }), 'url', 'obs://');
    await rejectsNaming(run('upload', { source: dir, url: 'obs://Not_A_Bucket/x/' }), 'url', 'bucket');
    await rejectsNaming(run('upload', { source: dir, url: `obs://${fresh}/a/../b/` }), 'url', '..');
    await rejectsNaming(run('upload', { source: dir, url: `file://${dir}` }), 'url', 'obs://');
    await rejectsNaming(run('upload', { source: path.join(dir, 'missing'), url: `obs://${fresh}/x/` }), 'source', 'no such file or folder');
    await rejectsNaming(run('upload', { url: `obs://${fresh}/x/` }), 'source');
    await rejectsNaming(run('upload', { source: 'relative/path', url: `obs://${fresh}/x/` }), 'source', 'absolute');
    await rejectsNaming(run('upload', { source: folder(), url: `obs://${fresh}/x/` }), 'source', 'no files');
    await rejectsNaming(run('upload', { source: dir, url: `obs://${fresh}/x/`, overwrite: true }), 'overwrite');
    await rejectsNaming(run('upload', 'not an object'), 'must be an object');
    const target = path.join(folder(), 'never');
    await rejectsNaming(run('download', { url: `obs://${fresh}/x/`, dir: 'relative' }), 'dir', 'absolute');
    await rejectsNaming(run('download', { url: `obs://${bucket}/nothing-here/`, dir: target }), 'url', 'nothing is stored');
    await rejectsNaming(run('delete', { url: 's3:/broken' }), 'url');
    await rejectsNaming(run('copyUrl', { url: 'ftp://x/' }), 'url');
    await rejectsNaming(run('useAsInput', {}), 'url');
    assert.equal(fs.existsSync(target), false, 'no download folder was created');
    const { buckets } = await run<{ buckets: string[] }>('refresh');
    assert.ok(!buckets.includes(fresh), 'no bucket was created');
  });

  describe('with an S3 store in the settings', function () {
    const s3Bucket = `modelarts-editor-${randomBytes(3).toString('hex')}`;
    const config = () => vscode.workspace.getConfiguration('modelarts');

    after(async function () {
      this.timeout(60_000);
      await run('delete', { url: `obs://${s3Bucket}/` }).catch(() => undefined);
      for (const key of ['storage.kind', 'storage.s3.endpoint', 'storage.s3.region']) await config().update(key, undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('modelarts.storage.setCredentials', null);
      await waitForState('ready').catch(() => waitForState('empty'));
      const server = await ensureS3Server();
      const sdk = new S3Client({
        endpoint: server.endpoint,
        region: server.region,
        forcePathStyle: true,
        credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      });
      await sdk.send(new DeleteBucketCommand({ Bucket: s3Bucket })).catch(() => undefined);
      sdk.destroy();
    });

    it('asks for credentials first, then uploads to a fresh bucket, lists, downloads and deletes', async function () {
      this.timeout(120_000);
      const server = await ensureS3Server();
      await config().update('storage.s3.endpoint', server.endpoint, vscode.ConfigurationTarget.Global);
      await config().update('storage.s3.region', server.region, vscode.ConfigurationTarget.Global);
      await config().update('storage.kind', 's3', vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('modelarts.storage.setCredentials', null);
      await waitForState('needsCredentials');
      await rejectsNaming(run('upload', { source: folder(source), url: `obs://${s3Bucket}/set/` }), 'no credentials', 'Set Storage Credentials');

      const answer = await vscode.commands.executeCommand<{ store: string; problem?: string }>('modelarts.storage.setCredentials', {
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
      });
      assert.deepEqual(answer, { store: `S3 store at ${server.endpoint}` });
      const dir = folder(source);
      const up = await run<{ url: string; objects: number; bytes: number }>('upload', { source: dir, url: `obs://${s3Bucket}/set/` });
      assert.deepEqual(up, { url: `obs://${s3Bucket}/set/`, objects: 3, bytes: 200_014 });
      const { buckets } = await run<{ buckets: string[] }>('refresh');
      assert.ok(buckets.includes(s3Bucket), `the new bucket is listed among ${buckets.join(', ')}`);
      assert.deepEqual((await list(`obs://${s3Bucket}/set/`)).objects, [{ url: `obs://${s3Bucket}/set/a.txt`, size: 6 }]);
      const target = path.join(folder(), 'from-s3');
      assert.deepEqual(await run('download', { url: `s3://${s3Bucket}/set/`, dir: target }), { dir: target, objects: 3, bytes: 200_014 });
      for (const name of filesUnder(target)) assert.ok(fs.readFileSync(path.join(target, name)).equals(fs.readFileSync(path.join(dir, name))), `${name} is the same bytes`);
      assert.deepEqual(await run('delete', { url: `obs://${s3Bucket}/set/` }), { deleted: 3 });
      assert.deepEqual((await list(`obs://${s3Bucket}/`)).folders, []);
    });
  });
});
