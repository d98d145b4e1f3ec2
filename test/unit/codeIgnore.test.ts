/**
 * What of a code folder a job gets: gitignore semantics of .modelartsignore / .gitignore, the
 * folders that are never code, ModelArts' limits, and the local snapshot leaving out the same files.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tarStream from 'tar-stream';
import { InvalidInputError, isCancellation } from '../../src/core/errors';
import { packCodeFolder } from '../../src/backends/local/codeArchive';
import { checkCodeLimits, isGitignored, listCodeFiles, parseGitignore, type CodeListing } from '../../src/storage/codeIgnore';
import { makeFolder, removeFolders } from '../support/jobs';

after(removeFolders);

/** [ignore file text, path, is a folder, ignored] */
const TABLE: Array<[string, string, boolean, boolean]> = [
  // No slash: any depth.
  ['foo', 'foo', false, true],
  ['foo', 'a/b/foo', false, true],
  ['foo', 'foobar', false, false],
  ['foo', 'foo/inside.py', false, true],
  ['*.log', 'logs/deep/x.log', false, true],
  ['*', 'anything/deep', false, true],
  // A leading or middle slash anchors to the folder.
  ['/foo', 'foo', false, true],
  ['/foo', 'a/foo', false, false],
  ['a/foo', 'a/foo', false, true],
  ['a/foo', 'b/a/foo', false, false],
  ['doc/*.txt', 'doc/a.txt', false, true],
  ['doc/*.txt', 'doc/sub/a.txt', false, false],
  // A trailing slash: folders only, still at any depth.
  ['build/', 'build', true, true],
  ['build/', 'build', false, false],
  ['build/', 'src/build', true, true],
  ['build/', 'build/x.py', false, true],
  // Negation, and its limit: nothing comes back from under an excluded folder.
  ['*.log\n!keep.log', 'keep.log', false, false],
  ['*.log\n!keep.log', 'a/keep.log', false, false],
  ['*.log\n!keep.log', 'a/b.log', false, true],
  ['data/\n!data/keep.txt', 'data/keep.txt', false, true],
  ['data\n!data/keep.txt', 'data/keep.txt', false, true],
  ['data/*\n!data/keep.txt', 'data/keep.txt', false, false],
  ['data/*\n!data/keep.txt', 'data/other.bin', false, true],
  ['!foo\nfoo', 'foo', false, true],
  ['foo\n!foo', 'foo', false, false],
  ['logs/\n!logs/', 'logs/a.txt', false, false],
  // "**" forms.
  ['**/foo', 'foo', false, true],
  ['**/foo', 'x/y/foo', false, true],
  ['**/foo/bar', 'foo/bar', false, true],
  ['**/foo/bar', 'a/foo/bar', false, true],
  ['**/foo/bar', 'a/foo/baz', false, false],
  ['abc/**', 'abc/x/y', false, true],
  ['abc/**', 'abc', true, false],
  ['abc/**\n!abc/keep.py', 'abc/keep.py', false, false],
  ['a/**/b', 'a/b', false, true],
  ['a/**/b', 'a/x/b', false, true],
  ['a/**/b', 'a/x/y/b', false, true],
  ['a/**/b', 'a/xb', false, false],
  ['a**b', 'axyzb', false, true],
  ['a**b', 'ax/yb', false, false],
  // Wildcards and brackets.
  ['?.py', 'a.py', false, true],
  ['?.py', 'ab.py', false, false],
  ['[abc].txt', 'b.txt', false, true],
  ['[abc].txt', 'd.txt', false, false],
  ['[!abc].txt', 'd.txt', false, true],
  ['*.py[cod]', 'm.pyc', false, true],
  ['*.py[cod]', 'm.py', false, false],
  // Comments, escapes, spaces, line ends.
  ['#foo', '#foo', false, false],
  ['\\#foo', '#foo', false, true],
  ['\\!important', '!important', false, true],
  ['foo   ', 'foo', false, true],
  ['foo\\ ', 'foo ', false, true],
  ['foo\\ ', 'foo', false, false],
  ['a.txt\r\nb.txt\r\n', 'b.txt', false, true],
  ['\n\n# only comments\n', 'x', false, false],
];

