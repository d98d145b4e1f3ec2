/**
 * A job's outputs kept on this machine (its checkpoints), reachable wherever the editor runs: open
 * a file of it, open the folder in a new window or add it to the workspace (the Explorer shows it),
 * download (copy) it to a chosen folder, and reveal it in the file manager where the editor is a
 * desktop app on this machine — `revealFileInOS` does not exist in a browser-hosted VS Code.
 *
 * Arguments: an output node, `{jobId, output}` (then nothing is asked; Download takes `{dir}`), or
 * nothing from the palette (a job and an output are picked).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import { CancelledError, InvalidInputError, NotFoundError, invalidInput } from '../../core/errors';
import { formatBytes } from '../../core/format';
import type { TrainingJob } from '../../core/job';
import type { Services } from '../../services';
import { copyFolderInto } from '../../storage/folderCopy';
import { localFiles } from '../../storage/transfer';
import { JobPartNode } from '../../views/jobsTree';
import type { CommandContext } from '../registry';
import { jobSelector, resolveJob, type JobSelector } from './jobArgument';

interface OutputTarget {
  readonly job: TrainingJob;
  readonly output: string;
  /** The output's folder on this machine. */
  readonly folder: string;
}

const outputSchema = z.looseObject(
  { output: z.string({ error: "must name one of the job's outputs, such as train_url" }).min(1) },
  { error: "give an output node, or {jobId, output} naming one of the job's outputs" },
);

async function outputTarget(services: Services, command: string, arg: unknown): Promise<OutputTarget> {
  let selector: JobSelector;
  let output: string;
  if (arg instanceof JobPartNode && arg.part.kind === 'output') {
    selector = arg.parent.ref;
    output = arg.part.name;
  } else if (arg === undefined) {
    ({ selector, output } = await pickOutput(services));
  } else {
    const parsed = outputSchema.safeParse(arg);
    if (!parsed.success) throw invalidInput(`${command} arguments`, parsed.error);
    selector = jobSelector(command, arg);
    output = parsed.data.output;
  }
  const { backend, job } = await resolveJob(services, selector);
  if (!job.algorithm.outputs.some((o) => o.name === output)) {
    throw new InvalidInputError(`${command} arguments`, [{ field: 'output', message: `${job.metadata.name} has no output "${output}" (it has ${job.algorithm.outputs.map((o) => o.name).join(', ') || 'none'})` }]);
  }
  const folder = backend.localFiles?.outputLocation(job.metadata.id, output);
  if (!folder) throw new NotFoundError('output', `${output} of job ${job.metadata.name} on this machine`);
  return { job, output, folder };
}

async function pickOutput(services: Services): Promise<{ selector: JobSelector; output: string }> {
  const items = services.jobs.all().flatMap(({ backend, job }) =>
    job.algorithm.outputs
      .filter((output) => services.backends.get(backend)?.localFiles?.outputLocation(job.metadata.id, output.name))
      .map((output) => ({ label: `${job.metadata.name} · ${output.name}`, description: job.status.phase, selector: { backend, id: job.metadata.id }, output: output.name })),
  );
  if (!items.length) throw new NotFoundError('output', 'kept on this machine by any training job');
  const picked = await vscode.window.showQuickPick(items, { title: 'Output of a Training Job', placeHolder: 'Which job output?', matchOnDescription: true });
  if (!picked) throw new CancelledError('Picking an output');
  return { selector: picked.selector, output: picked.output };
}

/** Whether this editor can show a folder in the OS's file manager (a desktop VS Code with local files). */
export async function canRevealInOS(): Promise<boolean> {
  if (vscode.env.uiKind !== vscode.UIKind.Desktop || vscode.env.remoteName !== undefined) return false;
  return (await vscode.commands.getCommands(true)).includes('revealFileInOS');
}

type HubItem = vscode.QuickPickItem & { readonly run?: () => Thenable<unknown> };

