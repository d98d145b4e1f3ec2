/**
 * What a ModelArts backend sends before it creates a job or an algorithm: the request planned for
 * the cloud (jobSubmission.ts: checked against the catalogs, local folders mapped to OBS
 * locations), the plan shown before anything is sent (the UploadPlanner capability), and the
 * uploads themselves, incremental, through the account's OBS client.
 */
import * as path from 'node:path';
import type { Algorithm } from '../../core/algorithm';
import { errorMessage, InvalidInputError } from '../../core/errors';
import type { TrainingJob } from '../../core/job';
import type { Logger } from '../../core/logger';
import { checkCodeLimits, listCodeFiles } from '../../storage/codeIgnore';
import { findData, parseDataUrl, runDownload, totalBytes } from '../../storage/dataTransfers';
import { deletePrefix } from '../../storage/transfer';
import type { DataStorage, PlannedUpload, RemoteFiles, UploadPlanner } from '../capabilities';
import type { AlgorithmCodePlanner } from './cloudAlgorithms';
import type { CloudSession } from './cloudSession';
import { uploadCodeFolder } from './codeUpload';
import { codeDestination, planSubmission, type CodeUpload, type Submission } from './jobSubmission';
import { formatObsUrl, isObsUrl, parseObsUrl } from './obsUrl';

export class CloudUploads implements UploadPlanner {
  constructor(
    private readonly session: () => CloudSession,
    private readonly getAlgorithm: (id: string) => Promise<Algorithm | undefined>,
    private readonly stateDir: string,
    private readonly logger: Logger,
  ) {}

  /** The request checked for ModelArts (InvalidInputError naming every problem) and its uploads planned. */
  async plan(request: unknown, uploadLocalInputs: boolean): Promise<Submission> {
    const session = this.session();
    await session.ensureProject();
    const catalogs = await session.loadCatalogs();
    return planSubmission(request, {
      ...catalogs,
      codeLocation: session.config.codeLocation,
      getAlgorithm: this.getAlgorithm,
      checkCodeFolder: (dir, field) => this.checkCodeFolder(dir, field),
      ...(uploadLocalInputs ? { uploadLocalInputs: true } : {}),
    });
  }

  async planUploads(request: unknown, options: { readonly uploadLocalInputs?: boolean } = {}): Promise<PlannedUpload[]> {
    const submission = await this.plan(request, options.uploadLocalInputs === true);
    return Promise.all(
      submission.uploads.map(async (upload) => {
        const { files } = await listCodeFiles(upload.dir);
        return { what: upload.what, from: upload.dir, to: formatObsUrl(upload.destination), files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0) };
      }),
    );
  }

  async checkCodeFolder(dir: string, field: string): Promise<void> {
    checkCodeLimits(dir, await listCodeFiles(dir), { field });
  }

  async upload(upload: CodeUpload, signal: AbortSignal | undefined, onProgress: ((message: string) => void) | undefined): Promise<void> {
    const url = formatObsUrl(upload.destination);
    onProgress?.(`Uploading ${upload.dir} to ${url}`);
    const result = await uploadCodeFolder(this.session().obs(), upload.dir, upload.destination.bucket, upload.destination.key, {
      ...(signal ? { signal } : {}),
      // ModelArts' limits are on code; data may be larger.
      ...(upload.what === 'code' ? {} : { limits: false as const, field: upload.what }),
      cacheDir: path.join(this.stateDir, 'code-hashes'),
      onProgress: (p) => onProgress?.(`Uploading ${upload.what}: ${p.objects}${p.totalObjects ? `/${p.totalObjects}` : ''} files to ${url}`),
    });
    this.logger.info(`${upload.what === 'code' ? 'Code' : `The ${upload.what}`} ${upload.dir} → ${url}: ${result.uploaded} sent, ${result.unchanged} unchanged, ${result.deleted} removed`);
  }

  /** Local algorithm code folders are uploaded like a job's, under `<code location>/algorithms/<name>/code/`. */
  algorithmCode(): AlgorithmCodePlanner {
    const pending: CodeUpload[] = [];
    const session = this.session();
    return {
      codeDirFor: async (codeDir, name, field, problem) => {
        if (isObsUrl(codeDir)) {
          try {
            return formatObsUrl(parseObsUrl(codeDir, field, { folder: true }));
          } catch (error) {
            problem(field, errorMessage(error));
            return undefined;
          }
        }
        const location = session.config.codeLocation;
        if (!location) {
          problem(field, 'is a folder on this machine; set modelarts.cloud.codeLocation (obs://bucket/prefix/) so it can be uploaded, or give an obs:// URL');
          return undefined;
        }
        const destination = codeDestination({ bucket: location.bucket, key: `${location.key}algorithms/` }, name, codeDir);
        await this.checkCodeFolder(codeDir, field);
        pending.push({ dir: codeDir, destination, what: 'code' });
        return formatObsUrl(destination);
      },
      commit: async () => {
        for (const upload of pending.splice(0)) await this.upload(upload, undefined, undefined);
      },
    };
  }

  /** Whether the keys reach the code location's bucket; InvalidInputError naming the setting otherwise. */
  async checkCodeLocation(): Promise<void> {
    const session = this.session();
    const location = session.config.codeLocation;
    if (!location) return;
    try {
      await session.obs().listLevel(location.bucket, location.key, { pageSize: 1 });
    } catch (error) {
      throw new InvalidInputError('ModelArts settings', [{ field: 'modelarts.cloud.codeLocation', message: `obs://${location.bucket}/ cannot be reached with these keys: ${session.redact(errorMessage(error))}` }]);
    }
  }

  /** Deletes what a job delivered to its outputs' OBS folders. */
  async deleteOutputs(job: TrainingJob): Promise<void> {
    const store = this.session().obs();
    for (const [index, output] of job.algorithm.outputs.entries()) {
      if (!output.remote) continue;
      const { bucket, key } = parseObsUrl(output.remote.obs.obs_url, `algorithm.outputs[${index}].remote.obs.obs_url`, { folder: true });
      await deletePrefix({ store, bucket, prefix: key, url: output.remote.obs.obs_url });
    }
  }
}

/** A job's folders on OBS (`obs://…` or `/bucket/…`), measured and brought to this machine. */
export function cloudRemoteFiles(session: () => CloudSession): RemoteFiles & DataStorage {
  const location = (url: string, field: string) => parseDataUrl(url.startsWith('/') ? `obs:/${url}` : url, field);
  return {
    storageLabel: 'OBS',
    objectStore: () => session().obs(),
    measure: async (url, field) => {
      const found = await findData(session().obs(), location(url, field));
      return { files: found.objects.length, bytes: totalBytes(found.objects) };
    },
    download: async (url, dir, options = {}) => {
      const store = session().obs();
      const found = await findData(store, location(url, 'url'), options.signal);
      await runDownload(store, found, dir, options.signal, (p) => options.onProgress?.(`Downloading ${url}: ${p.objects}/${p.totalObjects ?? found.objects.length} files`));
    },
  };
}