describe('gitignore syntax of .modelartsignore', function () {
  it(`follows git on ${TABLE.length} cases`, function () {
    assert.ok(TABLE.length >= 25);
    const wrong = TABLE.filter(([text, rel, isDir, expected]) => isGitignored(parseGitignore(text), rel, isDir) !== expected);
    assert.deepEqual(wrong.map(([text, rel, isDir, expected]) => `${JSON.stringify(text)} ${rel}${isDir ? '/' : ''} should ${expected ? '' : 'not '}be ignored`), []);
  });

  it('skips a bad bracket range instead of failing', function () {
    assert.equal(parseGitignore('[z-a]\nfoo').length, 1);
  });
});

describe('listCodeFiles', function () {
  const rels = (listing: CodeListing) => listing.files.map((f) => f.rel);

  it('leaves out version control and caches at any depth, and names no ignore file when there is none', async function () {
    const dir = makeFolder('code', {
      'train.py': 'print(1)',
      '.git/config': 'x',
      'pkg/__pycache__/m.cpython-311.pyc': 'x',
      'pkg/m.py': 'x',
      'pkg/.ipynb_checkpoints/n.ipynb': 'x',
      '.mypy_cache/a': 'x',
      '.pytest_cache/b': 'x',
      'sub/.hg/c': 'x',
      'sub/.svn/d': 'x',
    });
    const listing = await listCodeFiles(dir);
    assert.deepEqual(rels(listing), ['pkg/m.py', 'train.py']);
    assert.equal(listing.ignoreFile, undefined);
    assert.equal(listing.skipped, 7);
    assert.equal(listing.files.find((f) => f.rel === 'train.py')?.size, 8);
  });

  it('falls back to .gitignore, and cannot bring .git back', async function () {
    const dir = makeFolder('code', { '.gitignore': 'data/\n*.ckpt\n!.git\n', 'train.py': '', 'data/a.csv': '', 'out/m.ckpt': '', '.git/HEAD': '' });
    const listing = await listCodeFiles(dir);
    assert.equal(listing.ignoreFile, '.gitignore');
    assert.deepEqual(rels(listing), ['.gitignore', 'train.py']);
  });

  it('takes .modelartsignore over .gitignore (it replaces it, it does not add to it)', async function () {
    const dir = makeFolder('code', { '.gitignore': 'a.txt\n', '.modelartsignore': 'b.txt\n', 'a.txt': '', 'b.txt': '', 'sub/b.txt': '' });
    const listing = await listCodeFiles(dir);
    assert.equal(listing.ignoreFile, '.modelartsignore');
    assert.deepEqual(rels(listing), ['.gitignore', '.modelartsignore', 'a.txt']);
  });

  it('does not walk into an excluded folder, so nothing comes back from it', async function () {
    const dir = makeFolder('code', { '.modelartsignore': 'data/\n!data/keep.txt\nlogs/*\n!logs/keep.txt\n', 'data/keep.txt': '', 'data/x': '', 'logs/keep.txt': '', 'logs/y': '' });
    const listing = await listCodeFiles(dir);
    assert.deepEqual(rels(listing), ['.modelartsignore', 'logs/keep.txt']);
    assert.equal(listing.skipped, 2); // data/ once, logs/y
  });

  it('counts a link to a file as the file and does not follow a link to a folder', async function () {
    const dir = makeFolder('code', { 'real/a.py': 'abc' });
    fs.symlinkSync(path.join(dir, 'real', 'a.py'), path.join(dir, 'link.py'));
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'linked-folder'));
    const listing = await listCodeFiles(dir);
    assert.deepEqual(rels(listing), ['link.py', 'real/a.py']);
    assert.equal(listing.files[0]?.size, 3);
  });

  it('stops when its signal is aborted', async function () {
    const dir = makeFolder('code', { 'a.py': '' });
    await assert.rejects(listCodeFiles(dir, { signal: AbortSignal.abort() }), (error: unknown) => isCancellation(error));
  });
});

