import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { preferredFlavor } from '../../src/drafts/flavorChoice';
import { LOCAL_FLAVORS } from '../../src/core/flavors';
import { channelTextProblem, hyperparameterTextProblem, parseChannelText, resolveLocalLocation } from '../../src/core/jobText';
import { copyFolderInto } from '../../src/storage/folderCopy';

describe('text a person types in the job flows', function () {
  it('says what is wrong with hyperparameters in the box\'s terms, with the form expected', function () {
    assert.equal(hyperparameterTextProblem('epochs=30 lr=0.01 verbose'), undefined);
    const comma = hyperparameterTextProblem('epochs 30, lr=0.1');
    assert.match(comma ?? '', /^"30," is not a hyperparameter name/);
    assert.match(comma ?? '', /name=value name2=value2, such as epochs=30 lr=0\.01/);
    assert.doesNotMatch(comma ?? '', /algorithm\.parameters/, 'no spec field path in the box');
    assert.match(hyperparameterTextProblem('lr=1 lr=2') ?? '', /^lr is given twice/);
    assert.match(hyperparameterTextProblem('=5') ?? '', /^"=" is not a hyperparameter name/);
    assert.match(hyperparameterTextProblem(`x=${'a'.repeat(5000)}`) ?? '', /^The value of x must be at most 4096 characters/);
  });

  it('accepts inputs as storage URLs, absolute folders and folders relative to the workspace', function () {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-text-'));
    fs.mkdirSync(path.join(base, 'data'));
    const exists = (folder: string) => fs.existsSync(folder);
    for (const text of ['data_url=./data', 'data_url=data', `data_url=${path.join(base, 'data')}`, 'data_url=obs://datasets/digits/', 'a=s3://bucket-1/x/ b=./data']) {
      assert.equal(channelTextProblem(text, 'inputs', { base, folderExists: exists }), undefined, text);
    }
    assert.equal(resolveLocalLocation('./data', base), path.join(base, 'data'));
    assert.equal(resolveLocalLocation('obs://b/x/', base), 'obs://b/x/');
    assert.deepEqual(parseChannelText(' data_url=./data  train_url '), [{ name: 'data_url', location: './data' }, { name: 'train_url', location: '' }]);

    const missing = channelTextProblem('data_url=./nothing', 'inputs', { base, folderExists: exists });
    assert.match(missing ?? '', new RegExp(`^data_url: no folder exists at ${path.join(base, 'nothing').replace(/[/\\]/g, '.')}`));
    assert.match(missing ?? '', /data_url=obs:\/\/bucket\/folder\//, 'the message shows the form');
    const bucket = channelTextProblem('data_url=obs://B/x/', 'inputs', { base });
    assert.match(bucket ?? '', /^data_url: obs:\/\/B\/x\/ must name a bucket of 3 to 63 lowercase letters/);
    assert.doesNotMatch(bucket ?? '', /remote\.obs\.obs_url|algorithm\.inputs/);
    assert.match(channelTextProblem('data_url', 'inputs') ?? '', /^data_url: say where its data is/);
    assert.match(channelTextProblem('data_url=./data', 'inputs', { base: undefined }) ?? '', /relative, and there is no workspace folder/);
    assert.match(channelTextProblem('', 'inputs', { required: ['data_url'] }) ?? '', /The algorithm needs data for data_url: add data_url=…/);
  });

  it('takes outputs as storage URLs or bare names only', function () {
    assert.equal(channelTextProblem('train_url', 'outputs'), undefined);
    assert.equal(channelTextProblem('train_url=obs://outputs/digits/', 'outputs'), undefined);
    assert.match(channelTextProblem('train_url=./out', 'outputs') ?? '', /^train_url: an output is delivered to obs:\/\/ or s3:\/\/ storage/);
  });
});

describe('the flavor a job flow offers first', function () {
  const flavors = LOCAL_FLAVORS.slice(0, 4).map((flavor, index) => (index === 0 ? { ...flavor, default_reason: 'default: leaves about half of this machine free' } : flavor));
  const run = { jobName: 'digits-ok', parameters: [], inputs: [], flavorId: 'modelarts.local.cpu.2u4g', completedAt: 1 };

  it('is the setting, else the last completed job\'s, else the last chosen, else the default, each saying why', function () {
    assert.deepEqual(preferredFlavor(flavors, { setting: 'modelarts.local.cpu.2u8g', lastCompleted: run }), { flavor: flavors[2], reason: 'default: the setting modelarts.jobs.defaultFlavor' });
    assert.equal(preferredFlavor(flavors, { setting: '', lastCompleted: run, lastChosen: 'modelarts.local.cpu.2u8g' })?.reason, 'used by digits-ok, the last job of this code that completed');
    assert.equal(preferredFlavor(flavors, { setting: '', lastChosen: 'modelarts.local.cpu.2u8g' })?.flavor.flavor_id, 'modelarts.local.cpu.2u8g');
    const fallback = preferredFlavor(flavors, { setting: 'gone', lastChosen: 'also-gone' });
    assert.equal(fallback?.flavor.flavor_id, 'modelarts.local.cpu.1u2g');
    assert.match(fallback?.reason ?? '', /leaves about half/);
  });
});

describe('copying an output folder (Download Output…)', function () {
  it('copies into a new folder, never over an existing one, and cancels cleanly', async function () {
    const source = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-out-'));
    fs.mkdirSync(path.join(source, 'sub'));
    fs.writeFileSync(path.join(source, 'checkpoint.pt'), Buffer.alloc(100_000, 1));
    fs.writeFileSync(path.join(source, 'sub', 'log.txt'), 'hello');
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'modelarts-dl-'));
    fs.mkdirSync(path.join(parent, 'job-train_url'));
    fs.writeFileSync(path.join(parent, 'job-train_url', 'mine.txt'), 'keep me');
    const progress: number[] = [];
    const result = await copyFolderInto(source, parent, 'job-train_url', { onProgress: (p) => progress.push(p.files) });
    assert.equal(result.dir, path.join(parent, 'job-train_url-2'));
    assert.deepEqual({ files: result.files, bytes: result.bytes }, { files: 2, bytes: 100_005 });
    assert.deepEqual(progress, [1, 2]);
    assert.equal(fs.readFileSync(path.join(result.dir, 'sub', 'log.txt'), 'utf8'), 'hello');
    assert.equal(fs.readFileSync(path.join(parent, 'job-train_url', 'mine.txt'), 'utf8'), 'keep me', 'what was there is untouched');

    const controller = new AbortController();
    controller.abort();
    await assert.rejects(copyFolderInto(source, parent, 'job-train_url', { signal: controller.signal }), /cancelled/);
    assert.ok(!fs.existsSync(path.join(parent, 'job-train_url-3')), 'a cancelled copy leaves no folder');
  });
});
