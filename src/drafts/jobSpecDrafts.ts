/**
 * Job specs opened as JSON before they are created ("Open as JSON" in Create and Copy): in-memory
 * documents under `modelarts-draft:/<name>.job.json`, so the JSON schema for `*.job.json` gives
 * completion and squiggles, and nothing is written to the workspace. "Create Training Job" in the
 * editor title creates the job from the document's current text.
 */
import * as vscode from 'vscode';

export const DRAFT_SCHEME = 'modelarts-draft';

export class JobSpecDrafts implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly files = new Map<string, { data: Uint8Array; mtime: number; ctime: number }>();
  /** The backend each draft's job is meant for. */
  private readonly backends = new Map<string, string>();
  private readonly changeEmitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changeEmitter.event;
  private readonly registration: vscode.Disposable;

  constructor() {
    this.registration = vscode.workspace.registerFileSystemProvider(DRAFT_SCHEME, this, { isCaseSensitive: true });
  }

  /** Opens `spec` as a new draft named after the job, for a backend; returns the document's URI. */
  async open(name: string, spec: unknown, backend?: string): Promise<vscode.Uri> {
    let uri = vscode.Uri.from({ scheme: DRAFT_SCHEME, path: `/${name}.job.json` });
    for (let n = 2; this.files.has(uri.path); n++) uri = vscode.Uri.from({ scheme: DRAFT_SCHEME, path: `/${name}-${n}.job.json` });
    if (backend) this.backends.set(uri.path, backend);
    this.writeFile(uri, new TextEncoder().encode(JSON.stringify(spec, null, 2) + '\n'));
    await vscode.window.showTextDocument(uri, { preview: false });
    return uri;
  }

  /** The backend a draft was opened for, if it was. */
  backendOf(uri: vscode.Uri): string | undefined {
    return uri.scheme === DRAFT_SCHEME ? this.backends.get(uri.path) : undefined;
  }

  /** Forgets a draft once its job exists, closing its editor. */
  async discard(uri: vscode.Uri): Promise<void> {
    for (const tab of vscode.window.tabGroups.all.flatMap((group) => group.tabs)) {
      if (tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === uri.toString()) {
        // The text was just used to create the job: closing must not ask to save it.
        const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
        if (document?.isDirty) await document.save();
        await vscode.window.tabGroups.close(tab);
      }
    }
    this.files.delete(uri.path);
    this.backends.delete(uri.path);
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  stat(uri: vscode.Uri): vscode.FileStat {
    if (uri.path === '/') return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    const file = this.files.get(uri.path);
    if (!file) throw vscode.FileSystemError.FileNotFound(uri);
    return { type: vscode.FileType.File, ctime: file.ctime, mtime: file.mtime, size: file.data.byteLength };
  }

  readDirectory(): [string, vscode.FileType][] {
    return [...this.files.keys()].map((key) => [key.slice(1), vscode.FileType.File]);
  }

  readFile(uri: vscode.Uri): Uint8Array {
    const file = this.files.get(uri.path);
    if (!file) throw vscode.FileSystemError.FileNotFound(uri);
    return file.data;
  }

  writeFile(uri: vscode.Uri, content: Uint8Array): void {
    const now = Date.now();
    const existing = this.files.get(uri.path);
    this.files.set(uri.path, { data: content, mtime: now, ctime: existing?.ctime ?? now });
    this.changeEmitter.fire([{ type: existing ? vscode.FileChangeType.Changed : vscode.FileChangeType.Created, uri }]);
  }

  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('Job drafts have no folders.');
  }

  delete(uri: vscode.Uri): void {
    this.files.delete(uri.path);
    this.changeEmitter.fire([{ type: vscode.FileChangeType.Deleted, uri }]);
  }

  rename(): void {
    throw vscode.FileSystemError.NoPermissions('Rename the job in its metadata.name instead.');
  }

  dispose(): void {
    this.registration.dispose();
    this.changeEmitter.dispose();
  }
}
