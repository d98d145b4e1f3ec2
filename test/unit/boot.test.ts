import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadBundle } from '../../src/boot';

/** A bundle big enough for V8 to keep a cache of, whose exports say they ran. */
function writeBundle(dir: string, marker: string): string {
  const file = path.join(dir, 'main.js');
  const functions = Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${JSON.stringify(marker)}.length; }`).join('\n');
  fs.writeFileSync(file, `'use strict';\n${functions}\nexports.marker = ${JSON.stringify(marker)};\nexports.sum = [${Array.from({ length: 200 }, (_, i) => `f${i}(1)`).join(', ')}].reduce((a, b) => a + b, 0);\nexports.dir = __dirname;\n`);
  return file;
}

/** Loads in a new Node process (V8 keeps what it compiled in this one, whatever cache is offered): its code cache state and marker. */
function loadElsewhere(file: string, cacheDir: string): { codeCache: string; marker: string } {
  const boot = require.resolve('../../src/boot');
  const script = `const { loadBundle } = require(${JSON.stringify(boot)}); const r = loadBundle(${JSON.stringify(file)}, ${JSON.stringify(cacheDir)}, 0); setTimeout(() => console.log(JSON.stringify({ codeCache: r.codeCache, marker: r.exports.marker })), 50);`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { codeCache: string; marker: string };
}

const caches = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
};

describe('loading the bundle with the code cache', function () {
  let dir: string;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-boot-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compiles without a cache, writes one, and the next load uses it with the same result', async function () {
    const file = writeBundle(dir, 'one');
    const cacheDir = path.join(dir, 'code-cache');
    const first = loadBundle<{ marker: string; sum: number; dir: string }>(file, cacheDir, 0);
    assert.equal(first.codeCache, 'none');
    assert.equal(first.exports.marker, 'one');
    assert.equal(first.exports.dir, dir, '__dirname is the bundle\'s folder');
    await waitFor(() => caches(cacheDir).length === 1);
    assert.match(caches(cacheDir)[0] ?? '', /^main-[0-9a-f]{16}\.bin$/);
    const second = loadBundle<{ marker: string; sum: number }>(file, cacheDir, 0);
    assert.equal(second.codeCache, 'used');
    assert.deepEqual(second.exports, first.exports);
  });

  it('rejects a damaged cache, still loads, and writes a good one in its place', async function () {
    const file = writeBundle(dir, 'two');
    const cacheDir = path.join(dir, 'code-cache');
    loadBundle(file, cacheDir, 0);
    await waitFor(() => caches(cacheDir).length === 1);
    const cacheFile = path.join(cacheDir, caches(cacheDir)[0] ?? '');
    const good = fs.readFileSync(cacheFile);
    fs.writeFileSync(cacheFile, Buffer.alloc(good.length, 7));
    assert.deepEqual(loadElsewhere(file, cacheDir), { codeCache: 'rejected', marker: 'two' });
    assert.notEqual(fs.readFileSync(cacheFile)[0], 7, 'a good cache was written in its place');
    assert.deepEqual(loadElsewhere(file, cacheDir), { codeCache: 'used', marker: 'two' }, 'and another process uses it');
  });

  it('keys the cache by the bundle: a new bundle gets its own, and the old one goes', async function () {
    const cacheDir = path.join(dir, 'code-cache');
    loadBundle(writeBundle(dir, 'old'), cacheDir, 0);
    await waitFor(() => caches(cacheDir).length === 1);
    const old = caches(cacheDir);
    const fresh = loadBundle<{ marker: string }>(writeBundle(dir, 'new'), cacheDir, 0);
    assert.equal(fresh.codeCache, 'none', 'the old bundle\'s cache is not offered to the new one');
    assert.equal(fresh.exports.marker, 'new');
    await waitFor(() => caches(cacheDir).length === 1 && caches(cacheDir)[0] !== old[0]);
    assert.equal(caches(cacheDir).length, 1);
    assert.notEqual(caches(cacheDir)[0], old[0]);
  });

  it('loads without a cache where there is no storage for one', function () {
    const loaded = loadBundle<{ marker: string }>(writeBundle(dir, 'three'), undefined, 0);
    assert.equal(loaded.codeCache, 'off');
    assert.equal(loaded.exports.marker, 'three');
  });
});
