/**
 * The Datasets view as a user sees it, on an S3 store (the real test server, behind a proxy that
 * slows uploads down enough to watch): the credentials welcome, the empty store, a folder of the
 * example uploaded from the Explorer with its progress, then the tree with the bucket, the folder
 * and its object. Screenshots land in out/test-results/screenshots.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { screenshot } from '../support/codeServer';
import { startDelayingProxy, type DelayingProxy } from '../support/delayingProxy';
import { ensureS3Server, type S3ServerConfig } from '../support/s3Server';
import { contextMenu, openWorkbench, quickInput, runCommand, treeRow, type Workbench } from '../support/ui';

/** How long the proxy holds each object upload: long enough to see (and photograph) the progress. */
const UPLOAD_DELAY_MS = 4000;

describe('The Datasets view', function () {
  const bucket = `modelarts-ui-${randomBytes(3).toString('hex')}`;
  let s3: S3ServerConfig;
  let proxy: DelayingProxy;
  let workbench: Workbench | undefined;
  let page: Page;
  const sidebar = () => page.locator('.part.sidebar');
  const datasetsPane = () => page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: 'Datasets' }) });

  before(async function () {
    s3 = await ensureS3Server();
    // Object uploads (PUT bucket/key) wait; bucket requests and listings pass at once.
    proxy = await startDelayingProxy(s3.endpoint, (request) => {
      const segments = new URL(request.url ?? '/', 'http://x').pathname.split('/').filter(Boolean);
      return request.method === 'PUT' && segments.length >= 2 ? UPLOAD_DELAY_MS : 0;
    });
    workbench = await openWorkbench({
      settings: {
        'modelarts.storage.kind': 's3',
        'modelarts.storage.s3.endpoint': proxy.endpoint,
        'modelarts.storage.s3.region': s3.region,
        'modelarts.storage.s3.bucket': bucket,
      },
    });
    page = workbench.page;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshot(page, `datasets-failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(() => undefined);
  });

  after(async function () {
    await workbench?.close();
    await proxy?.close();
    if (s3) await removeBucket(s3, bucket);
  });

  it('asks for storage credentials in the view, then says the store is empty and how to fill it', async function () {
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click({ timeout: 60_000 });
    await datasetsPane().locator('.pane-header').waitFor({ timeout: 30_000 });
    // Collapse the other two views so the Datasets view has room.
    for (const title of ['Training Jobs', 'Algorithms']) {
      const header = sidebar().locator('.pane-header', { hasText: title });
      if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
    }
    const welcome = datasetsPane().locator('.welcome-view-content');
    await welcome.getByText('needs an access key', { exact: false }).waitFor({ timeout: 60_000 });
    await page.locator('.part.editor').click();
    await screenshot(page, 'datasets-needs-credentials');
    assert.equal(await page.locator('.notifications-toasts .notification-toast').count(), 0, 'no pop-up, the view says it');

    await welcome.locator('.monaco-button', { hasText: 'Set Storage Credentials' }).click();
    const key = await quickInput(page, 'Set Storage Credentials (1/2)');
    await key.locator('input').fill(s3.accessKeyId);
    await page.keyboard.press('Enter');
    const secret = await quickInput(page, 'Set Storage Credentials (2/2)');
    await secret.locator('input').fill(s3.secretAccessKey);
    await page.keyboard.press('Enter');

    await welcome.getByText('No datasets yet.').waitFor({ timeout: 30_000 });
    await welcome.locator('.monaco-button', { hasText: 'Upload to ModelArts Datasets' }).waitFor();
    await screenshot(page, 'datasets-empty');
  });

  it('uploads a folder from the Explorer with cancellable progress, then shows the bucket, the folder and its object', async function () {
    await runCommand(page, 'Notifications: Clear All Notifications');
    await runCommand(page, 'View: Show Explorer');
    const data = page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: /^data$/ }) });
    await data.waitFor({ timeout: 30_000 });
    await contextMenu(page, data, 'Upload to ModelArts Datasets');

    const destination = await quickInput(page, 'Upload to ModelArts Datasets: destination');
    assert.equal(await destination.locator('input').inputValue(), `obs://${bucket}/data/`, 'the configured bucket and the folder name');
    // A wrong destination is refused while typing, naming the problem.
    await destination.locator('input').fill('obs://Bad_Bucket/data/');
    await destination.locator('.quick-input-message', { hasText: 'bucket' }).waitFor();
    await destination.locator('input').fill(`obs://${bucket}/data/`);
    await page.keyboard.press('Enter');

    const progress = page.locator('.notifications-toasts .notification-toast', { hasText: `Uploading to obs://${bucket}/data/` });
    await progress.waitFor({ timeout: 15_000 });
    await progress.getByText('0 of 1 file, 0 B of 56.2 KB', { exact: false }).waitFor();
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).waitFor();
    await page.waitForTimeout(500); // the toast fades in
    await screenshot(page, 'datasets-upload-progress');
    await progress.waitFor({ state: 'hidden', timeout: 60_000 });

    // The upload reveals its folder in the Datasets view, expanded.
    const bucketRow = treeRow(page, `Bucket ${bucket}, obs://${bucket}/`);
    const folderRow = treeRow(page, `Folder data, obs://${bucket}/data/`);
    const objectRow = treeRow(page, `Object digits.csv.gz, 56.2 KB, obs://${bucket}/data/digits.csv.gz`);
    await bucketRow.waitFor({ timeout: 30_000 });
    await folderRow.waitFor({ timeout: 30_000 });
    // The reveal expands the folder, a moment after the row appears; a click while it expands would
    // collapse it again, so click only when it stays collapsed.
    for (let attempt = 0; attempt < 3 && !(await objectRow.isVisible()); attempt++) {
      await objectRow.waitFor({ timeout: 3000 }).catch(() => undefined);
      if (!(await objectRow.isVisible()) && (await folderRow.getAttribute('aria-expanded')) !== 'true') await folderRow.click();
    }
    await objectRow.waitFor({ timeout: 30_000 });
    assert.equal(await folderRow.getAttribute('aria-expanded'), 'true');
    assert.equal((await objectRow.locator('.label-description').innerText()).trim(), '56.2 KB');
    assert.equal(await page.locator('.notifications-toasts .notification-toast', { hasText: /error|failed/i }).count(), 0, 'no error');
    await page.locator('.part.editor').click();
    await screenshot(page, 'datasets-tree');

    // The tooltip tells where the object is, how big and how recent.
    await objectRow.locator('.label-name').hover();
    const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'Size' }).first();
    await hover.waitFor({ timeout: 15_000 });
    const tooltip = (await hover.innerText()).replace(/\u00a0/g, ' ');
    for (const expected of [`obs://${bucket}/data/digits.csv.gz`, 'Size: 56.2 KB (57,512 bytes)', 'Modified:']) {
      assert.ok(tooltip.includes(expected), `the tooltip shows "${expected}":\n${tooltip}`);
    }
    await screenshot(page, 'datasets-object-tooltip');
  });

  it('cancels an upload from its notification: the request in flight is abandoned and nothing is stored', async function () {
    await page.mouse.move(700, 450); // away from the tooltip
    await runCommand(page, 'View: Show Explorer');
    const train = page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: /^train\.py$/ }) });
    await contextMenu(page, train, 'Upload to ModelArts Datasets');
    const destination = await quickInput(page, 'Upload to ModelArts Datasets: destination');
    assert.equal(await destination.locator('input').inputValue(), `obs://${bucket}/`, 'a file goes below the destination by its name');
    await destination.locator('input').fill(`obs://${bucket}/cancelled/`);
    await page.keyboard.press('Enter');

    const abandonedBefore = proxy.abandoned;
    const progress = page.locator('.notifications-toasts .notification-toast', { hasText: `Uploading to obs://${bucket}/cancelled/train.py` });
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).click({ timeout: 15_000 });
    await progress.waitFor({ state: 'hidden', timeout: 15_000 });
    // Past the proxy's hold: a request still open would have reached the server by now.
    await page.waitForTimeout(UPLOAD_DELAY_MS + 1000);
    assert.equal(proxy.abandoned, abandonedBefore + 1, 'the PUT in flight was closed by the extension');
    assert.deepEqual(await keysOf(s3, bucket), ['data/digits.csv.gz'], 'nothing was stored');
    assert.equal(await page.locator('.notifications-toasts .notification-toast').count(), 0, 'a cancel is silent');
    await page.locator('.activitybar a.action-label[aria-label^="ModelArts"]').click();
    await treeRow(page, `Folder data, obs://${bucket}/data/`).waitFor();
    assert.equal(await treeRow(page, 'Folder cancelled').count(), 0);
  });
});

async function keysOf(s3: S3ServerConfig, bucket: string): Promise<string[]> {
  const sdk = client(s3);
  try {
    const listing = await sdk.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (listing.Contents ?? []).map((object) => object.Key ?? '');
  } finally {
    sdk.destroy();
  }
}

function client(s3: S3ServerConfig): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** Empties and removes the test's bucket on the S3 server (directly, not through the proxy). */
async function removeBucket(s3: S3ServerConfig, bucket: string): Promise<void> {
  const sdk = client(s3);
  try {
    const listing = await sdk.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const object of listing.Contents ?? []) await sdk.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
    await sdk.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch {
    // Never created (an earlier step failed): nothing to remove.
  } finally {
    sdk.destroy();
  }
}
