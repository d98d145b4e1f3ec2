/**
 * Saved algorithms as JSON documents (`modelarts-algorithm:/<backend>/<id>/<name>.algorithm.json`)
 * that open in a normal editor. The content is the request updateAlgorithm takes; saving validates
 * it and updates the algorithm, or fails with a message naming the field, leaving it as it was.
 * A document opened before backends existed (`/<id>/<name>`) is the local backend's.
 */
import * as vscode from 'vscode';
import type { Algorithm } from '../core/algorithm';
import { formatAlgorithmDocument, parseAlgorithmDocument } from '../core/algorithmDocument';
import { ModelArtsError, NotFoundError } from '../core/errors';
import type { Logger } from '../core/logger';
import type { BackendRegistry } from '../backends/backendRegistry';
import { LOCAL_BACKEND_ID } from '../backends/jobRef';

export const ALGORITHM_SCHEME = 'modelarts-algorithm';

export function algorithmDocumentUri(backend: string, algorithm: Algorithm): vscode.Uri {
  return vscode.Uri.from({ scheme: ALGORITHM_SCHEME, path: `/${encodeURIComponent(backend)}/${algorithm.metadata.id}/${algorithm.metadata.name}.algorithm.json` });
}

/** The backend and algorithm id of a document URI; anything else (`/local/<id>`, what VS Code stats before a write) is a folder. */
function algorithmOf(uri: vscode.Uri): { backend: string; id: string } | undefined {
  const parts = uri.path.split('/').filter(Boolean);
  if (!parts.at(-1)?.endsWith('.algorithm.json')) return undefined;
  if (parts.length === 3 && parts[0] && parts[1]) return { backend: decodeURIComponent(parts[0]), id: parts[1] };
  if (parts.length === 2 && parts[0]) return { backend: LOCAL_BACKEND_ID, id: parts[0] };
  return undefined;
}

export class AlgorithmFileSystem implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changeEmitter.event;
  /** URIs served per algorithm id: a rename keeps the open document's old name, so change events go to each. */
  private readonly served = new Map<string, Set<string>>();
  private readonly subscriptions: vscode.Disposable[] = [this.changeEmitter];

  private readonly subscriptionsOfRegistry: Array<{ dispose(): void }> = [];

  constructor(
    private readonly registry: BackendRegistry,
    private readonly log: Logger,
  ) {
    this.subscriptionsOfRegistry.push(
      registry.onDidChangeAlgorithm(({ backend, kind, algorithm }) => {
        const key = `${backend}/${algorithm.metadata.id}`;
        const type = kind === 'deleted' ? vscode.FileChangeType.Deleted : vscode.FileChangeType.Changed;
        const uris = this.served.get(key) ?? new Set();
        if (uris.size) this.changeEmitter.fire([...uris].map((uri) => ({ type, uri: vscode.Uri.parse(uri) })));
        if (kind === 'deleted') this.served.delete(key);
      }),
    );
  }

  watch(): vscode.Disposable {
    // Every served document is watched already through the backends' algorithm events.
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    if (!algorithmOf(uri)) return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
    const algorithm = await this.read(uri);
    return {
      type: vscode.FileType.File,
      ctime: algorithm.metadata.create_time,
      mtime: algorithm.metadata.update_time ?? algorithm.metadata.create_time,
      size: Buffer.byteLength(formatAlgorithmDocument(algorithm)),
    };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    return Buffer.from(formatAlgorithmDocument(await this.read(uri)));
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array): Promise<void> {
    const target = algorithmOf(uri);
    if (!target) throw vscode.FileSystemError.NoPermissions('New algorithms are created with "ModelArts: Create Algorithm".');
    try {
      // Parsed here first so a syntax error is reported as such, before the backend is asked.
      const request = parseAlgorithmDocument(Buffer.from(content).toString('utf8'));
      await this.registry.require(target.backend).updateAlgorithm(target.id, request);
    } catch (error) {
      this.log.warn(`Saving ${uri.toString()} refused: ${error instanceof Error ? error.message : String(error)}`);
      if (error instanceof NotFoundError) throw vscode.FileSystemError.FileNotFound(uri);
      // A plain FileSystemError (code Unknown): NoPermissions would make VS Code offer "Retry as Admin".
      if (error instanceof ModelArtsError) throw new vscode.FileSystemError(error.message);
      throw error;
    }
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }

  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('Algorithm documents cannot hold folders.');
  }

  delete(): void {
    throw vscode.FileSystemError.NoPermissions('Delete algorithms with "ModelArts: Delete Algorithm".');
  }

  rename(): void {
    throw vscode.FileSystemError.NoPermissions('Rename an algorithm by changing metadata.name in its document.');
  }

  private async read(uri: vscode.Uri): Promise<Algorithm> {
    const target = algorithmOf(uri);
    const algorithm = target ? await this.registry.get(target.backend)?.getAlgorithm(target.id) : undefined;
    if (!target || !algorithm) throw vscode.FileSystemError.FileNotFound(uri);
    const key = `${target.backend}/${target.id}`;
    let uris = this.served.get(key);
    if (!uris) this.served.set(key, (uris = new Set()));
    uris.add(uri.toString());
    return algorithm;
  }

  dispose(): void {
    for (const subscription of [...this.subscriptions.splice(0), ...this.subscriptionsOfRegistry.splice(0)]) subscription.dispose();
  }
}
