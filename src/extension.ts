import type * as vscode from 'vscode';
import type { BootInfo } from './boot';
import { createApi, type ModelArtsApi } from './api';
import { registerCommands } from './commands/registry';
import { createServices } from './services';

/** Kept for deactivate(): the dev containers must be gone before the extension host exits. */
let active: { readonly removeDevContainers: () => Promise<void> } | undefined;

export function activate(context: vscode.ExtensionContext, boot?: BootInfo): ModelArtsApi {
  const started = performance.now();
  const services = createServices(context);
  active = { removeDevContainers: () => services.local.devContainers.removeAll() };
  context.subscriptions.push(services, ...registerCommands(services));
  // Connecting may take a while (or fail); the views show "Connecting…" meanwhile.
  for (const backend of services.backends.list()) {
    void backend.connect().then((state) =>
      services.log.info(`Backend ${backend.displayName} at ${state.kind === 'connecting' ? '?' : state.endpoint} is ${state.kind}`),
    );
  }
  const loading = boot ? ` after loading for ${boot.loadMs.toFixed(1)} ms (code cache: ${boot.codeCache})` : '';
  services.log.info(`ModelArts Training activated in ${(performance.now() - started).toFixed(1)} ms${loading}`);
  return createApi(services);
}

/** VS Code waits for this (a few seconds at most) before it ends the extension host. */
export async function deactivate(): Promise<void> {
  await active?.removeDevContainers();
  active = undefined;
}
