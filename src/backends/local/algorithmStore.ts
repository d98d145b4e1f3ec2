/**
 * Saved algorithms of the local engine: one JSON file each under `<dataDir>/algorithms/`, written
 * atomically (temporary file, then rename) and validated with zod when read back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { algorithmSchema, type Algorithm } from '../../core/algorithm';

export class AlgorithmStore {
  private readonly records = new Map<string, Algorithm>();
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly root: string,
    private readonly onDamaged: (file: string, error: unknown) => void,
  ) {}

  private get folder(): string {
    return path.join(this.root, 'algorithms');
  }

  private file(id: string): string {
    return path.join(this.folder, `${id}.json`);
  }

  async load(): Promise<void> {
    await fs.promises.mkdir(this.folder, { recursive: true });
    const names = (await fs.promises.readdir(this.folder)).filter((name) => name.endsWith('.json'));
    const loaded = await Promise.all(
      names.map(async (name) => {
        const file = path.join(this.folder, name);
        try {
          return algorithmSchema.parse(JSON.parse(await fs.promises.readFile(file, 'utf8')));
        } catch (error) {
          this.onDamaged(file, error);
          return undefined;
        }
      }),
    );
    this.records.clear();
    for (const algorithm of loaded) if (algorithm) this.records.set(algorithm.metadata.id, algorithm);
  }

  /** Newest first. */
  list(): Algorithm[] {
    return [...this.records.values()].sort((a, b) => b.metadata.create_time - a.metadata.create_time);
  }

  get(id: string): Algorithm | undefined {
    return this.records.get(id);
  }

  findByName(name: string): Algorithm | undefined {
    return [...this.records.values()].find((algorithm) => algorithm.metadata.name === name);
  }

  save(algorithm: Algorithm): Promise<void> {
    this.records.set(algorithm.metadata.id, algorithm);
    const text = JSON.stringify(algorithm, null, 1);
    return this.enqueue(async () => {
      const file = this.file(algorithm.metadata.id);
      const temporary = `${file}.${process.pid}.tmp`;
      await fs.promises.writeFile(temporary, text);
      await fs.promises.rename(temporary, file);
    });
  }

  remove(id: string): Promise<void> {
    this.records.delete(id);
    return this.enqueue(() => fs.promises.rm(this.file(id), { force: true }));
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.writes.catch(() => undefined).then(work);
    this.writes = next;
    return next;
  }
}
