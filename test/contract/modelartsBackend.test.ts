/**
 * The TrainingBackend contract for the ModelArts backend, unchanged: against the contract server
 * (every request signed, checked and journaled), with code uploaded to the S3 test server as OBS
 * and every job run for real on Docker. A small log preview window makes the log tail read the
 * whole log through its OBS link as well.
 */
import * as assert from 'node:assert/strict';
import { DIGITS_DIR, makeFolder, removeFolders } from '../support/jobs';
import { CLOUD_ENGINE, cloudJob, startCloudFixture, type CloudFixture } from '../support/modelartsFixture';
import { describeTrainingBackend } from './trainingBackendContract';

let fixture: CloudFixture | undefined;

describeTrainingBackend('ModelArtsBackend (contract server, real Docker and S3)', async () => {
  fixture = await startCloudFixture({ logPreviewBytes: 1024 });
  const failing = makeFolder('contract-failing', { 'fail.py': 'import sys\nprint("loading data", flush=True)\nsys.exit(3)\n' });
  const backend = fixture.backend();
  const cloud = fixture;
  return {
    backend,
    completingJob: (name) => cloudJob(name, DIGITS_DIR, 'train.py', [{ name: 'epochs', value: 3 }]),
    epochs: 3,
    failingJob: (name) => cloudJob(name, failing, 'fail.py'),
    longJob: (name) => cloudJob(name, DIGITS_DIR, 'train.py', [{ name: 'epochs', value: 5000 }]),
    algorithm: (name) => ({ metadata: { name }, job_config: { code_dir: DIGITS_DIR, boot_file: 'train.py', engine: { ...CLOUD_ENGINE }, parameters: [{ name: 'epochs', value: '1' }] } }),
    jobTimeoutMs: 120_000,
    async cleanup() {
      // What the backend sent is what the reference documents, and nothing it sent was refused for its shape.
      assert.deepEqual(cloud.server.journal.undocumentedFieldReport(), []);
      assert.deepEqual(
        cloud.server.journal.withValidationIssues().map((e) => `${e.method} ${e.path}: ${JSON.stringify(e.validationIssues)}`),
        [],
      );
      await cloud.stop();
      removeFolders();
    },
  };
});
