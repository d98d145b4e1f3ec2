/**
 * Registers every command from one table, through one wrapper. A command runs in one of two modes:
 * interactive (from the palette, a menu or a tree item) where it may ask with QuickPicks and shows
 * errors with a "Show Log" action; or programmatic (called with an id or a spec object) where it
 * never asks, returns its result and rejects with a clear error. A cancel is silent in both.
 */
import * as vscode from 'vscode';
import { ModelArtsError, errorMessage, isCancellation } from '../core/errors';
import type { Services } from '../services';
import { TreeNode } from '../views/treeNode';
import { createJobFromAlgorithm, deleteAlgorithm, editAlgorithm, refreshAlgorithms } from './algorithms/algorithms';
import { createAlgorithm } from './algorithms/createAlgorithm';
import { copyJob } from './jobs/copyJob';
import { debugInDevContainer, openDevContainerShell, promoteToJob, runInDevContainer } from './debug/debug';
import { createJob, createJobFromDraft } from './jobs/createJob';
import { deleteJob } from './jobs/deleteJob';
import { clearJobsFilter, filterJobs, loadMoreJobs } from './jobs/filterJobs';
import { openFullLog } from './jobs/openFullLog';
import { addOutputToWorkspace, downloadOutput, openOutput, openOutputFile, openOutputFolder, revealOutput } from './jobs/jobOutputs';
import { saveJobAsAlgorithm } from './jobs/saveJobAsAlgorithm';
import { showEvents } from './jobs/showEvents';
import { compareMetrics, showJobDetails } from './jobs/jobDetails';
import { stopJob } from './jobs/stopJob';
import {
  copyDatasetUrl,
  deleteFromDatasets,
  downloadFromDatasets,
  loadMoreDatasets,
  refreshDatasets,
  uploadToDatasets,
  useDatasetAsInput,
} from './datasets/datasets';
import { JobDraft } from './jobs/jobDraft';
import { refreshJobs } from './jobs/refreshJobs';
import { setStorageCredentials } from './datasets/setStorageCredentials';
import { showLogs } from './jobs/showLogs';
import { signIn, signOut } from './cloud/signInModule';
import { runOnBackend } from './jobs/runOnBackend';
import { debugLocally } from './debug/debugLocally';

export interface CommandContext {
  readonly services: Services;
  /** Started by a person (palette, menu, tree item), so it may ask and show messages. */
  readonly interactive: boolean;
}

export type Command = (context: CommandContext, ...args: unknown[]) => Promise<unknown>;

export const COMMANDS: Readonly<Record<string, Command>> = {
  'modelarts.jobs.create': createJob,
  'modelarts.jobs.createFromDraft': createJobFromDraft,
  'modelarts.jobs.stop': stopJob,
  'modelarts.jobs.copy': copyJob,
  'modelarts.jobs.runOn': runOnBackend,
  'modelarts.jobs.debugLocally': debugLocally,
  'modelarts.jobs.delete': deleteJob,
  'modelarts.jobs.saveAsAlgorithm': saveJobAsAlgorithm,
  'modelarts.jobs.showLogs': showLogs,
  'modelarts.jobs.openFullLog': openFullLog,
  'modelarts.jobs.showEvents': showEvents,
  'modelarts.jobs.showDetails': showJobDetails,
  'modelarts.jobs.compareMetrics': compareMetrics,
  'modelarts.jobs.revealOutput': revealOutput,
  'modelarts.jobs.openOutput': openOutput,
  'modelarts.jobs.openOutputFile': openOutputFile,
  'modelarts.jobs.openOutputFolder': openOutputFolder,
  'modelarts.jobs.addOutputToWorkspace': addOutputToWorkspace,
  'modelarts.jobs.downloadOutput': downloadOutput,
  'modelarts.jobs.refresh': refreshJobs,
  'modelarts.jobs.filter': filterJobs,
  'modelarts.jobs.clearFilter': clearJobsFilter,
  'modelarts.jobs.loadMore': loadMoreJobs,
  'modelarts.showLog': showExtensionLog,
  'modelarts.openWalkthrough': openWalkthrough,
  'modelarts.storage.setCredentials': setStorageCredentials,
  'modelarts.cloud.signIn': signIn,
  'modelarts.cloud.signOut': signOut,
  'modelarts.datasets.upload': uploadToDatasets,
  'modelarts.datasets.download': downloadFromDatasets,
  'modelarts.datasets.delete': deleteFromDatasets,
  'modelarts.datasets.copyUrl': copyDatasetUrl,
  'modelarts.datasets.useAsInput': useDatasetAsInput,
  'modelarts.datasets.refresh': refreshDatasets,
  'modelarts.datasets.loadMore': loadMoreDatasets,
  'modelarts.algorithms.create': createAlgorithm,
  'modelarts.algorithms.edit': editAlgorithm,
  'modelarts.algorithms.delete': deleteAlgorithm,
  'modelarts.algorithms.createJob': createJobFromAlgorithm,
  'modelarts.algorithms.refresh': refreshAlgorithms,
  'modelarts.debug.start': debugInDevContainer,
  'modelarts.debug.run': runInDevContainer,
  'modelarts.debug.promote': promoteToJob,
  'modelarts.debug.openShell': openDevContainerShell,
};