/** "Open Output…" (the row's inline button): its files to open, and what else can be done with it. */
export async function openOutput({ services }: CommandContext, ...args: unknown[]): Promise<{ path: string } | undefined> {
  const target = await outputTarget(services, 'modelarts.jobs.openOutput', args[0]);
  const files = await localFiles(target.folder);
  const items: HubItem[] = [
    { label: 'Files', kind: vscode.QuickPickItemKind.Separator },
    ...files.slice(0, 200).map((file) => ({
      label: `$(file) ${file.key}`,
      description: formatBytes(file.size),
      run: () => openFile(vscode.Uri.file(file.file)),
    })),
    ...(files.length ? [] : [{ label: '$(info) The output is empty', description: 'the job has written nothing here yet' }]),
    { label: 'Folder', kind: vscode.QuickPickItemKind.Separator },
    ...(canAddWorkspaceFolder() ? [{ label: '$(root-folder) Add to Workspace', description: 'the Explorer shows it beside your code', run: () => addToWorkspace(services, target) }] : []),
    { label: '$(empty-window) Open in New Window', description: 'its Explorer shows the files (and offers Download… in a browser)', run: () => openInNewWindow(target) },
    { label: '$(cloud-download) Download Output…', description: 'copy it to a folder you choose', run: () => download(services, target) },
    ...((await canRevealInOS()) ? [{ label: '$(folder-opened) Reveal in File Manager', run: () => vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(target.folder)) }] : []),
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: `Output ${target.output} of ${target.job.metadata.name}`,
    placeHolder: `${target.folder} · ${files.length} file${files.length === 1 ? '' : 's'}`,
    matchOnDescription: true,
  });
  await picked?.run?.();
  return { path: target.folder };
}

/** "Open Output File…": a file of the output in an editor. */
export async function openOutputFile({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ path: string } | undefined> {
  const target = await outputTarget(services, 'modelarts.jobs.openOutputFile', args[0]);
  const files = await localFiles(target.folder);
  const given = !interactive ? z.looseObject({ file: z.string().optional() }).parse(args[0]).file : undefined;
  let file = given !== undefined ? files.find((f) => f.key === given) : undefined;
  if (given !== undefined && !file) throw new InvalidInputError('modelarts.jobs.openOutputFile arguments', [{ field: 'file', message: `no file "${given}" in output ${target.output} (it holds ${files.length} files)` }]);
  if (!file) {
    if (!files.length) throw new NotFoundError('output', `file in ${target.output} of ${target.job.metadata.name} (it is empty)`);
    const picked = await vscode.window.showQuickPick(
      files.map((f) => ({ label: f.key, description: formatBytes(f.size), file: f })),
      { title: `Open a File of ${target.job.metadata.name} · ${target.output}`, matchOnDescription: true },
    );
    if (!picked) return undefined;
    file = picked.file;
  }
  await openFile(vscode.Uri.file(file.file));
  return { path: file.file };
}

async function openFile(uri: vscode.Uri): Promise<void> {
  // vscode.open picks the right editor (text, image, or the binary notice for a checkpoint).
  await vscode.commands.executeCommand('vscode.open', uri, { preview: true });
}

/**
 * Whether a folder can be added to this window's workspace without harm: a multi-root workspace
 * takes one more; a desktop VS Code turns a folder window into a workspace. A browser-hosted VS Code
 * (code-server 4.100) reloads a folder window into an empty untitled workspace instead, losing the
 * folder it had open, so there the output opens in a new window.
 */
function canAddWorkspaceFolder(): boolean {
  return vscode.workspace.workspaceFile !== undefined || vscode.env.uiKind === vscode.UIKind.Desktop;
}

async function openInNewWindow(target: OutputTarget): Promise<{ path: string; window: 'new' }> {
  await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(target.folder), { forceNewWindow: true });
  return { path: target.folder, window: 'new' };
}

/** "Open Output Folder in New Window": the Explorer of a new window shows its files. */
export async function openOutputFolder({ services }: CommandContext, ...args: unknown[]): Promise<{ path: string; window: 'new' }> {
  return openInNewWindow(await outputTarget(services, 'modelarts.jobs.openOutputFolder', args[0]));
}

/** "Add Output Folder to Workspace": the Explorer shows the folder beside the code (where that is safe; else a new window). */
export async function addOutputToWorkspace({ services }: CommandContext, ...args: unknown[]): Promise<{ path: string; window: 'this' | 'new' }> {
  const target = await outputTarget(services, 'modelarts.jobs.addOutputToWorkspace', args[0]);
  if (!canAddWorkspaceFolder()) return openInNewWindow(target);
  return addToWorkspace(services, target);
}

