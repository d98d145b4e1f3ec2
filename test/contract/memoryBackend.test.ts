/** The TrainingBackend contract for the in-memory backend: scripted jobs, no Docker. */
import type { JobCreateRequest } from '../../src/core/job';
import { MemoryBackend } from '../support/memoryBackend';
import { PRESET_ENGINE } from '../support/jobs';
import { describeTrainingBackend } from './trainingBackendContract';

const CODE_DIR = 'obs://contract/code/digits/';

function job(name: string, parameters: Array<{ name: string; value: string }>): JobCreateRequest {
  return { kind: 'job', metadata: { name }, algorithm: { code_dir: CODE_DIR, boot_file: 'train.py', engine: { ...PRESET_ENGINE }, parameters } };
}

describeTrainingBackend('MemoryBackend', async () => {
  const backend = new MemoryBackend({ stepMs: 10 });
  return {
    backend,
    completingJob: (name) => job(name, [{ name: 'epochs', value: '5' }]),
    epochs: 5,
    // Fails as train.py would: argparse refuses the value (exit code 2).
    failingJob: (name) => job(name, [{ name: 'epochs', value: 'ten' }]),
    longJob: (name) => job(name, [{ name: 'sleep_ms', value: '600000' }]),
    algorithm: (name) => ({ metadata: { name }, job_config: { code_dir: CODE_DIR, boot_file: 'train.py', engine: { ...PRESET_ENGINE }, parameters: [{ name: 'epochs', value: '2' }] } }),
    jobTimeoutMs: 5_000,
    async cleanup() {
      backend.dispose();
    },
  };
});
