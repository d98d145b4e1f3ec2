/** Helpers shared by the suites that drive real jobs. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForEvent } from '../../src/core/events';
import Docker from 'dockerode';
import type { JobChange, JobCreateRequest, TrainingJob } from '../../src/core/job';
import type { Logger } from '../../src/core/logger';
import { LABELS } from '../../src/backends/local/docker';
import { isTerminalPhase } from '../../src/core/lifecycle';
import type { Event } from '../../src/core/events';

/** What job waits need: the engine, or the public API seen through `jobSource(api)`. */
export interface JobSource {
  readonly onDidChangeJob: Event<JobChange>;
  getJob(id: string): Promise<TrainingJob | undefined>;
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const DIGITS_DIR = path.join(REPO_ROOT, 'examples', 'digits');
export const PRESET_ENGINE = { engine_name: 'PyTorch', engine_version: '1.13-cpu' } as const;
export const EPOCH_LINE = /^epoch (\d+) loss (\d+\.\d+) acc (\d+\.\d+)/;

const madeFolders: string[] = [];

/** A fresh temporary folder holding `files` (relative path → content); see removeFolders(). */
export function makeFolder(prefix: string, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `modelarts-${prefix}-`));
  madeFolders.push(dir);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** Removes every folder makeFolder() made. */
export function removeFolders(): void {
  for (const dir of madeFolders.splice(0)) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // A container (UID 1000) wrote something this user may not remove: leave it to the system.
    }
  }
}

/** Waits until the job satisfies `predicate`, checking the current state first, then each change. */
export async function waitForJob(
  engine: JobSource,
  id: string,
  predicate: (job: TrainingJob) => boolean,
  timeoutMs: number,
  what = 'the expected state',
): Promise<TrainingJob> {
  const controller = new AbortController();
  const changed = waitForEvent<JobChange>(
    engine.onDidChangeJob,
    (change) => change.job.metadata.id === id && predicate(change.job),
    controller.signal,
  );
  const current = await engine.getJob(id);
  if (current && predicate(current)) {
    controller.abort();
    changed.catch(() => undefined);
    return current;
  }
  const timer = setTimeout(() => controller.abort(new Error(`job ${id} did not reach ${what} within ${timeoutMs} ms`)), timeoutMs);
  try {
    return (await changed).job;
  } catch (error) {
    const last = await engine.getJob(id);
    throw new Error(`${(error as Error).message}; it is ${last?.status.phase ?? 'gone'} (${last?.status.secondary_phase ?? ''})`);
  } finally {
    clearTimeout(timer);
  }
}

export function waitForTerminal(engine: JobSource, id: string, timeoutMs = 120_000): Promise<TrainingJob> {
  return waitForJob(engine, id, (job) => isTerminalPhase(job.status.phase), timeoutMs, 'a terminal phase');
}

/** A logger that keeps what it was told, for assertions. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string | Error) => lines.push(`${level} ${String(message)}`);
  return { lines, debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}

/** The smallest request for a job of the preset engine. */
export function jobRequest(name: string, codeDir: string, bootFile: string, parameters: JobCreateRequest['algorithm']['parameters'] = []): JobCreateRequest {
  return { kind: 'job', metadata: { name }, algorithm: { code_dir: codeDir, boot_file: bootFile, engine: { ...PRESET_ENGINE }, parameters } };
}

/** Every container of an engine's store (its `storeId`). */
export function containersOf(engine: { readonly storeId: string }, docker = new Docker()): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.store}=${engine.storeId}`] } });
}

/** Removes every container of an engine's store (test clean-up). */
export async function removeContainersOf(engine: { readonly storeId: string }, docker = new Docker()): Promise<void> {
  for (const info of await containersOf(engine, docker)) await docker.getContainer(info.Id).remove({ force: true }).catch(() => undefined);
}
