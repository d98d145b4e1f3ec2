/**
 * The TrainingBackend contract for the local backend on a real Docker engine: the digits example
 * (a few epochs), a tiny failing script, and a long digits run to stop. Docker must be there: the
 * suite fails, never skips, without it.
 */
import { LocalBackend } from '../../src/backends/local/localBackend';
import { DIGITS_DIR, PRESET_ENGINE, jobRequest, makeFolder, recordingLogger, removeContainersOf, removeFolders } from '../support/jobs';
import { describeTrainingBackend } from './trainingBackendContract';

describeTrainingBackend('LocalBackend (real Docker)', async () => {
  const dataDir = makeFolder('contract-data');
  const failing = makeFolder('contract-failing', { 'fail.py': 'import sys\nprint("loading data", flush=True)\nsys.exit(3)\n' });
  // Room for every job of the suite at once (the machine's CPUs are shared, not reserved).
  const backend = new LocalBackend({ dataDir, dockerHost: '', logger: recordingLogger(), capacity: { cpus: 8, memoryGib: 32 }, stopGraceSeconds: 2 });
  return {
    backend,
    completingJob: (name) => jobRequest(name, DIGITS_DIR, 'train.py', [{ name: 'epochs', value: 3 }]),
    epochs: 3,
    failingJob: (name) => jobRequest(name, failing, 'fail.py'),
    longJob: (name) => jobRequest(name, DIGITS_DIR, 'train.py', [{ name: 'epochs', value: 5000 }]),
    algorithm: (name) => ({ metadata: { name }, job_config: { code_dir: DIGITS_DIR, boot_file: 'train.py', engine: { ...PRESET_ENGINE }, parameters: [{ name: 'epochs', value: '1' }] } }),
    jobTimeoutMs: 90_000,
    async cleanup() {
      backend.dispose();
      await removeContainersOf(backend);
      removeFolders();
    },
  };
});
