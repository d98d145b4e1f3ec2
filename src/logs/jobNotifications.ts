/**
 * Tells the user when a job they can see fails or ends abnormally, with "Show Log" and "Show
 * Events"; once per job, only for changes seen live (not for old failures loaded at start).
 */
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { TrainingJob } from '../core/job';
import type { BackendRegistry } from '../backends/backendRegistry';
import { jobKey, type JobRef } from '../backends/jobRef';

export class JobNotifications implements vscode.Disposable {
  private readonly subscription: { dispose(): void };
  private readonly told = new Set<string>();

  constructor(registry: BackendRegistry, private readonly onCompleted: (job: TrainingJob) => void) {
    this.subscription = registry.onDidChangeJob(({ backend, kind, job }) => {
      const key = jobKey({ backend, id: job.metadata.id });
      if (kind !== 'updated' || this.told.has(key)) return;
      const { phase } = job.status;
      if (phase === 'Completed') onCompleted(job);
      if (phase !== 'Failed' && phase !== 'Abnormal') return;
      this.told.add(key);
      void this.tell({ backend, id: job.metadata.id }, job);
    });
  }

  private async tell(ref: JobRef, job: TrainingJob): Promise<void> {
    const failed = job.status.task_statuses.find((s) => s.exit_code !== undefined && s.exit_code !== 0);
    // The task's message adds to the exit code only when it says more than the code itself.
    const more = failed?.message && !/^exited with code -?\d+$/i.test(failed.message.trim()) ? ` (${failed.message})` : '';
    const why = failed ? `${failed.task} exited with code ${failed.exit_code}${more}` : job.status.secondary_phase;
    const choice = await vscode.window.showErrorMessage(`Training job ${job.metadata.name} ${job.status.phase === 'Failed' ? 'failed' : 'ended abnormally'}: ${why}.`, 'Show Log', 'Show Events');
    try {
      if (choice === 'Show Log') await vscode.commands.executeCommand('modelarts.jobs.showLogs', { backend: ref.backend, jobId: ref.id, task: failed?.task ?? job.status.tasks[0] ?? 'worker-0' });
      if (choice === 'Show Events') await vscode.commands.executeCommand('modelarts.jobs.showEvents', { backend: ref.backend, jobId: ref.id });
    } catch (error) {
      // The job may have been deleted meanwhile.
      void vscode.window.showErrorMessage(errorMessage(error));
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