/** Reveals the extension's own log (what failed and why). */
async function showExtensionLog({ services }: CommandContext): Promise<{ channel: string }> {
  services.log.show(true);
  return { channel: services.log.name };
}

/** Opens the Getting Started walkthrough; returns its id. */
async function openWalkthrough(): Promise<{ walkthrough: string }> {
  const walkthrough = 'modelarts-training.modelarts-training#modelarts.gettingStarted';
  await vscode.commands.executeCommand('workbench.action.openWalkthrough', walkthrough, false);
  return { walkthrough };
}

/** Menus pass tree nodes and URIs (and views pass drafts); other code passes ids and spec objects. */
export function isInteractive(args: readonly unknown[]): boolean {
  const first = args[0];
  return first === undefined || first instanceof TreeNode || first instanceof vscode.Uri || first instanceof JobDraft;
}

/**
 * What a toolbar button hands its command when it has nothing to say: the debug toolbar (floating,
 * in code-server and desktop VS Code 1.100 alike) runs its actions with the click event as their
 * context, which reaches the extension host as `{isTrusted: true}` or as `null` (both seen in
 * code-server 4.100.3, from one button). Such an argument is no argument: the command runs as
 * from the palette.
 */
export function isUiEventResidue(arg: unknown): boolean {
  if (arg === null) return true;
  if (typeof arg !== 'object' || Array.isArray(arg) || arg instanceof TreeNode || arg instanceof vscode.Uri) return false;
  const keys = Object.keys(arg);
  return keys.length > 0 && keys.every((key) => key === 'isTrusted');
}

/** Commands to which `null` is a real argument (it forgets the storage credentials); none is on a toolbar. */
const NULL_IS_AN_ARGUMENT = new Set(['modelarts.storage.setCredentials']);

export function registerCommands(services: Services): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, command]) =>
    vscode.commands.registerCommand(id, async (...given: unknown[]) => {
      const args = given.length && isUiEventResidue(given[0]) && !(given[0] === null && NULL_IS_AN_ARGUMENT.has(id)) ? given.slice(1) : given;
      const interactive = isInteractive(args);
      services.log.debug(`${id} (${interactive ? 'interactive' : 'programmatic'})`);
      try {
        return await command({ services, interactive }, ...args);
      } catch (error) {
        if (isCancellation(error)) {
          services.log.debug(`${id} cancelled`);
          return undefined;
        }
        // Refused input and phase errors are expected: their message says it all. Anything else is a bug.
        if (error instanceof ModelArtsError) services.log.warn(`${id}: ${error.message}`);
        else services.log.error(`${id} failed: ${error instanceof Error && error.stack ? error.stack : errorMessage(error)}`);
        if (!interactive) throw error;
        void vscode.window.showErrorMessage(errorMessage(error), 'Show Log').then((choice) => {
          if (choice) services.log.show(true);
        });
        return undefined;
      }
    }),
  );
}
