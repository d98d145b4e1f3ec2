/**
 * Algorithm management of the contract server: create (201), list with a record offset and
 * `searches=name:xxx`, show, modify (the reference answers a PUT with 201) and delete (202).
 * Saved algorithms are what training jobs created with `algorithm.id` run.
 */
import { randomUUID } from 'node:crypto';
import type { AlgorithmBody, AlgorithmsQuery } from './algorithmSchemas';
import { type ApiResponse, algorithmNotFound, empty, invalidParameter, json, modelArtsError } from './errors';
import { findEngine, localImageOf } from './jobPlanner';
import { type Obs, asFolder, parseObsUrl } from './obs';
import type { ResolvedOptions } from './options';

type JobConfig = NonNullable<AlgorithmBody['job_config']>;

export interface SavedAlgorithm {
  readonly id: string;
  readonly name: string;
  readonly jobConfig: JobConfig;
  readonly createTime: number;
  /** The body it was last saved from (a PUT replaces the sections it sends). */
  readonly body: AlgorithmBody;
  view: Record<string, unknown>;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const DEFAULT_LIMIT = 10;

interface CodeTree {
  name: string;
  children?: CodeTree[];
}

function codeTree(rootName: string, keys: readonly string[]): CodeTree {
  const root: CodeTree = { name: `${rootName}/`, children: [] };
  for (const key of keys) {
    let node = root;
    const parts = key.split('/');
    parts.forEach((part, index) => {
      const last = index === parts.length - 1;
      const name = last ? part : `${part}/`;
      node.children ??= [];
      let child = node.children.find((c) => c.name === name);
      if (!child) {
        child = last ? { name } : { name, children: [] };
        node.children.push(child);
      }
      node = child;
    });
  }
  return root;
}

export class AlgorithmStore {
  private readonly algorithms = new Map<string, SavedAlgorithm>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly obs: Obs,
  ) {}

  find(id: string): SavedAlgorithm | undefined {
    return this.algorithms.get(id);
  }

  async create(body: AlgorithmBody, userName: string): Promise<ApiResponse> {
    const config = await this.check(body);
    const algorithm: SavedAlgorithm = { id: randomUUID(), name: body.metadata?.name ?? '', jobConfig: config, createTime: Date.now(), body, view: {} };
    algorithm.view = await this.view(algorithm, body, userName, 0);
    this.algorithms.set(algorithm.id, algorithm);
    return json(201, algorithm.view);
  }

  async update(id: string, body: AlgorithmBody, userName: string): Promise<ApiResponse> {
    const existing = this.get(id);
    const before = existing.body;
    const merged: AlgorithmBody = {
      metadata: { ...before.metadata, ...body.metadata, name: body.metadata?.name ?? existing.name },
      job_config: body.job_config ?? existing.jobConfig,
      resource_requirements: body.resource_requirements ?? before.resource_requirements,
      advanced_config: body.advanced_config ?? before.advanced_config,
    };
    const config = await this.check(merged);
    const updated: SavedAlgorithm = { id, name: merged.metadata?.name ?? existing.name, jobConfig: config, createTime: existing.createTime, body: merged, view: {} };
    updated.view = await this.view(updated, merged, userName, Date.now());
    this.algorithms.set(id, updated);
    return json(201, updated.view);
  }

  show(id: string): ApiResponse {
    return json(200, this.get(id).view);
  }

  delete(id: string): ApiResponse {
    this.get(id);
    this.algorithms.delete(id);
    return empty(202);
  }

  list(query: AlgorithmsQuery): ApiResponse {
    const all = [...this.algorithms.values()];
    let nameFilter: string | undefined;
    for (const term of (query.searches ?? '').split(';').filter(Boolean)) {
      const [key, ...rest] = term.split(':');
      if (key !== 'name') throw invalidParameter('searches', `unknown search key "${key ?? ''}"; use name:<text>`);
      nameFilter = rest.join(':').toLowerCase();
    }
    const sortBy = query.sort_by ?? 'create_time';
    if (!['create_time', 'name'].includes(sortBy)) throw invalidParameter('sort_by', 'must be create_time or name');
    const order = query.order ?? 'desc';
    const matching = all
      .filter((a) => nameFilter === undefined || a.name.toLowerCase().includes(nameFilter))
      .sort((a, b) => {
        const cmp = sortBy === 'name' ? a.name.localeCompare(b.name) : a.createTime - b.createTime || a.id.localeCompare(b.id);
        return order === 'asc' ? cmp : -cmp;
      });
    const offset = query.offset ?? 0;
    const limit = query.limit ?? DEFAULT_LIMIT;
    return json(200, {
      total: all.length,
      count: matching.length,
      limit,
      offset,
      sort_by: sortBy,
      order,
      group_by: query.group_by ?? '',
      items: matching.slice(offset, offset + limit).map((a) => structuredClone(a.view)),
    });
  }

  private get(id: string): SavedAlgorithm {
    const found = this.algorithms.get(id);
    if (!found) throw algorithmNotFound(id);
    return found;
  }

