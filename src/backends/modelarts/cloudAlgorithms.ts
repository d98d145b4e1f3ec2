/**
 * Algorithms on ModelArts (create, list, show, modify, delete), checked before they are sent:
 * the shared request schema, a name unique in the project, an engine the region offers, and a
 * local code folder uploaded to OBS first, as for jobs.
 */
import { parseAlgorithmCreateRequest, type Algorithm, type ValidAlgorithmCreateRequest } from '../../core/algorithm';
import { NotFoundError } from '../../core/errors';
import { Emitter } from '../../core/events';
import type { PresetEngine } from '../../core/presetEngines';
import { PlanIssues, unknownEngine } from '../shared/jobPlanning';
import { matchPresetEngine } from '../../core/presetEngines';
import type { AlgorithmChange } from '../trainingBackend';
import { ModelArtsApiError } from './apiErrors';
import { algorithmFromCloud } from './jobMapping';
import type { ModelArtsApi } from './modelartsApi';
import { PAGE_SIZE } from './modelartsApi';

export interface AlgorithmCodePlanner {
  /** The code folder as an OBS URL: an obs:// URL as given, a local folder uploaded first. */
  codeDirFor(codeDir: string, name: string, field: string, problem: (field: string, message: string) => void): Promise<string | undefined>;
  /** Sends what codeDirFor planned; nothing is sent before every check has passed. */
  commit(): Promise<void>;
}

export class CloudAlgorithms {
  private readonly emitter = new Emitter<AlgorithmChange>();
  readonly onDidChange = this.emitter.event;

  constructor(
    private readonly api: () => ModelArtsApi,
    private readonly engines: () => Promise<readonly PresetEngine[]>,
    private readonly code: () => AlgorithmCodePlanner,
  ) {}

  async list(): Promise<Algorithm[]> {
    const all: Algorithm[] = [];
    for (let offset = 0; ; offset += PAGE_SIZE) {
      const page = await this.api().listAlgorithms(offset);
      all.push(...page.items.map(algorithmFromCloud));
      if (page.items.length < PAGE_SIZE) break;
    }
    return all.sort((a, b) => b.metadata.create_time - a.metadata.create_time);
  }

  async get(id: string): Promise<Algorithm | undefined> {
    try {
      return algorithmFromCloud(await this.api().showAlgorithm(id));
    } catch (error) {
      if (error instanceof ModelArtsApiError && (error.notFound || error.status === 404)) return undefined;
      throw error;
    }
  }

  private async body(raw: unknown, ownId: string | undefined): Promise<{ body: Record<string, unknown>; commit: () => Promise<void> }> {
    const request = parseAlgorithmCreateRequest(raw);
    const issues = new PlanIssues();
    const taken = (await this.list()).find((a) => a.metadata.name === request.metadata.name && a.metadata.id !== ownId);
    if (taken) issues.problem('metadata.name', `algorithm ${request.metadata.name} already exists in this project; choose another name`);
    const config = request.job_config;
    if (!config.engine.image_url) {
      const engines = await this.engines();
      if (!matchPresetEngine(engines, config.engine)) issues.problem('job_config.engine', unknownEngine(config.engine, engines, '', 'ModelArts offers no preset engine in this region'));
    }
    if (config.environments && Object.keys(config.environments).length) issues.problem('job_config.environments', 'is not kept by ModelArts algorithms; give the variables to each job instead');
    if (config.working_dir) issues.problem('job_config.working_dir', 'is not kept by ModelArts algorithms; give it to each job instead');
    const planner = this.code();
    const codeDir = config.code_dir ? await planner.codeDirFor(config.code_dir, request.metadata.name, 'job_config.code_dir', issues.problem) : undefined;
    issues.throwIfAny(false, 'Algorithm');
    return { body: algorithmBody(request, codeDir), commit: () => planner.commit() };
  }

  async create(raw: unknown): Promise<Algorithm> {
    const { body, commit } = await this.body(raw, undefined);
    await commit();
    const algorithm = algorithmFromCloud(await this.api().createAlgorithm(body));
    this.emitter.fire({ kind: 'created', algorithm });
    return algorithm;
  }

  async update(id: string, raw: unknown): Promise<Algorithm> {
    if (!(await this.get(id))) throw new NotFoundError('algorithm', id);
    const { body, commit } = await this.body(raw, id);
    await commit();
    await this.api().updateAlgorithm(id, body);
    const algorithm = await this.get(id);
    if (!algorithm) throw new NotFoundError('algorithm', id);
    this.emitter.fire({ kind: 'updated', algorithm });
    return algorithm;
  }

  async delete(id: string): Promise<void> {
    const algorithm = await this.get(id);
    if (!algorithm) throw new NotFoundError('algorithm', id);
    try {
      await this.api().deleteAlgorithm(id);
    } catch (error) {
      if (error instanceof ModelArtsApiError && error.notFound) throw new NotFoundError('algorithm', id);
      throw error;
    }
    this.emitter.fire({ kind: 'deleted', algorithm });
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** The algorithm request in the documented fields of CreateAlgorithm / ChangeAlgorithm. */
function algorithmBody(request: ValidAlgorithmCreateRequest, codeDir: string | undefined): Record<string, unknown> {
  const config = request.job_config;
  const bootFile = config.boot_file && codeDir && !config.boot_file.startsWith('obs://') ? `${codeDir}${config.boot_file.replace(/^\.?\//, '')}` : config.boot_file;
  return {
    metadata: { name: request.metadata.name, ...(request.metadata.description ? { description: request.metadata.description } : {}) },
    job_config: {
      ...(codeDir ? { code_dir: codeDir } : {}),
      ...(bootFile ? { boot_file: bootFile } : {}),
      ...(config.command ? { command: config.command } : {}),
      parameters: (config.parameters ?? []).map((p) => ({ name: p.name, value: p.value ?? '', ...(p.description ? { description: p.description } : {}), ...(p.constraint ? { constraint: p.constraint } : {}) })),
      parameters_customization: config.parameters_customization ?? true,
      inputs: (config.inputs ?? []).map((c) => ({ name: c.name, ...(c.description ? { description: c.description } : {}) })),
      outputs: (config.outputs ?? []).map((c) => ({ name: c.name, ...(c.description ? { description: c.description } : {}) })),
      engine: { ...config.engine },
    },
  };
}

