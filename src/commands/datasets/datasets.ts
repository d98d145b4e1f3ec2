/**
 * The Datasets commands: upload, download, delete, copy URL, use as a training input, refresh.
 * From the Explorer, a Datasets node or the palette they ask what is missing and show progress
 * that can be cancelled; called with an object (`{source, url}`, `{url, dir}`, `{url}`) they ask
 * nothing and return what they did. URLs are `obs://bucket/folder/` (or `s3://`) in the store the
 * settings name; a URL without a trailing "/" is the object of that key if there is one, else the
 * folder, as in the OBS console.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import { folderKey } from '../../core/dataset';
import { CancelledError, InvalidInputError, ModelArtsError, errorMessage, invalidInput } from '../../core/errors';
import { formatBytes } from '../../core/format';
import {
  DELETE_BATCH,
  findData,
  folderUrl,
  inspectSources,
  parentKey,
  parseDataUrl,
  planUpload,
  runDelete,
  runDownload,
  runUpload,
  totalBytes,
  type FoundData,
  type LocalSource,
} from '../../storage/dataTransfers';
import type { ObjectStore, TransferProgress } from '../../storage/objectStore';
import type { Services } from '../../services';
import { BucketNode, ContainerNode, DatasetNode, LoadMoreNode, ObjectNode, storeUrl } from '../../views/datasetsModel';
import { JobDraft, type JobDraftSeed } from '../jobs/jobDraft';
import type { CommandContext } from '../registry';

const UPLOAD_TITLE = 'Upload to ModelArts Datasets';

const absolutePath = (what: string) =>
  z.string({ error: `must be the absolute path of ${what}` }).refine((value) => path.isAbsolute(value), { error: `must be an absolute path of ${what}` });
const storeUrlText = z.string({ error: 'must be a store URL such as obs://bucket/folder/' });
const uploadArgsSchema = z.strictObject({ source: absolutePath('a local file or folder'), url: storeUrlText }, { error: 'must be an object {source, url}' });
const downloadArgsSchema = z.strictObject({ url: storeUrlText, dir: absolutePath('the local folder to download into') }, { error: 'must be an object {url, dir}' });
const urlArgsSchema = z.strictObject({ url: storeUrlText }, { error: 'must be an object {url}' });

// ───────────────────────────── commands ─────────────────────────────

/** Uploads files and folders: `{source, url}` → `{url, objects, bytes}`. */
export async function uploadToDatasets({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ url: string; objects: number; bytes: number } | undefined> {
  if (!interactive) {
    const { source, url } = parseArgs(uploadArgsSchema, args[0], 'Upload');
    const destination = parseDataUrl(url, 'url');
    const plan = planUpload(await inspectSources([source], 'source'), destination, true);
    const result = await runUpload(activeStore(services), plan).finally(() => showChange(services, plan.bucket, plan.folder));
    return { url: plan.url, ...result };
  }
  const node = args[0] instanceof ContainerNode ? args[0] : undefined;
  const paths = await chooseUploadSources(args);
  if (!paths) return undefined;
  const sources = await inspectSources(paths, 'source');
  const destination = await askUploadDestination(services, sources, node);
  if (!destination) return undefined;
  const plan = planUpload(sources, parseDataUrl(destination, 'destination'), sources.length === 1);
  // Also after a failure or a cancel: what did arrive shows in the view.
  const result = await Promise.resolve(
    withTransferProgress(`Uploading to ${plan.url}`, { objects: 0, bytes: 0, totalObjects: plan.files, totalBytes: plan.bytes }, (signal, report) =>
      runUpload(activeStore(services), plan, signal, report),
    ),
  ).finally(() => showChange(services, plan.bucket, plan.folder));
  services.log.info(`Uploaded ${result.objects} file(s), ${formatBytes(result.bytes)}, to ${plan.url}`);
  vscode.window.setStatusBarMessage(`$(check) Uploaded ${countFiles(result.objects)} (${formatBytes(result.bytes)}) to ${plan.url}`, 8000);
  await reveal(services, plan.bucket, plan.folder);
  return { url: plan.url, ...result };
}

/** Downloads a folder's objects (or one object) into a local folder: `{url, dir}` → `{dir, objects, bytes}`. */
export async function downloadFromDatasets({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ dir: string; objects: number; bytes: number } | undefined> {
  if (!interactive) {
    const { url, dir } = parseArgs(downloadArgsSchema, args[0], 'Download');
    const found = await findData(activeStore(services), parseDataUrl(url, 'url'));
    return { dir, ...(await runDownload(activeStore(services), found, dir)) };
  }
  const url = await chosenUrl(services, args[0], 'Download from Datasets');
  if (!url) return undefined;
  const found = await withViewProgress(`Listing ${url}`, () => findData(activeStore(services), parseDataUrl(url, 'url')));
  const dir = await askDownloadFolder(found);
  if (!dir) return undefined;
  const result = await withTransferProgress(`Downloading ${found.url}`, { objects: 0, bytes: 0, totalObjects: found.objects.length, totalBytes: totalBytes(found.objects) }, (signal, report) =>
    runDownload(activeStore(services), found, dir, signal, report),
  );
  services.log.info(`Downloaded ${result.objects} object(s), ${formatBytes(result.bytes)}, from ${found.url} to ${dir}`);
  vscode.window.setStatusBarMessage(`$(check) Downloaded ${countObjects(result.objects)} (${formatBytes(result.bytes)}) to ${dir}`, 8000);
  return { dir, ...result };
}

/** Deletes an object or everything under a folder: `{url}` → `{deleted}`; interactive, confirms first. */
export async function deleteFromDatasets({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ deleted: number } | undefined> {
  if (!interactive) {
    const { url } = parseArgs(urlArgsSchema, args[0], 'Delete');
    const found = await findData(activeStore(services), parseDataUrl(url, 'url'));
    const deleted = await runDelete(activeStore(services), found).finally(() => refreshAfterDelete(services, found));
    return { deleted };
  }
  const url = await chosenUrl(services, args[0], 'Delete from Datasets');
  if (!url) return undefined;
  const found = await withViewProgress(`Listing ${url}`, () => findData(activeStore(services), parseDataUrl(url, 'url')));
  if (found.objects.length === 0) {
    void vscode.window.showInformationMessage(`Nothing is stored at ${found.url} (any longer).`);
    await refreshAfterDelete(services, found);
    return { deleted: 0 };
  }
  if (!(await confirmDelete(found))) return undefined;
  const total = { objects: 0, bytes: 0, totalObjects: found.objects.length, totalBytes: totalBytes(found.objects) };
  const deletion =
    found.objects.length > DELETE_BATCH
      ? withTransferProgress(`Deleting ${found.url}`, total, (signal, report) => runDelete(activeStore(services), found, signal, report))
      : withViewProgress(`Deleting ${found.url}`, () => runDelete(activeStore(services), found));
  const deleted = await Promise.resolve(deletion).finally(() => refreshAfterDelete(services, found));
  services.log.info(`Deleted ${deleted} object(s) at ${found.url}`);
  return { deleted };
}

/** Puts a node's URL (or `{url}`) on the clipboard and returns it. */
export async function copyDatasetUrl({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  let url: string | undefined;
  if (interactive) {
    url = await chosenUrl(services, args[0], 'Copy Dataset URL');
  } else {
    url = parseArgs(urlArgsSchema, typeof args[0] === 'string' ? { url: args[0] } : args[0], 'Copy URL').url.trim();
    parseDataUrl(url, 'url');
  }
  if (!url) return undefined;
  await vscode.env.clipboard.writeText(url);
  if (interactive) vscode.window.setStatusBarMessage(`$(check) Copied ${url}`, 4000);
  return url;
}

/** Starts "Create Training Job" with the folder as its `data_url` input; `{url}` → the draft's seed. */
export async function useDatasetAsInput({ services, interactive }: CommandContext, ...args: unknown[]): Promise<unknown> {
  if (!interactive) {
    const { url } = parseArgs(urlArgsSchema, args[0], 'Use as training input');
    return inputSeed(folderUrl(parseDataUrl(url, 'url')));
  }
  const url = await chosenUrl(services, args[0], 'Use Dataset as Training Input');
  if (!url) return undefined;
  return vscode.commands.executeCommand('modelarts.jobs.create', new JobDraft(inputSeed(folderUrl(parseDataUrl(url, 'url')))));
}

/**
 * Lists again: everything (view title), one level (a node, or Retry on an error row), or, with
 * `{url}`, the first page of a folder as the view shows it.
 */
export async function refreshDatasets({ services, interactive }: CommandContext, ...args: unknown[]): Promise<unknown> {
  const model = services.datasets;
  if (args[0] instanceof DatasetNode) {
    await model.refresh(args[0]);
    return undefined;
  }
  if (!interactive) {
    const { url } = parseArgs(urlArgsSchema, args[0], 'Refresh');
    const location = parseDataUrl(url, 'url');
    const container = model.containerNode(location.bucket, folderKey(location.key));
    await model.refresh(container);
    const children = await model.children(container);
    const problem = model.levelError(container);
    if (problem !== undefined) throw new ModelArtsError(problem, 'ModelArts.Storage');
    return {
      url: container.url,
      folders: children.filter((n): n is ContainerNode => n instanceof ContainerNode).map((n) => n.url),
      objects: children.filter((n): n is ObjectNode => n instanceof ObjectNode).map((n) => ({ url: n.url, size: n.object.size })),
      more: children.some((n) => n instanceof LoadMoreNode),
    };
  }
  await model.refresh();
  const roots = await model.children();
  return { state: model.state, buckets: roots.filter((n): n is BucketNode => n instanceof BucketNode).map((n) => n.bucket) };
}

/** The "Load more…" row: lists the next page of its level. */
export async function loadMoreDatasets({ services }: CommandContext, ...args: unknown[]): Promise<void> {
  if (!(args[0] instanceof LoadMoreNode)) {
    throw new InvalidInputError('Load more', [{ field: '', message: 'is run by the "Load more…" row of the Datasets view; code lists a folder with modelarts.datasets.refresh and {url}' }]);
  }
  await services.datasets.loadMore(args[0].parent);
}

// ───────────────────────────── arguments ─────────────────────────────

function parseArgs<T>(schema: z.ZodType<T>, value: unknown, subject: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput(subject, parsed.error);
  return parsed.data;
}

function inputSeed(url: string): JobDraftSeed {
  return { inputs: [{ name: 'data_url', url }] };
}

function activeStore(services: Services): ObjectStore {
  const { store, problem } = services.stores.current;
  if (problem) throw new ModelArtsError(`Datasets cannot be reached: ${problem}.`, 'ModelArts.StorageUnavailable');
  return store;
}

// ───────────────────────────── upload ─────────────────────────────

/** The Explorer's selection (VS Code passes the clicked URI and every selected one), else asks. */
async function chooseUploadSources(args: readonly unknown[]): Promise<string[] | undefined> {
  if (args[0] instanceof vscode.Uri) {
    const selected = Array.isArray(args[1]) ? args[1].filter((u): u is vscode.Uri => u instanceof vscode.Uri) : [];
    const uris = selected.length ? selected : [args[0]];
    const local = uris.filter((uri) => uri.scheme === 'file');
    if (!local.length) throw new ModelArtsError('Only files and folders on this machine can be uploaded.', 'ModelArts.InvalidInput');
    return local.map((uri) => uri.fsPath);
  }
  const chosen = await vscode.window.showOpenDialog({
    title: `${UPLOAD_TITLE}: what to upload`,
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: true,
    openLabel: 'Upload',
    ...(vscode.workspace.workspaceFolders?.[0] ? { defaultUri: vscode.workspace.workspaceFolders[0].uri } : {}),
  });
  return chosen?.length ? chosen.map((uri) => uri.fsPath) : undefined;
}

async function askUploadDestination(services: Services, sources: readonly LocalSource[], node: ContainerNode | undefined): Promise<string | undefined> {
  const base = node ? node.url : storeUrl(await defaultBucket(services), '');
  const only = sources.length === 1 ? sources[0] : undefined;
  const value = only?.isFolder ? `${base}${path.basename(only.path)}/` : base;
  const what = only ? path.basename(only.path) : `${sources.length} items`;
  return vscode.window.showInputBox({
    title: `${UPLOAD_TITLE}: destination`,
    prompt: only?.isFolder
      ? `Folder in the ${activeStore(services).description} that receives the files of ${what} (${countFiles(only.files)}, ${formatBytes(only.bytes)})`
      : `Folder in the ${activeStore(services).description} that receives ${what}`,
    value,
    valueSelection: [base.length, value.length],
    ignoreFocusOut: true,
    validateInput: (input) => urlProblem(input, 'destination'),
  });
}

/** The bucket a destination starts in: the configured one, else the first there is. */
async function defaultBucket(services: Services): Promise<string> {
  const { bucket, store } = services.stores.current;
  if (bucket) return bucket;
  const buckets = await store.listBuckets({ signal: AbortSignal.timeout(10_000) }).catch(() => []);
  return buckets[0] ?? 'datasets';
}

async function reveal(services: Services, bucket: string, folder: string): Promise<void> {
  const node = services.datasets.containerNode(bucket, folder);
  try {
    await services.datasetsView.reveal(node, { select: true, focus: false, expand: true });
  } catch (error) {
    // The view shows another bucket (the settings name one): nothing to reveal there.
    services.log.debug(`Datasets: could not reveal ${node.url}: ${errorMessage(error)}`);
  }
}

// ───────────────────────────── download and delete ─────────────────────────────

/** Re-lists the level showing `folder` of `bucket` (never fails: the view shows any listing error itself). */
async function showChange(services: Services, bucket: string, folder: string): Promise<void> {
  await services.datasets.refreshLocation(bucket, folder).catch((error: unknown) => services.log.debug(`Datasets: refreshing after a change failed: ${errorMessage(error)}`));
}

/** Re-lists the level that showed what went: the nearest folder above it that still holds something. */
async function refreshAfterDelete(services: Services, found: FoundData): Promise<void> {
  const { store, problem } = services.stores.current;
  if (problem) return;
  let folder = parentKey(found.key);
  // S3 has no empty folders: a folder whose last object went is gone too.
  while (folder !== '') {
    const level = await store.listLevel(found.bucket, folder, { pageSize: 1 }).catch(() => undefined);
    if (!level || level.folders.length || level.objects.length) break;
    folder = parentKey(folder);
  }
  await showChange(services, found.bucket, folder);
}

async function askDownloadFolder(found: FoundData): Promise<string | undefined> {
  const chosen = await vscode.window.showOpenDialog({
    title: `Download ${found.url} into…`,
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Download Here',
    ...(vscode.workspace.workspaceFolders?.[0] ? { defaultUri: vscode.workspace.workspaceFolders[0].uri } : {}),
  });
  const parent = chosen?.[0]?.fsPath;
  if (!parent) return undefined;
  // A folder arrives as a folder of its own name; an object as a file in the chosen folder.
  const name = found.isFolder ? found.key.slice(0, -1).split('/').pop() || found.bucket : undefined;
  const dir = name ? path.join(parent, name) : parent;
  const clash = name ? dir : path.join(dir, path.posix.basename(found.key));
  if (fs.existsSync(clash)) {
    const answer = await vscode.window.showWarningMessage(
      `${clash} already exists. Replace the files it shares with ${found.url}?`,
      { modal: true, detail: 'Files of the same name are overwritten; other files stay.' },
      'Replace',
    );
    if (answer !== 'Replace') return undefined;
  }
  return dir;
}

async function confirmDelete(found: FoundData): Promise<boolean> {
  const size = formatBytes(totalBytes(found.objects));
  const message = found.isFolder
    ? `Delete ${countObjects(found.objects.length)} (${size}) under ${found.url}?`
    : `Delete ${found.url} (${size})?`;
  const answer = await vscode.window.showWarningMessage(message, { modal: true, detail: 'They are removed from the store; this cannot be undone.' }, 'Delete');
  return answer === 'Delete';
}

// ───────────────────────────── shared UI ─────────────────────────────

/** The URL of the node the command was run on, else of the view's selection, else asks. */
async function chosenUrl(services: Services, arg: unknown, title: string): Promise<string | undefined> {
  const node = arg instanceof DatasetNode ? arg : services.datasetsView.selection[0];
  if (node instanceof ContainerNode || node instanceof ObjectNode) return node.url;
  return vscode.window.showInputBox({
    title,
    prompt: 'Store URL of a folder (ending in "/") or an object',
    value: storeUrl(await defaultBucket(services), ''),
    ignoreFocusOut: true,
    validateInput: (input) => urlProblem(input, 'url'),
  });
}

function urlProblem(input: string, field: string): string | undefined {
  try {
    parseDataUrl(input, field);
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}

/** A cancellable notification for long transfers; Cancel aborts every request in flight. */
function withTransferProgress<T>(title: string, initial: TransferProgress, work: (signal: AbortSignal, report: (progress: TransferProgress) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort(new CancelledError(title)));
    let shownPercent = 0;
    let shownAt = 0;
    const report = (p: TransferProgress) => {
      const percent = p.totalBytes ? Math.floor((p.bytes / p.totalBytes) * 100) : 0;
      // Stores report every chunk: repaint on a new percent or a finished object, at most ~4 times a second.
      if (Date.now() - shownAt < 250 && percent === shownPercent) return;
      shownAt = Date.now();
      // No increment until bytes move: the bar stays indeterminate (animated) rather than stuck at 0.
      const increment = percent - shownPercent;
      progress.report({ message: describeProgress(p), ...(increment > 0 ? { increment } : {}) });
      shownPercent = Math.max(shownPercent, percent);
    };
    report(initial);
    try {
      return await work(controller.signal, report);
    } finally {
      subscription.dispose();
    }
  });
}

/** Short work (a listing, one batch of deletions): a progress bar on the Datasets view. */
function withViewProgress<T>(title: string, work: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: { viewId: 'modelarts.datasets' }, title }, work);
}

function describeProgress(p: TransferProgress): string {
  const files = p.totalObjects !== undefined ? `${p.objects} of ${countFiles(p.totalObjects)}` : countFiles(p.objects);
  const bytes = p.totalBytes !== undefined ? `${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}` : formatBytes(p.bytes);
  return `${files}, ${bytes}`;
}

function countFiles(n: number): string {
  return `${n.toLocaleString('en-US')} file${n === 1 ? '' : 's'}`;
}

function countObjects(n: number): string {
  return `${n.toLocaleString('en-US')} object${n === 1 ? '' : 's'}`;
}
