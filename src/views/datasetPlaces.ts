/**
 * The Datasets view over every store there is: the store the settings name (local jobs' data) and,
 * for each backend with storage of its own (a ModelArts account's OBS), that store. With only the
 * first the view lists its buckets at the top, as before; with more, each store is a root of its
 * own, named after its backend, its buckets below. Each store has its own DatasetsModel; a node
 * belongs to the model that made it. No `vscode` import: it is tested in plain Node.
 */
import { errorMessage, InvalidInputError } from '../core/errors';
import { Emitter, type Disposable, type Event } from '../core/events';
import type { Logger } from '../core/logger';
import type { BackendRegistry } from '../backends/backendRegistry';
import { LOCAL_BACKEND_ID } from '../backends/jobRef';
import type { TrainingBackend } from '../backends/trainingBackend';
import type { ObjectStore } from '../storage/objectStore';
import { DatasetNode, DatasetsModel, type ContainerNode, type DatasetStoreSource } from './datasetsModel';

export interface DataPlace {
  /** `local` for the store the settings name, else the backend whose storage it is. */
  readonly backend: string;
  /** For the root row and messages: "Local (Docker)", "ModelArts · cn-north-4 · 0a1b2c3d". */
  readonly label: string;
  /** What the store is: "local folder store", "OBS". */
  readonly kind: string;
  readonly model: DatasetsModel;
}

/** A store's root row (shown only when there is more than one store). */
export class PlaceNode extends DatasetNode {
  readonly parent = undefined;
  constructor(readonly place: DataPlace) {
    super();
  }
  get id(): string {
    return `place:${this.place.backend}`;
  }
}

/** A store that cannot be used: every call says why. */
function unreachableStore(problem: string): ObjectStore {
  const refuse = () => Promise.reject(new Error(problem));
  return {
    description: 'store that cannot be reached',
    list: () => ({ [Symbol.asyncIterator]: () => ({ next: refuse }) }),
    listLevel: refuse,
    listBuckets: refuse,
    download: refuse,
    upload: refuse,
    deleteObjects: refuse,
    ensureBucket: refuse,
  } as unknown as ObjectStore;
}

/** A backend's storage as the model's source; its state follows the backend's (signed in or not). */
function backendSource(backend: TrainingBackend): DatasetStoreSource {
  const storage = backend.dataStorage;
  return {
    get current() {
      try {
        if (!storage) throw new Error(`${backend.displayName} keeps no data of its own`);
        if (backend.state.kind === 'needsCredentials') return { store: unreachableStore(backend.state.reason), problem: backend.state.reason };
        return { store: storage.objectStore() };
      } catch (error) {
        return { store: unreachableStore(errorMessage(error)), problem: errorMessage(error) };
      }
    },
    onDidChange: (listener) => backend.onDidChangeState(listener),
    problemAsRow: true,
  };
}

export class DataPlaces implements Disposable {
  private readonly places = new Map<string, DataPlace>();
  /** One root node per store, so the view keeps its expansion. */
  private readonly rootNodes = new Map<string, PlaceNode>();
  private readonly changeEmitter = new Emitter<void>();
  /** A store was added or removed: the view's top level changed. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;
  private readonly subscription: Disposable;

  constructor(
    /** The store the settings name. */
    readonly local: DataPlace,
    private readonly registry: BackendRegistry,
    private readonly log: Logger,
  ) {
    this.places.set(local.backend, local);
    for (const backend of registry.list()) this.add(backend);
    this.subscription = registry.onDidChangeBackends(({ added, removed }) => {
      if (removed) this.remove(removed.id);
      if (added) this.add(added);
    });
  }

  /** Every store, the settings' one first. */
  list(): DataPlace[] {
    return [...this.places.values()];
  }

  get several(): boolean {
    return this.places.size > 1;
  }

  /** The top level: the settings' store's buckets, or a root per store. */
  async roots(): Promise<DatasetNode[]> {
    return this.several ? this.list().map((place) => this.rootOf(place)) : this.local.model.children();
  }

  /** The store a node belongs to (the settings' one for nodes of no store). */
  placeOf(node: DatasetNode | undefined): DataPlace {
    if (node instanceof PlaceNode) return node.place;
    if (node) for (const place of this.places.values()) if (place.model.owns(node)) return place;
    return this.local;
  }

  /** The store of a backend (`local` or none: the settings' one); InvalidInputError naming the field otherwise. */
  place(backend: string | undefined, field = 'backend'): DataPlace {
    const place = this.places.get(backend ?? LOCAL_BACKEND_ID);
    if (place) return place;
    const known = this.list().map((p) => p.backend);
    throw new InvalidInputError('Datasets', [{ field, message: `backend "${backend}" has no store in the Datasets view (stores: ${known.join(', ')})` }]);
  }

  /** The view's id of a node: the settings' store's as its model gives it, others' prefixed with their backend. */
  itemId(node: DatasetNode): string {
    const place = this.placeOf(node);
    return place === this.local || node instanceof PlaceNode ? node.id : `${place.backend}|${node.id}`;
  }

  /** The parent row of a node: a bucket's is its store's root when there are several. */
  parentOf(node: DatasetNode): DatasetNode | undefined {
    if (node.parent || node instanceof PlaceNode || !this.several) return node.parent;
    return this.rootOf(this.placeOf(node));
  }

  private rootOf(place: DataPlace): PlaceNode {
    let node = this.rootNodes.get(place.backend);
    if (node?.place !== place) {
      node = new PlaceNode(place);
      this.rootNodes.set(place.backend, node);
    }
    return node;
  }

  /** A container of a store, for revealing it. */
  containerNode(place: DataPlace, bucket: string, prefix: string): ContainerNode {
    return place.model.containerNode(bucket, prefix);
  }

  private add(backend: TrainingBackend): void {
    if (!backend.dataStorage || this.places.has(backend.id)) return;
    const model = new DatasetsModel(backendSource(backend), this.log);
    this.places.set(backend.id, { backend: backend.id, label: backend.displayName, kind: backend.dataStorage.storageLabel, model });
    this.changeEmitter.fire();
  }

  private remove(id: string): void {
    const place = this.places.get(id);
    if (!place || place === this.local) return;
    this.places.delete(id);
    this.rootNodes.delete(id);
    place.model.dispose();
    this.changeEmitter.fire();
  }

  dispose(): void {
    this.subscription.dispose();
    for (const place of this.places.values()) if (place !== this.local) place.model.dispose();
    this.places.clear();
    this.changeEmitter.dispose();
  }
}