async function addToWorkspace(services: Services, target: OutputTarget): Promise<{ path: string; window: 'this' }> {
  const uri = vscode.Uri.file(target.folder);
  const name = `${target.job.metadata.name} · ${target.output}`;
  const existing = vscode.workspace.getWorkspaceFolder(uri);
  if (!existing || existing.uri.fsPath !== target.folder) {
    const added = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        subscription.dispose();
        resolve();
      }, 5000);
      const subscription = vscode.workspace.onDidChangeWorkspaceFolders(() => {
        clearTimeout(timer);
        subscription.dispose();
        resolve();
      });
    });
    // Added at the end, so the first folder (and the extension host) stay as they are.
    if (!vscode.workspace.updateWorkspaceFolders(vscode.workspace.workspaceFolders?.length ?? 0, 0, { uri, name })) {
      throw new InvalidInputError('modelarts.jobs.addOutputToWorkspace', [{ field: 'output', message: `${target.folder} could not be added to the workspace` }]);
    }
    await added;
    services.log.info(`Added output ${target.output} of ${target.job.metadata.name} to the workspace: ${target.folder}`);
  }
  await vscode.commands.executeCommand('workbench.view.explorer');
  await vscode.commands.executeCommand('revealInExplorer', uri).then(undefined, () => undefined);
  return { path: target.folder, window: 'this' };
}

const downloadSchema = z.looseObject({ dir: z.string({ error: 'must be the absolute path of an existing folder' }).min(1) });

/** "Download Output…": copies the output into a new folder inside the chosen one. Programmatic: `{jobId, output, dir}`. */
export async function downloadOutput({ services, interactive }: CommandContext, ...args: unknown[]): Promise<{ dir: string; files: number; bytes: number } | undefined> {
  const target = await outputTarget(services, 'modelarts.jobs.downloadOutput', args[0]);
  if (interactive) return download(services, target);
  const parsed = downloadSchema.safeParse(args[0]);
  if (!parsed.success) throw invalidInput('modelarts.jobs.downloadOutput arguments', parsed.error);
  const dir = parsed.data.dir;
  if (!path.isAbsolute(dir) || !(await fs.promises.stat(dir).then((s) => s.isDirectory(), () => false))) {
    throw new InvalidInputError('modelarts.jobs.downloadOutput arguments', [{ field: 'dir', message: `must be the absolute path of an existing folder (got "${dir}")` }]);
  }
  return copyOutput(services, target, dir);
}

async function download(services: Services, target: OutputTarget): Promise<{ dir: string; files: number; bytes: number } | undefined> {
  const [parent] = (await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    openLabel: 'Download Here',
    title: `Download ${target.output} of ${target.job.metadata.name} into…`,
    defaultUri: vscode.Uri.file(os.homedir()),
  })) ?? [];
  if (!parent) return undefined;
  const result = await copyOutput(services, target, parent.fsPath);
  void vscode.window.showInformationMessage(`Downloaded ${target.output} of ${target.job.metadata.name} to ${result.dir} (${result.files} files, ${formatBytes(result.bytes)}).`, 'Open Folder').then((choice) => {
    if (choice) void vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(result.dir), { forceNewWindow: true });
  });
  return result;
}

function copyOutput(services: Services, target: OutputTarget, parent: string) {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Downloading ${target.output} of ${target.job.metadata.name}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const cancel = token.onCancellationRequested(() => controller.abort());
      try {
        let reported = 0;
        const result = await copyFolderInto(target.folder, parent, `${target.job.metadata.name}-${target.output}`, {
          signal: controller.signal,
          onProgress: ({ files, totalFiles, bytes, totalBytes }) => {
            const percent = totalBytes ? (bytes / totalBytes) * 100 : (files / Math.max(1, totalFiles)) * 100;
            progress.report({ message: `${files} of ${totalFiles} files, ${formatBytes(bytes)}`, increment: percent - reported });
            reported = percent;
          },
        });
        services.log.info(`Downloaded output ${target.output} of ${target.job.metadata.name} to ${result.dir}: ${result.files} files, ${formatBytes(result.bytes)}`);
        return result;
      } finally {
        cancel.dispose();
      }
    },
  );
}

/**
 * "Reveal in File Manager" where the editor can (a desktop VS Code on this machine); elsewhere the
 * same choices as Open Output…. Programmatic: returns the folder without showing anything.
 */
export async function revealOutput(context: CommandContext, ...args: unknown[]): Promise<{ path: string } | undefined> {
  const { services, interactive } = context;
  const target = await outputTarget(services, 'modelarts.jobs.revealOutput', args[0]);
  if (!interactive) return { path: target.folder };
  if (await canRevealInOS()) {
    await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(target.folder));
    return { path: target.folder };
  }
  return openOutput(context, ...args);
}
