/**
 * Algorithms of the local backend: a code folder, boot file, engine, hyperparameters and channels
 * kept together so jobs can start from them. Checked against this machine (the folder and boot
 * file exist, the engine is installed or the image can train) and kept unique by name.
 */
import { randomUUID } from 'node:crypto';
import { parseAlgorithmCreateRequest, type Algorithm, type ValidAlgorithmCreateRequest } from '../../core/algorithm';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import { checkAlgorithmConfig } from './jobPlanner';
import type { LocalRuntime } from './localRuntime';

export class LocalAlgorithms {
  constructor(private readonly runtime: LocalRuntime) {}

  async list(): Promise<Algorithm[]> {
    await this.runtime.ensureLoaded();
    return this.runtime.algorithms.list().map((a) => structuredClone(a));
  }

  async get(id: string): Promise<Algorithm | undefined> {
    await this.runtime.ensureLoaded();
    const algorithm = this.runtime.algorithms.get(id);
    return algorithm && structuredClone(algorithm);
  }

  async create(request: unknown): Promise<Algorithm> {
    const { runtime } = this;
    const valid = parseAlgorithmCreateRequest(request);
    await runtime.ensureLoaded();
    await runtime.parts.follower.requireWriter();
    const algorithm = await this.checked(valid, { id: randomUUID(), create_time: Date.now() });
    await runtime.algorithms.save(algorithm);
    runtime.algorithmEmitter.fire({ kind: 'created', algorithm: structuredClone(algorithm) });
    return structuredClone(algorithm);
  }

  async update(id: string, request: unknown): Promise<Algorithm> {
    const { runtime } = this;
    const valid = parseAlgorithmCreateRequest(request);
    await runtime.ensureLoaded();
    await runtime.parts.follower.requireWriter();
    const existing = runtime.algorithms.get(id);
    if (!existing) throw new NotFoundError('algorithm', id);
    const algorithm = await this.checked(valid, { id, create_time: existing.metadata.create_time, update_time: Date.now() });
    await runtime.algorithms.save(algorithm);
    runtime.algorithmEmitter.fire({ kind: 'updated', algorithm: structuredClone(algorithm) });
    return structuredClone(algorithm);
  }

  async delete(id: string): Promise<void> {
    const { runtime } = this;
    await runtime.ensureLoaded();
    await runtime.parts.follower.requireWriter();
    const existing = runtime.algorithms.get(id);
    if (!existing) throw new NotFoundError('algorithm', id);
    await runtime.algorithms.remove(id);
    runtime.algorithmEmitter.fire({ kind: 'deleted', algorithm: existing });
  }

  /** Checks what the schema cannot (unique name, code folder, boot file, engine) and builds the record. */
  private async checked(request: ValidAlgorithmCreateRequest, identity: { id: string; create_time: number; update_time?: number }): Promise<Algorithm> {
    const { runtime } = this;
    const issues: Array<{ field: string; message: string }> = [];
    const clash = runtime.algorithms.findByName(request.metadata.name);
    if (clash && clash.metadata.id !== identity.id) issues.push({ field: 'metadata.name', message: `an algorithm named ${request.metadata.name} already exists` });
    const config = await checkAlgorithmConfig(request.job_config, {
      engines: await runtime.listPresetEngines(),
      checkImage: (image) => runtime.imageProblems(image),
      problem: (field, message) => issues.push({ field: `job_config.${field}`, message }),
    });
    if (issues.length || !config) throw new InvalidInputError('Algorithm', issues.length ? issues : [{ field: 'job_config', message: 'is incomplete' }]);
    return {
      metadata: { ...identity, name: request.metadata.name, description: request.metadata.description ?? '' },
      job_config: {
        ...config,
        parameters: config.parameters ?? [],
        parameters_customization: config.parameters_customization ?? true,
        inputs: config.inputs ?? [],
        outputs: config.outputs ?? [],
        environments: config.environments ?? {},
        code_dir: config.code_dir ?? '',
        boot_file: config.boot_file ?? '',
      },
    };
  }
}