  /** The rules of a job's algorithm, checked once when the algorithm is saved. */
  private async check(body: AlgorithmBody): Promise<JobConfig> {
    const name = body.metadata?.name;
    if (name === undefined) throw invalidParameter('metadata.name', 'is required');
    if (!NAME_PATTERN.test(name)) throw invalidParameter('metadata.name', 'must be 1 to 64 letters, digits, hyphens (-) and underscores (_)');
    if ((body.metadata?.description ?? '').length > 256) throw invalidParameter('metadata.description', 'must be at most 256 characters');
    const config = body.job_config;
    if (!config) throw invalidParameter('job_config', 'is required');
    const engine = config.engine;
    if (!engine) throw invalidParameter('job_config.engine', 'is required');
    if (engine.image_url !== undefined) {
      if (!localImageOf(this.options, engine.image_url)) throw modelArtsError(400, 'ModelArts.2810', `Image ${engine.image_url} does not exist in SWR.`);
      if (!config.command && !config.boot_file) throw modelArtsError(400, 'ModelArts.2806', 'A custom image algorithm needs job_config.command.');
    } else if (!findEngine(this.options.engines, engine)) {
      throw modelArtsError(400, 'ModelArts.2780', `Engine ${engine.engine_id ?? `${engine.engine_name ?? ''} ${engine.engine_version ?? ''}`} not found.`);
    } else if (config.code_dir === undefined || config.boot_file === undefined) {
      throw invalidParameter(config.code_dir === undefined ? 'job_config.code_dir' : 'job_config.boot_file', 'is required: code_dir and boot_file go together');
    }
    if (config.code_dir !== undefined) {
      const code = parseObsUrl(config.code_dir);
      if (!code || code.key === '') throw modelArtsError(400, 'ModelArts.2757', `Invalid job_config.code_dir "${config.code_dir}".`);
      const boot = config.boot_file !== undefined ? parseObsUrl(config.boot_file) : undefined;
      if (config.boot_file !== undefined && (!boot || boot.bucket !== code.bucket || !boot.key.startsWith(asFolder(code).key))) {
        throw modelArtsError(400, 'ModelArts.2758', `Invalid job_config.boot_file "${config.boot_file}": it must be inside code_dir.`);
      }
    }
    const names = new Set<string>();
    for (const [kind, list] of [['inputs', config.inputs ?? []], ['outputs', config.outputs ?? []]] as const) {
      list.forEach((channel, index) => {
        if (!channel.name) throw invalidParameter(`job_config.${kind}[${index}].name`, 'is required');
        if (names.has(channel.name)) throw modelArtsError(400, 'ModelArts.2753', `job_config.${kind}[${index}].name "${channel.name}" is used twice.`);
        names.add(channel.name);
      });
    }
    return config;
  }

  private async view(algorithm: SavedAlgorithm, body: AlgorithmBody, userName: string, updateTime: number): Promise<Record<string, unknown>> {
    const config = algorithm.jobConfig;
    const preset = config.engine?.image_url === undefined && config.engine ? findEngine(this.options.engines, config.engine) : undefined;
    const code = config.code_dir !== undefined ? parseObsUrl(config.code_dir) : undefined;
    let tree: CodeTree | undefined;
    let size = 0;
    if (code) {
      const folder = asFolder(code);
      const objects = await this.obs.list(folder, 1000).catch(() => []);
      size = objects.reduce((sum, o) => sum + o.size, 0);
      tree = codeTree(folder.key.replace(/\/$/, '').split('/').pop() ?? '', objects.map((o) => o.key.slice(folder.key.length)));
    }
    return {
      metadata: {
        id: algorithm.id,
        name: algorithm.name,
        description: body.metadata?.description ?? '',
        create_time: algorithm.createTime,
        workspace_id: body.metadata?.workspace_id ?? '0',
        ai_project: 'default-ai-project',
        user_name: userName,
        domain_id: this.options.domain.id,
        source: 'custom',
        api_version: '',
        is_valid: true,
        state: '',
        size,
        tags: null,
        attr_list: null,
        version_num: 0,
        update_time: updateTime,
      },
      job_config: {
        ...(config.code_dir !== undefined ? { code_dir: config.code_dir } : {}),
        ...(config.boot_file !== undefined ? { boot_file: config.boot_file } : {}),
        command: config.command ?? '',
        parameters: (config.parameters ?? []).map((p) => ({
          name: p.name ?? '',
          description: p.description ?? '',
          i18n_description: p.i18n_description ?? null,
          value: p.value ?? '',
          constraint: { type: 'String', editable: true, required: false, sensitive: false, valid_type: 'None', valid_range: [], ...p.constraint },
        })),
        parameters_customization: config.parameters_customization ?? false,
        inputs: (config.inputs ?? []).map((i) => ({ ...i, description: i.description ?? '' })),
        outputs: (config.outputs ?? []).map((o) => ({ ...o, description: o.description ?? '' })),
        engine: preset ? { engine_id: preset.engine_id, engine_name: preset.engine_name, engine_version: preset.engine_version } : { ...config.engine },
        ...(tree ? { code_tree: tree } : {}),
      },
      resource_requirements: body.resource_requirements?.map(({ values, ...rest }) => ({ ...rest, ...(values ? { value: values } : {}) })) ?? null,
      advanced_config: body.advanced_config ?? {},
    };
  }
}
