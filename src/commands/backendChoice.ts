/**
 * Which backend a command works on: named in its arguments (`{backend}`, refused naming it when it
 * is not configured), taken from the tree node it was started from, the only one there is, or —
 * interactively with several — asked with a "Run on" step (available ones first, each with its state).
 */
import * as vscode from 'vscode';
import { z } from 'zod';
import { backendIdSchema, LOCAL_BACKEND_ID } from '../backends/jobRef';
import type { TrainingBackend } from '../backends/trainingBackend';
import type { Services } from '../services';
import { BACK, pickStep, type StepPosition } from './multiStep';

const backendOptionSchema = z.looseObject({ backend: backendIdSchema.optional() });

/** The backend an options argument names (`{backend}`); the local one when it names none. */
export function backendOption(services: Services, options: unknown): TrainingBackend {
  const parsed = backendOptionSchema.safeParse(options ?? {});
  const id = parsed.success ? parsed.data.backend : undefined;
  return services.backends.require(id ?? LOCAL_BACKEND_ID);
}

/** Whether there is a choice to make. */
export function severalBackends(services: Services): boolean {
  return services.backends.size > 1;
}

function describeState(backend: TrainingBackend): string {
  const state = backend.state;
  return state.kind === 'available' ? 'available' : state.kind === 'connecting' ? 'connecting…' : state.kind === 'needsCredentials' ? `sign-in needed: ${state.reason}` : `not reachable: ${state.reason}`;
}

/** The "Run on" step of a flow; resolves with the backend or BACK. */
export async function backendStep(services: Services, position: StepPosition, label: string, current: TrainingBackend | undefined): Promise<TrainingBackend | typeof BACK> {
  const backends = [...services.backends.list()].sort((a, b) => Number(b.state.kind === 'available') - Number(a.state.kind === 'available'));
  const items = backends.map((backend) => ({ label: `$(${backend.icon}) ${backend.displayName}`, description: describeState(backend), detail: backend.id, backend }));
  const picked = await pickStep({ position, label, items, active: items.find((item) => item.backend === current) ?? items[0], placeholder: 'Where the job runs' });
  return picked === BACK ? BACK : picked.backend;
}

/** Asks which backend, when there are several (outside a multi-step flow). */
export async function pickBackend(services: Services, title: string): Promise<TrainingBackend | undefined> {
  if (!severalBackends(services)) return services.backends.list()[0];
  const picked = await vscode.window.showQuickPick(
    services.backends.list().map((backend) => ({ label: `$(${backend.icon}) ${backend.displayName}`, description: describeState(backend), backend })),
    { title, placeHolder: 'Which backend?' },
  );
  return picked?.backend;
}
