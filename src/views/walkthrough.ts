/**
 * Ticks the Getting Started walkthrough's steps as the workflow happens: the engine answers, a
 * folder is open, a dev session starts, a job is created, its log is followed (by a command or by
 * itself), a job completes.
 *
 * The steps' `completionEvents` alone do not tick reliably: VS Code registers an extension's
 * walkthrough only after a delay (up to 5 s when no experiment service answers, as offline), and a
 * context that already holds at registration is recorded without ticking its step — and never
 * ticks it later in that window. So each condition marks its step itself
 * (`welcome.markStepComplete`, which stores the step as done even before the walkthrough is
 * registered), and the completion events stay as the fallback.
 */
import * as vscode from 'vscode';
import type { Logger } from '../core/logger';

export const WALKTHROUGH_ID = 'modelarts-training.modelarts-training#modelarts.gettingStarted';
export const WALKTHROUGH_STEPS = ['engine', 'code', 'debug', 'create', 'logs', 'completed'] as const;
export type WalkthroughStep = (typeof WALKTHROUGH_STEPS)[number];

/** Context keys the steps' completion events watch (set only once the condition holds). */
const CONTEXT_KEYS: Readonly<Record<WalkthroughStep, string>> = {
  engine: 'modelarts.walkthrough.engine',
  code: 'modelarts.walkthrough.code',
  debug: 'modelarts.walkthrough.debug',
  create: 'modelarts.walkthrough.create',
  logs: 'modelarts.walkthrough.logs',
  completed: 'modelarts.hasCompletedJob',
};

const RETRY_MS = [2000, 6000, 15000];

export class WalkthroughProgress implements vscode.Disposable {
  private readonly done = new Set<WalkthroughStep>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly log: Logger) {
    const folders = () => {
      if ((vscode.workspace.workspaceFolders ?? []).length > 0) this.complete('code');
    };
    folders();
    this.subscriptions.push(vscode.workspace.onDidChangeWorkspaceFolders(folders));
  }

  /** Marks a step done (once per window; the walkthrough keeps it done afterwards). */
  complete(step: WalkthroughStep): void {
    if (this.done.has(step)) return;
    this.done.add(step);
    void vscode.commands.executeCommand('setContext', CONTEXT_KEYS[step], true);
    this.mark(step, 0);
  }

  /** Steps this window has marked (for tests). */
  get completed(): readonly WalkthroughStep[] {
    return WALKTHROUGH_STEPS.filter((step) => this.done.has(step));
  }

  private mark(step: WalkthroughStep, attempt: number): void {
    vscode.commands.executeCommand('welcome.markStepComplete', `${WALKTHROUGH_ID}#${step}`).then(undefined, (error: unknown) => {
      // Before the walkthrough is registered the step is stored but the command reports it unknown:
      // mark it again once registration has had time to happen.
      const delay = RETRY_MS[attempt];
      if (delay === undefined) {
        this.log.debug(`Walkthrough step ${step}: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.mark(step, attempt + 1);
      }, delay);
      this.timers.add(timer);
    });
  }

  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}
