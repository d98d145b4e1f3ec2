/**
 * The Datasets commands: upload, download, delete, copy URL, use as a training input, refresh.
 * From the Explorer, a Datasets node or the palette they ask what is missing and show progress
 * that can be cancelled; called with an object (`{source, url}`, `{url, dir}`, `{url}`) they ask
 * nothing and return what they did. URLs are `obs://bucket/folder/` (or `s3://`) in the store the
 * settings name, or with `backend` in that backend's own (a ModelArts account's OBS); a URL without
 * a trailing "/" is the object of that key if there is one, else the folder, as in the OBS console.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import { folderKey } from '../../core/dataset';
import { InvalidInputError, ModelArtsError, errorMessage, invalidInput } from '../../core/errors';
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
import type { ObjectStore } from '../../storage/objectStore';
import type { Services } from '../../services';
import { PlaceNode, type DataPlace } from '../../views/datasetPlaces';
import { BucketNode, ContainerNode, DatasetNode, LoadMoreNode, ObjectNode, storeUrl } from '../../views/datasetsModel';
import { LOCAL_BACKEND_ID } from '../../backends/jobRef';
import { JobDraft, type JobDraftSeed } from '../jobs/jobDraft';
import type { CommandContext } from '../registry';
import { countFiles, countObjects, withTransferProgress, withViewProgress } from './transferProgress';

const UPLOAD_TITLE = 'Upload to ModelArts Datasets';

const absolutePath = (what: string) =>
  z.string({ error: `must be the absolute path of ${what}` }).refine((value) => path.isAbsolute(value), { error: `must be an absolute path of ${what}` });
const storeUrlText = z.string({ error: 'must be a store URL such as obs://bucket/folder/' });
const backendId = z.string({ error: 'must be the id of a backend with a store of its own, such as modelarts:cn-north-4' }).min(1).optional();
const uploadArgsSchema = z.strictObject({ source: absolutePath('a local file or folder'), url: storeUrlText, backend: backendId }, { error: 'must be an object {source, url, backend?}' });
const downloadArgsSchema = z.strictObject({ url: storeUrlText, dir: absolutePath('the local folder to download into'), backend: backendId }, { error: 'must be an object {url, dir, backend?}' });
const urlArgsSchema = z.strictObject({ url: storeUrlText, backend: backendId }, { error: 'must be an object {url, backend?}' });

// ───────────────────────────── commands ─────────────────────────────

/** Uploads files and folders: `{source, url}` → `{url, objects, bytes}`. */
export async function uploadToDatasets({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ url: string; objects: number; bytes: number } | undefined> {
  if (!interactive) {
    const { source, url, backend } = parseArgs(uploadArgsSchema, args[0], 'Upload');
    const place = services.dataPlaces.place(backend);
    const destination = parseDataUrl(url, 'url');
    const plan = planUpload(await inspectSources([source], 'source'), destination, true);
    const result = await runUpload(storeOf(place), plan).finally(() => showChange(services, place, plan.bucket, plan.folder));
    return { url: plan.url, ...result };
  }
  const node = args[0] instanceof ContainerNode ? args[0] : undefined;
  const paths = await chooseUploadSources(args);
  if (!paths) return undefined;
  const place = node ? services.dataPlaces.placeOf(node) : await choosePlace(services, UPLOAD_TITLE);
  if (!place) return undefined;
  const sources = await inspectSources(paths, 'source');
  const destination = await askUploadDestination(place, sources, node);
  if (!destination) return undefined;
  const plan = planUpload(sources, parseDataUrl(destination, 'destination'), sources.length === 1);
  // Also after a failure or a cancel: what did arrive shows in the view.
  const result = await Promise.resolve(
    withTransferProgress(`Uploading to ${plan.url}`, { objects: 0, bytes: 0, totalObjects: plan.files, totalBytes: plan.bytes }, (signal, report) =>
      runUpload(storeOf(place), plan, signal, report),
    ),
  ).finally(() => showChange(services, place, plan.bucket, plan.folder));
  services.log.info(`Uploaded ${result.objects} file(s), ${formatBytes(result.bytes)}, to ${plan.url}`);
  vscode.window.setStatusBarMessage(`$(check) Uploaded ${countFiles(result.objects)} (${formatBytes(result.bytes)}) to ${plan.url}`, 8000);
  await reveal(services, place, plan.bucket, plan.folder);
  return { url: plan.url, ...result };
}

/** Downloads a folder's objects (or one object) into a local folder: `{url, dir}` → `{dir, objects, bytes}`. */
export async function downloadFromDatasets({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ dir: string; objects: number; bytes: number } | undefined> {
  if (!interactive) {
    const { url, dir, backend } = parseArgs(downloadArgsSchema, args[0], 'Download');
    const store = storeOf(services.dataPlaces.place(backend));
    const found = await findData(store, parseDataUrl(url, 'url'));
    return { dir, ...(await runDownload(store, found, dir)) };
  }
  const chosen = await chosenUrl(services, args[0], 'Download from Datasets');
  if (!chosen) return undefined;
  const { url, place } = chosen;
  const found = await withViewProgress(`Listing ${url}`, () => findData(storeOf(place), parseDataUrl(url, 'url')));
  const dir = await askDownloadFolder(found);
  if (!dir) return undefined;
  const result = await withTransferProgress(`Downloading ${found.url}`, { objects: 0, bytes: 0, totalObjects: found.objects.length, totalBytes: totalBytes(found.objects) }, (signal, report) =>
    runDownload(storeOf(place), found, dir, signal, report),
  );
  services.log.info(`Downloaded ${result.objects} object(s), ${formatBytes(result.bytes)}, from ${found.url} to ${dir}`);
  vscode.window.setStatusBarMessage(`$(check) Downloaded ${countObjects(result.objects)} (${formatBytes(result.bytes)}) to ${dir}`, 8000);
  return { dir, ...result };
}

/** Deletes an object or everything under a folder: `{url}` → `{deleted}`; interactive, confirms first. */
export async function deleteFromDatasets({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ deleted: number } | undefined> {
  if (!interactive) {
    const { url, backend } = parseArgs(urlArgsSchema, args[0], 'Delete');
    const place = services.dataPlaces.place(backend);
    const found = await findData(storeOf(place), parseDataUrl(url, 'url'));
    const deleted = await runDelete(storeOf(place), found).finally(() => refreshAfterDelete(services, place, found));
    return { deleted };
  }
  const chosen = await chosenUrl(services, args[0], 'Delete from Datasets');
  if (!chosen) return undefined;
  const { url, place } = chosen;
  const found = await withViewProgress(`Listing ${url}`, () => findData(storeOf(place), parseDataUrl(url, 'url')));
  if (found.objects.length === 0) {
    void vscode.window.showInformationMessage(`Nothing is stored at ${found.url} (any longer).`);
    await refreshAfterDelete(services, place, found);
    return { deleted: 0 };
  }
  if (!(await confirmDelete(found))) return undefined;
  const total = { objects: 0, bytes: 0, totalObjects: found.objects.length, totalBytes: totalBytes(found.objects) };
  const deletion =
    found.objects.length > DELETE_BATCH
      ? withTransferProgress(`Deleting ${found.url}`, total, (signal, report) => runDelete(storeOf(place), found, signal, report))
      : withViewProgress(`Deleting ${found.url}`, () => runDelete(storeOf(place), found));
  const deleted = await Promise.resolve(deletion).finally(() => refreshAfterDelete(services, place, found));
  services.log.info(`Deleted ${deleted} object(s) at ${found.url}`);
  return { deleted };
}

/** Puts a node's URL (or `{url}`) on the clipboard and returns it. */
export async function copyDatasetUrl({ services, interactive }: CommandContext, ...args: unknown[]): Promise<string | undefined> {
  let url: string | undefined;
  if (interactive) {
    url = (await chosenUrl(services, args[0], 'Copy Dataset URL'))?.url;
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
    const { url, backend } = parseArgs(urlArgsSchema, args[0], 'Use as training input');
    return inputSeed(folderUrl(parseDataUrl(url, 'url')), services.dataPlaces.place(backend));
  }
  const chosen = await chosenUrl(services, args[0], 'Use Dataset as Training Input');
  if (!chosen) return undefined;
  return vscode.commands.executeCommand('modelarts.jobs.create', new JobDraft(inputSeed(folderUrl(parseDataUrl(chosen.url, 'url')), chosen.place)));
}

/**
 * Lists again: everything (view title), one level (a node, or Retry on an error row), or, with
 * `{url}`, the first page of a folder as the view shows it.
 */
export async function refreshDatasets({ services, interactive }: CommandContext, ...args: unknown[]): Promise<unknown> {
  if (args[0] instanceof PlaceNode) {
    await args[0].place.model.refresh();
    return undefined;
  }
  if (args[0] instanceof DatasetNode) {
    await services.dataPlaces.placeOf(args[0]).model.refresh(args[0]);
    return undefined;
  }
  // From the view's title: every store; `{backend}` one store; `{url}` one folder.
  if (interactive) for (const place of services.dataPlaces.list().slice(1)) await place.model.refresh();
  const given = interactive ? undefined : parseArgs(urlArgsSchema.partial({ url: true }), args[0], 'Refresh');
  const model = services.dataPlaces.place(given?.backend).model;
  if (given?.url !== undefined) {
    const url = given.url;
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
  await services.dataPlaces.placeOf(args[0]).model.loadMore(args[0].parent);
}

// ───────────────────────────── arguments ─────────────────────────────

function parseArgs<T>(schema: z.ZodType<T>, value: unknown, subject: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput(subject, parsed.error);
  return parsed.data;
}

/** A draft with the folder as its `data_url`; on a backend's own store, that backend's job. */
function inputSeed(url: string, place: DataPlace): JobDraftSeed {
  return { inputs: [{ name: 'data_url', url }], ...(place.backend !== LOCAL_BACKEND_ID ? { backend: place.backend } : {}) };
}

function storeOf(place: DataPlace): ObjectStore {
  const store = place.model.store;
  if (!store) throw new ModelArtsError(`${place.backend === LOCAL_BACKEND_ID ? 'Datasets' : `The ${place.kind} of ${place.label}`} cannot be reached: ${place.model.problem ?? 'unknown reason'}.`, 'ModelArts.StorageUnavailable');
  return store;
}

/** The store to work in: the only one, else the one picked. */
async function choosePlace(services: Services, title: string): Promise<DataPlace | undefined> {
  const places = services.dataPlaces.list();
  if (places.length === 1) return places[0];
  const picked = await vscode.window.showQuickPick(
    places.map((place) => ({ label: place.label, description: place.kind, place })),
    { title: `${title}: which store`, placeHolder: 'The store the settings name, or a backend\'s own', ignoreFocusOut: true },
  );
  return picked?.place;
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

async function askUploadDestination(place: DataPlace, sources: readonly LocalSource[], node: ContainerNode | undefined): Promise<string | undefined> {
  const base = node ? node.url : storeUrl(await defaultBucket(place), '');
  const only = sources.length === 1 ? sources[0] : undefined;
  const value = only?.isFolder ? `${base}${path.basename(only.path)}/` : base;
  const what = only ? path.basename(only.path) : `${sources.length} items`;
  return vscode.window.showInputBox({
    title: `${UPLOAD_TITLE}: destination`,
    prompt: only?.isFolder
      ? `Folder in the ${storeOf(place).description} that receives the files of ${what} (${countFiles(only.files)}, ${formatBytes(only.bytes)})`
      : `Folder in the ${storeOf(place).description} that receives ${what}`,
    value,
    valueSelection: [base.length, value.length],
    ignoreFocusOut: true,
    validateInput: (input) => urlProblem(input, 'destination'),
  });
}

/** The bucket a destination starts in: the configured one, else the first there is. */
async function defaultBucket(place: DataPlace): Promise<string> {
  const bucket = place.model.configuredBucket;
  if (bucket) return bucket;
  const buckets = await storeOf(place).listBuckets({ signal: AbortSignal.timeout(10_000) }).catch(() => []);
  return buckets[0] ?? 'datasets';
}

async function reveal(services: Services, place: DataPlace, bucket: string, folder: string): Promise<void> {
  const node = place.model.containerNode(bucket, folder);
  try {
    await services.datasetsView.reveal(node, { select: true, focus: false, expand: true });
  } catch (error) {
    // The view shows another bucket (the settings name one): nothing to reveal there.
    services.log.debug(`Datasets: could not reveal ${node.url}: ${errorMessage(error)}`);
  }
}

// ───────────────────────────── download and delete ─────────────────────────────

/** Re-lists the level showing `folder` of `bucket` (never fails: the view shows any listing error itself). */
async function showChange(services: Services, place: DataPlace, bucket: string, folder: string): Promise<void> {
  await place.model.refreshLocation(bucket, folder).catch((error: unknown) => services.log.debug(`Datasets: refreshing after a change failed: ${errorMessage(error)}`));
}

/** Re-lists the level that showed what went: the nearest folder above it that still holds something. */
async function refreshAfterDelete(services: Services, place: DataPlace, found: FoundData): Promise<void> {
  const store = place.model.store;
  if (!store) return;
  let folder = parentKey(found.key);
  // S3 has no empty folders: a folder whose last object went is gone too.
  while (folder !== '') {
    const level = await store.listLevel(found.bucket, folder, { pageSize: 1 }).catch(() => undefined);
    if (!level || level.folders.length || level.objects.length) break;
    folder = parentKey(folder);
  }
  await showChange(services, place, found.bucket, folder);
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
async function chosenUrl(services: Services, arg: unknown, title: string): Promise<{ url: string; place: DataPlace } | undefined> {
  const node = arg instanceof DatasetNode ? arg : services.datasetsView.selection[0];
  if (node instanceof ContainerNode || node instanceof ObjectNode) return { url: node.url, place: services.dataPlaces.placeOf(node) };
  const place = node instanceof PlaceNode ? node.place : await choosePlace(services, title);
  if (!place) return undefined;
  const url = await vscode.window.showInputBox({
    title,
    prompt: `Store URL of a folder (ending in "/") or an object in the ${place.kind} of ${place.label}`,
    value: storeUrl(await defaultBucket(place), ''),
    ignoreFocusOut: true,
    validateInput: (input) => urlProblem(input, 'url'),
  });
  return url === undefined ? undefined : { url, place };
}

function urlProblem(input: string, field: string): string | undefined {
  try {
    parseDataUrl(input, field);
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}
