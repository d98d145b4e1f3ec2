/**
 * Tells the user when a job they can see fails or ends abnormally, with "Show Log" and "Show
 * Events"; once per job, only for changes seen live (not for old failures loaded at start).
 */
import * as vscode from 'vscode';
import { errorMessage } from '../core/errors';
import type { TrainingJob } from '../core/job';
import type { TrainingBackend } from '../backends/trainingBackend';

export class JobNotifications implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;
  private readonly told = new Set<string>();

  constructor(engine: TrainingBackend, private readonly onCompleted: (job: TrainingJob) => void) {
    this.subscription = engine.onDidChangeJob(({ kind, job }) => {
      if (kind !== 'updated' || this.told.has(job.metadata.id)) return;
      const { phase } = job.status;
      if (phase === 'Completed') onCompleted(job);
      if (phase !== 'Failed' && phase !== 'Abnormal') return;
      this.told.add(job.metadata.id);
      void this.tell(job);
    });
  }

  private async tell(job: TrainingJob): Promise<void> {
    const failed = job.status.task_statuses.find((s) => s.exit_code !== undefined && s.exit_code !== 0);
    // The task's message adds to the exit code only when it says more than the code itself.
    const more = failed?.message && !/^exited with code -?\d+$/i.test(failed.message.trim()) ? ` (${failed.message})` : '';
    const why = failed ? `${failed.task} exited with code ${failed.exit_code}${more}` : job.status.secondary_phase;
    const choice = await vscode.window.showErrorMessage(`Training job ${job.metadata.name} ${job.status.phase === 'Failed' ? 'failed' : 'ended abnormally'}: ${why}.`, 'Show Log', 'Show Events');
    try {
      if (choice === 'Show Log') await vscode.commands.executeCommand('modelarts.jobs.showLogs', job.metadata.id, failed?.task ?? job.status.tasks[0] ?? 'worker-0');
      if (choice === 'Show Events') await vscode.commands.executeCommand('modelarts.jobs.showEvents', job.metadata.id);
    } catch (error) {
      // The job may have been deleted meanwhile.
      void vscode.window.showErrorMessage(errorMessage(error));
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
