import type * as vscode from 'vscode';
import { createApi, type ModelArtsApi } from './api';
import { registerCommands } from './commands/registry';
import { createServices } from './services';

export function activate(context: vscode.ExtensionContext): ModelArtsApi {
  const started = performance.now();
  const services = createServices(context);
  context.subscriptions.push(services, ...registerCommands(services));
  // Connecting may take a while (or fail); the views show "Connecting…" meanwhile.
  void services.engine.connect().then((state) =>
    services.log.info(`Training engine: ${services.engine.displayName} at ${state.kind === 'connecting' ? '?' : state.endpoint} is ${state.kind}`),
  );
  services.log.info(`ModelArts Training activated in ${(performance.now() - started).toFixed(1)} ms`);
  return createApi(services);
}
