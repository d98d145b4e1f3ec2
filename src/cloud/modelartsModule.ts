/**
 * The ModelArts backend's code, evaluated when the first account needs it rather than at
 * activation: most windows have no ModelArts account, and the backend (client, signer, schemas,
 * watcher, log tail, uploads) is a tenth of the bundle. The build makes it dist/modelarts.js,
 * required here on first use (in the tests' plain build, the module itself).
 */
import { shareErrorClasses } from '../storage/sharedClasses';
import type * as Backend from '../backends/modelarts/modelartsBackend';

let loaded: typeof Backend | undefined;

/** The backend module: its class and the checks of settings and keys. */
export function modelArts(): typeof Backend {
  shareErrorClasses();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('../backends/modelarts/modelartsBackend') as typeof Backend;
  return loaded;
}