describe('ModelArts code limits', function () {
  const listing = (files: Array<[string, number]>): CodeListing => ({ files: files.map(([rel, size]) => ({ rel, size, mtimeMs: 0 })), ignoreFile: undefined, skipped: 0 });
  const many = (folder: string, count: number, size: number): Array<[string, number]> => Array.from({ length: count }, (_, i) => [`${folder}${i}.bin`, size]);

  it('names the count, the limit and the biggest folders by file count', function () {
    const files = [...many('data/', 1100, 1024), ...many('src/', 100, 10), ...many('', 30, 1), ...many('docs/img/', 4, 5)];
    assert.throws(
      () => checkCodeLimits('/path/code', listing(files)),
      (error: unknown) => {
        assert.ok(error instanceof InvalidInputError);
        assert.deepEqual(error.fields, ['algorithm.code_dir']);
        assert.equal(
          error.issues[0]?.message,
          '/path/code has 1,234 files (ModelArts allows 1,000): biggest folders data/ (1,100 files, 1.1 MB), src/ (100 files, 1000 B), docs/ (4 files, 20 B); ' +
            'list what the job does not need in a .modelartsignore file in that folder (gitignore syntax)',
        );
        return true;
      },
    );
  });

  it('passes at the limit, and names the bytes by size beyond a small byte limit', function () {
    checkCodeLimits('/c', listing(many('a/', 1000, 1)));
    const files: Array<[string, number]> = [['small/a', 100], ['big/a', 2048], ['big/b', 1024], ['mid/a', 500], ['mid/b', 1]];
    const withIgnore = { ...listing(files), ignoreFile: '.modelartsignore' as const };
    assert.throws(
      () => checkCodeLimits('/c', withIgnore, { maxBytes: 1024, field: 'code_dir', subject: 'Algorithm' }),
      (error: unknown) =>
        error instanceof InvalidInputError &&
        error.message ===
          'Algorithm is invalid: code_dir: /c holds 3.6 KB (ModelArts allows 1.0 KB): biggest folders big/ (2 files, 3.0 KB), mid/ (2 files, 501 B), small/ (1 file, 100 B); add what the job does not need to .modelartsignore',
    );
    const fromGit = { ...listing(many('x/', 3, 1)), ignoreFile: '.gitignore' as const };
    assert.throws(() => checkCodeLimits('/c', fromGit, { maxFiles: 2 }), /in a \.modelartsignore \(it replaces \.gitignore for jobs\)/);
  });
});

describe('local code snapshot', function () {
  it('leaves out what .modelartsignore excludes, and the folders that are never code', async function () {
    const dir = makeFolder('code', { '.modelartsignore': 'data/\n*.ckpt\n', 'train.py': 'x', 'pkg/m.py': 'y', 'data/big.bin': 'z', 'out/m.ckpt': 'w', '.git/HEAD': 'h', 'pkg/__pycache__/m.pyc': 'c' });
    const { stream, stats } = packCodeFolder(dir, 'code');
    const names: string[] = [];
    const extract = tarStream.extract();
    extract.on('entry', (header, entry, next) => {
      names.push(header.type === 'directory' ? `${header.name.replace(/\/$/, '')}/` : header.name);
      entry.on('end', next);
      entry.resume();
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', resolve);
      extract.on('error', reject);
      stream.pipe(extract);
    });
    assert.deepEqual(names.sort(), ['code/', 'code/.modelartsignore', 'code/out/', 'code/pkg/', 'code/pkg/m.py', 'code/train.py']);
    assert.deepEqual({ files: stats.files, skipped: stats.skipped, ignoreFile: stats.ignoreFile }, { files: 3, skipped: 4, ignoreFile: '.modelartsignore' });
  });
});
