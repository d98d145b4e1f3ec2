/**
 * Planning a job for ModelArts before anything is sent: the request checked against the cloud's
 * catalogs (flavor, node count, preset engine, algorithm) and against what the cloud can read (OBS
 * locations only: a folder on this machine as an input is refused naming the field; a local code
 * folder is uploaded first under the configured code location). Every problem is reported at
 * once, naming its field, before any upload or creation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Algorithm } from '../../core/algorithm';
import type { Flavor } from '../../core/flavors';
import { parseJobCreateRequest, type JobOutput, type ValidJobCreateRequest } from '../../core/job';
import type { PresetEngine } from '../../core/presetEngines';
import { mergeAlgorithm, outputsWithLocalDirs, PlanIssues, resolveFlavor, resolvePresetEngine, type Problem } from '../shared/jobPlanning';
import { jobBody } from './jobMapping';
import { formatObsUrl, isObsUrl, parseObsUrl, type ObsLocation } from './obsUrl';

export interface SubmissionContext {
  readonly flavors: readonly Flavor[];
  readonly defaultFlavor: Flavor | undefined;
  readonly engines: readonly PresetEngine[];
  readonly codeLocation: ObsLocation | undefined;
  getAlgorithm(id: string): Promise<Algorithm | undefined>;
  /** Checks a local code folder against ModelArts' limits (InvalidInputError naming the field). */
  checkCodeFolder(dir: string, field: string): Promise<void>;
  /** Input folders on this machine are uploaded under the code location instead of refused. */
  readonly uploadLocalInputs?: boolean;
}

/** A local folder to send before the job is created: its code, or an input. */
export interface CodeUpload {
  readonly dir: string;
  readonly destination: ObsLocation;
  /** `code`, or the input's name. */
  readonly what: string;
}

export interface Submission {
  readonly request: ValidJobCreateRequest;
  /** What is sent before the job is created, in order: the code folder, then input folders. */
  readonly uploads: readonly CodeUpload[];
  /** The CreateTrainingJob body, in documented fields only. */
  readonly body: Record<string, unknown>;
}

const SETTING = 'modelarts.cloud.codeLocation';

/** A path that names this machine rather than OBS (`/bucket/dir/` is OBS unless it exists here). */
function isLocalPath(value: string): boolean {
  if (isObsUrl(value)) return false;
  if (value.startsWith('/') && !value.startsWith('//')) return fs.existsSync(value);
  return true;
}

function obsOrProblem(value: string, field: string, problem: Problem, what: string, options: { folder?: boolean } = {}): ObsLocation | undefined {
  if (isLocalPath(value)) {
    const local = value.startsWith('file://') || path.isAbsolute(value) || value.startsWith('.');
    problem(field, local ? `is a folder on this machine; ModelArts reads ${what} from OBS: upload it first (Datasets view, Upload…) and give its obs:// URL` : `must be an OBS URL such as obs://bucket/folder/ (got "${value}")`);
    return undefined;
  }
  try {
    return parseObsUrl(value, field, options);
  } catch (error) {
    const issue = (error as { issues?: ReadonlyArray<{ message: string }> }).issues?.[0];
    problem(field, issue?.message ?? (error instanceof Error ? error.message : String(error)));
    return undefined;
  }
}

/** The folder on this machine an input names (a path or file:// URL), if it names one that exists. */
function localFolder(value: string): string | undefined {
  const candidate = value.startsWith('file://') ? value.slice('file://'.length) : isLocalPath(value) ? path.resolve(value) : undefined;
  return candidate !== undefined && fs.statSync(candidate, { throwIfNoEntry: false })?.isDirectory() ? candidate : undefined;
}

/** Where a local code folder goes: `<code location>/<job name>/code/<folder name>/`, so it lands in the container under its own name. */
export function codeDestination(location: ObsLocation, jobName: string, dir: string): ObsLocation {
  return { bucket: location.bucket, key: `${location.key}${jobName}/code/${path.basename(path.resolve(dir))}/` };
}

async function planCode(request: ValidJobCreateRequest, context: SubmissionContext, problem: Problem): Promise<{ codeDir?: string; bootFile?: string; upload?: CodeUpload }> {
  const { code_dir: codeDir, boot_file: bootFile } = request.algorithm;
  if (codeDir === undefined) return {};
  if (!isLocalPath(codeDir)) {
    const code = obsOrProblem(codeDir, 'algorithm.code_dir', problem, 'code', { folder: true });
    if (!code) return {};
    const url = formatObsUrl(code);
    if (bootFile === undefined) return { codeDir: url };
    const boot = isObsUrl(bootFile) ? bootFile : `${url}${bootFile.replace(/^\.?\//, '')}`;
    if (!boot.startsWith(url)) problem('algorithm.boot_file', `must be inside code_dir ${url} (got ${bootFile})`);
    return { codeDir: url, bootFile: boot };
  }
  // A folder on this machine: sent to OBS first.
  const dir = path.resolve(codeDir);
  let isDir = false;
  try {
    isDir = (await fs.promises.stat(dir)).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir) {
    problem('algorithm.code_dir', `no folder exists at ${dir}; give a folder on this machine (it is uploaded to OBS) or an obs:// URL`);
    return {};
  }
  if (!context.codeLocation) {
    problem('algorithm.code_dir', `is a folder on this machine; set ${SETTING} (obs://bucket/prefix/) so it can be uploaded to OBS, or give an obs:// URL`);
    return {};
  }
  let relBoot: string | undefined;
  if (bootFile !== undefined) {
    const absolute = path.resolve(dir, bootFile);
    relBoot = path.relative(dir, absolute).split(path.sep).join('/');
    if (relBoot.startsWith('..') || path.isAbsolute(relBoot)) problem('algorithm.boot_file', `must be inside code_dir ${dir} (got ${bootFile})`);
    else if (!fs.existsSync(absolute)) problem('algorithm.boot_file', `no file ${relBoot} in ${dir}`);
  }
  await context.checkCodeFolder(dir, 'algorithm.code_dir').catch((error: unknown) => {
    const issues = (error as { issues?: ReadonlyArray<{ field: string; message: string }> }).issues;
    if (!issues) throw error;
    for (const issue of issues) problem(issue.field, issue.message);
  });
  const destination = codeDestination(context.codeLocation, request.metadata.name, dir);
  const url = formatObsUrl(destination);
  return { codeDir: url, ...(relBoot !== undefined ? { bootFile: `${url}${relBoot}` } : {}), upload: { dir, destination, what: 'code' } };
}

