/**
 * What the inputs step offers besides typing: the inputs of the last completed job of the same code,
 * a `data` folder beside the code, a folder picked with Browse…, or a dataset of the Datasets view.
 * Folders of the workspace are shown relative to it (`data_url=./data`), as a person would type them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';
import { formatChannelText, isStoreUrl, parseChannelText } from '../../core/jobText';
import type { CompletedRun } from '../../drafts/rememberedChoices';
import type { Services } from '../../services';
import { BucketNode, FolderNode } from '../../views/datasetsModel';

/** `folder` as typed in the box: `./x` when inside `base`, else absolute. */
export function relativeToBase(folder: string, base: string | undefined): string {
  if (!base || isStoreUrl(folder)) return folder;
  const relative = path.relative(base, folder);
  if (relative === '') return '.';
  if (relative.startsWith('..') || path.isAbsolute(relative)) return folder;
  return `./${relative.split(path.sep).join('/')}`;
}

export interface InputSuggestion {
  readonly text: string;
  /** Where the prefilled text came from, for the step's prompt. */
  readonly source?: string;
}

export async function suggestedInputs(options: {
  readonly required: readonly string[];
  readonly base: string | undefined;
  readonly codeDir: string | undefined;
  readonly completed: CompletedRun | undefined;
  readonly seed: string | undefined;
}): Promise<InputSuggestion> {
  if (options.seed) return { text: options.seed };
  if (options.completed?.inputs.length) {
    const text = formatChannelText(options.completed.inputs.map(({ name, location }) => ({ name, location: relativeToBase(location, options.base) })));
    return { text, source: `Prefilled from ${options.completed.jobName}, the last job of this code that completed.` };
  }
  const name = options.required[0] ?? 'data_url';
  const data = options.codeDir ? path.join(options.codeDir, 'data') : undefined;
  if (data && (await fs.promises.stat(data).then((s) => s.isDirectory(), () => false))) {
    const others = options.required.slice(1).map((n) => `${n}=`);
    return { text: [`${name}=${relativeToBase(data, options.base)}`, ...others].join(' '), source: 'Suggested: the data folder beside the code.' };
  }
  return { text: options.required.map((n) => `${n}=`).join(' ') };
}

/** `text` with `name` pointing at `location` (added, or replacing what it pointed at). */
export function withChannel(text: string, name: string, location: string): string {
  const channels = parseChannelText(text);
  const at = channels.findIndex((channel) => channel.name === name);
  if (at >= 0) channels[at] = { name, location };
  else channels.push({ name, location });
  return formatChannelText(channels);
}

/**
 * The channel a picked location is for: the first one still without a location, else the
 * algorithm's input, else the only one typed (its location is replaced), else a new one.
 */
function channelFor(text: string, preferred: string | undefined): string {
  const channels = parseChannelText(text);
  const open = channels.find((channel) => !channel.location);
  if (open) return open.name;
  if (preferred) return preferred;
  if (channels.length === 1 && channels[0]) return channels[0].name;
  return channels.length ? `data_url_${channels.length}` : 'data_url';
}

/** Browse…: a folder of this machine as an input. */
export async function chooseFolder(text: string, base: string | undefined, preferredName: string | undefined): Promise<string | undefined> {
  const [folder] = (await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Use as Input',
    title: 'Input folder of the training job',
    ...(base ? { defaultUri: vscode.Uri.file(base) } : {}),
  })) ?? [];
  if (!folder) return undefined;
  return withChannel(text, channelFor(text, preferredName), relativeToBase(folder.fsPath, base));
}

/**
 * Choose a Dataset…: a bucket or folder as the Datasets view lists them, of the job's backend's own
 * store (a ModelArts account's OBS) when it has one, else of the store the settings name.
 */
export async function chooseDataset(services: Services, text: string, preferredName: string | undefined, backend: string): Promise<string | undefined> {
  const items: Array<vscode.QuickPickItem & { url: string }> = [];
  const { model } = services.dataPlaces.list().find((place) => place.backend === backend) ?? services.dataPlaces.local;
  try {
    const buckets = (await model.children()).filter((node): node is BucketNode => node instanceof BucketNode);
    for (const bucket of buckets) {
      items.push({ label: `$(database) ${bucket.bucket}`, description: bucket.url, url: bucket.url });
      for (const folder of (await model.children(bucket)).filter((node): node is FolderNode => node instanceof FolderNode)) {
        items.push({ label: `$(folder) ${folder.name}`, description: folder.url, url: folder.url });
      }
    }
  } catch (error) {
    void vscode.window.showWarningMessage(`ModelArts: the datasets could not be listed: ${errorMessage(error)}`);
    return undefined;
  }
  if (!items.length) {
    void vscode.window.showInformationMessage('The dataset store holds no datasets yet: upload a folder with "Upload to ModelArts Datasets" first.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Input of the training job: a dataset', placeHolder: 'A bucket or folder of the Datasets view', matchOnDescription: true, ignoreFocusOut: true });
  return picked ? withChannel(text, channelFor(text, preferredName), picked.url) : undefined;
}
