/**
 * A second extension for the UI suite (test/fixtures/lab-backend): it adds an in-memory backend,
 * "Lab", through the ModelArts API as any other extension would. Its ended jobs are kept in the
 * window's workspace state, so they outlive a reload as a real backend's would; a window that
 * opens with such jobs finds Lab closed (unreachable) until "Lab: Connect", so a restored panel
 * meets a backend that cannot answer yet, every time.
 */
import * as vscode from 'vscode';
import type { ModelArtsApi, TrainingJob } from '../../src/api';
import { isTerminalPhase } from '../../src/core/lifecycle';
import { MemoryBackend } from './memoryBackend';

const JOBS_KEY = 'lab.jobs';

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const modelarts = vscode.extensions.getExtension<ModelArtsApi>('modelarts-training.modelarts-training');
  if (!modelarts) throw new Error('the ModelArts extension is not installed');
  const api = await modelarts.activate();
  const backend = new MemoryBackend({ id: 'lab', displayName: 'Lab', stepMs: 150 });
  const kept = context.workspaceState.get<TrainingJob[]>(JOBS_KEY, []);
  backend.seedJobs(kept);
  if (kept.length) backend.setUnavailable('the lab is closed; run "Lab: Connect"');
  const saving = backend.onDidChangeJob(() => {
    void backend.listJobs().then((jobs) => context.workspaceState.update(JOBS_KEY, jobs.filter((job) => isTerminalPhase(job.status.phase))));
  });
  context.subscriptions.push(
    { dispose: () => (saving.dispose(), backend.dispose()) },
    vscode.commands.registerCommand('modelartsLab.connect', () => backend.setAvailable()),
    api.backends.register(backend),
  );
}

export function deactivate(): void {}