function planOutputs(request: ValidJobCreateRequest, outputs: readonly JobOutput[], context: SubmissionContext, problem: Problem): JobOutput[] {
  return outputsWithLocalDirs(outputs, problem).map((output, index) => {
    const field = `algorithm.outputs[${index}].remote.obs.obs_url`;
    if (output.predownload) problem(`algorithm.outputs[${index}].predownload`, 'is not an option of ModelArts; leave it out (copy the checkpoint into an input instead)');
    const given = output.remote?.obs.obs_url;
    if (given !== undefined) {
      const location = obsOrProblem(given, field, problem, 'outputs', { folder: true });
      return location ? { ...output, remote: { obs: { obs_url: formatObsUrl(location) } } } : output;
    }
    if (!context.codeLocation) {
      problem(field, `is required on ModelArts: give an obs:// folder, or set ${SETTING} to keep outputs beside the code`);
      return output;
    }
    const location = { bucket: context.codeLocation.bucket, key: `${context.codeLocation.key}${request.metadata.name}/outputs/${output.name}/` };
    const { predownload: _predownload, ...rest } = output;
    return { ...rest, remote: { obs: { obs_url: formatObsUrl(location) } } };
  });
}

/** Checks the request for ModelArts and plans its upload; throws InvalidInputError naming every problem. */
export async function planSubmission(raw: unknown, context: SubmissionContext): Promise<Submission> {
  const request = parseJobCreateRequest(raw);
  const issues = new PlanIssues();
  const { problem } = issues;
  let algorithm = request.algorithm;
  if (algorithm.id !== undefined) {
    const saved = await context.getAlgorithm(algorithm.id);
    if (!saved) problem('algorithm.id', `no algorithm "${algorithm.id}" exists on ModelArts in this project`);
    else algorithm = { ...mergeAlgorithm(algorithm, saved, problem), id: algorithm.id };
  } else if (algorithm.engine?.image_url !== undefined) {
    if (algorithm.command === undefined && algorithm.boot_file === undefined) problem('algorithm.command', 'is required with a custom image (engine.image_url): the command that starts training');
  } else if (algorithm.engine) {
    resolvePresetEngine(algorithm.engine, context.engines, problem, '', 'ModelArts offers no preset engine in this region');
    if (algorithm.command !== undefined) problem('algorithm.command', 'is only used with a custom image (engine.image_url); preset engines run the boot file');
  }
  const inputUploads: CodeUpload[] = [];
  const inputs = algorithm.inputs?.map((input, index) => {
    if (!input.remote.obs) return input;
    const field = `algorithm.inputs[${index}].remote.obs.obs_url`;
    const given = input.remote.obs.obs_url;
    const dir = localFolder(given);
    if (dir !== undefined && context.uploadLocalInputs) {
      if (!context.codeLocation) {
        problem(field, `is a folder on this machine; set ${SETTING} (obs://bucket/prefix/) so it can be uploaded to OBS`);
        return input;
      }
      const destination = { bucket: context.codeLocation.bucket, key: `${context.codeLocation.key}${request.metadata.name}/inputs/${input.name}/` };
      inputUploads.push({ dir, destination, what: `input ${input.name}` });
      return { ...input, remote: { obs: { obs_url: formatObsUrl(destination) } } };
    }
    obsOrProblem(given, field, problem, 'inputs');
    return input;
  });
  if (inputs) algorithm = { ...algorithm, inputs };
  const planned = { ...request, algorithm };
  const code = request.algorithm.id === undefined ? await planCode(planned, context, problem) : {};
  const outputs = planOutputs(planned, algorithm.outputs ?? [], context, problem);
  const pooled = request.spec?.resource?.pool_id !== undefined && request.spec.resource.flavor_id === undefined;
  const { flavor, nodeCount } = pooled ? { flavor: undefined, nodeCount: request.spec?.resource?.node_count ?? 1 } : resolveFlavor(request, context.flavors, context.defaultFlavor, problem);
  if (request.spec?.log_export_path) obsOrProblem(request.spec.log_export_path.obs_url, 'spec.log_export_path.obs_url', problem, 'logs', { folder: true });
  issues.throwIfAny();
  const withInputs = inputs ? { ...request, algorithm: { ...request.algorithm, inputs } } : request;
  const sent: ValidJobCreateRequest = request.algorithm.id === undefined ? withInputs : { ...request, algorithm: { id: request.algorithm.id, ...pick(withInputs.algorithm, ['parameters', 'inputs', 'environments', 'working_dir']) } };
  return {
    request,
    uploads: [...(code.upload ? [code.upload] : []), ...inputUploads],
    body: jobBody(sent, { ...(code.codeDir ? { codeDir: code.codeDir } : {}), ...(code.bootFile ? { bootFile: code.bootFile } : {}), outputs, flavorId: flavor?.flavor_id, nodeCount }),
  };
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
