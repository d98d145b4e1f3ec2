/**
 * What a panel says while its job's backend cannot answer (not registered yet after a reload, still
 * connecting, signed out, unreachable), and the wait for it: a panel restored before its backend
 * fills in once the backend is there instead of claiming the job is gone.
 */
import type { BackendRegistry } from '../backends/backendRegistry';
import type { TrainingBackend } from '../backends/trainingBackend';

/** Why `backend` cannot show its jobs now, in the user's terms; undefined when it can. */
export function backendNotice(backend: TrainingBackend | undefined, id: string): string | undefined {
  if (!backend) return `The backend "${id}" this job ran on is not set up in this window. The panel fills in once it is.`;
  const state = backend.state;
  switch (state.kind) {
    case 'available':
      return undefined;
    case 'connecting':
      return `Connecting to ${backend.displayName}…`;
    case 'needsCredentials':
      return `${backend.displayName} needs you to sign in (${state.reason}). The panel fills in once you have.`;
    case 'unavailable':
      return `${backend.displayName} cannot be reached: ${state.reason}. The panel fills in when it answers again.`;
  }
}

/** Calls `ready` once `id` is registered and available; disposing stops waiting. */
export function whenBackendReady(registry: BackendRegistry, id: string, ready: () => void): { dispose(): void } {
  const check = () => {
    if (backendNotice(registry.get(id), id) !== undefined) return;
    dispose();
    ready();
  };
  const subscriptions = [registry.onDidChangeBackends(check), registry.onDidChangeState(({ backend }) => backend === id && check())];
  const dispose = () => subscriptions.splice(0).forEach((subscription) => subscription.dispose());
  return { dispose };
}
