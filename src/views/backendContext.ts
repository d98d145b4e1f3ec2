/**
 * What the window shows about its backends outside the trees: the context keys the views' welcome
 * content and menus match (`modelarts.backendState` — the only backend's state, or `available` when
 * roots show each one's —, `modelarts.severalBackends`), and what happens once a backend is first
 * available after a reload: its followed logs come back, and the walkthrough learns the engine
 * answers and whether a job has completed.
 */
import * as vscode from 'vscode';
import type { BackendRegistry } from '../backends/backendRegistry';
import { LOCAL_BACKEND_ID } from '../backends/jobRef';
import type { Logger } from '../core/logger';
import type { JobLogChannels } from '../logs/jobLogChannels';
import type { JobsModel } from './jobsModel';
import type { WalkthroughProgress } from './walkthrough';

export class BackendContext implements vscode.Disposable {
  private readonly restored = new Set<string>();
  private readonly subscriptions: Array<{ dispose(): void }>;

  constructor(
    private readonly registry: BackendRegistry,
    private readonly jobs: JobsModel,
    private readonly jobLogs: JobLogChannels,
    private readonly walkthrough: WalkthroughProgress,
    private readonly log: Logger,
  ) {
    this.subscriptions = [registry.onDidChangeState(() => this.update()), registry.onDidChangeBackends(() => this.update())];
    this.update();
  }

  private update(): void {
    const backends = this.registry.list();
    const single = backends.length === 1 ? backends[0] : undefined;
    const state = single ? single.state.kind : backends.some((backend) => backend.state.kind === 'available') ? 'available' : (backends[0]?.state.kind ?? 'unavailable');
    void vscode.commands.executeCommand('setContext', 'modelarts.backendState', state);
    void vscode.commands.executeCommand('setContext', 'modelarts.severalBackends', backends.length > 1);
    for (const backend of backends) {
      if (backend.state.kind !== 'available') continue;
      if (backend.id === LOCAL_BACKEND_ID) this.walkthrough.complete('engine');
      if (this.restored.has(backend.id)) continue;
      this.restored.add(backend.id);
      void this.jobLogs.restore(backend.id).then((count) => count && this.log.info(`Following ${count} job log(s) of ${backend.displayName} again after the reload`));
      // The jobs model is loading them already (it listens first): this waits for that load.
      void this.jobs.reload(backend.id).then(() => {
        if (this.jobs.list(backend.id).some((job) => job.status.phase === 'Completed')) this.walkthrough.complete('completed');
      });
    }
  }

  dispose(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.dispose();
  }
}
