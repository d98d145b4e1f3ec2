/**
 * Sign In and Sign Out, loaded when first run (most windows never sign in): the build makes
 * src/commands/cloud/signIn.ts dist/sign-in.js, which takes the main bundle's error classes and
 * shares its dist/modelarts.js; in the tests' plain build, the module itself.
 */
import { shareErrorClasses } from '../../storage/sharedClasses';
import type { CommandContext } from '../registry';
import type * as SignIn from './signIn';

let loaded: typeof SignIn | undefined;

function signInModule(): typeof SignIn {
  shareErrorClasses();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('./signIn') as typeof SignIn;
  return loaded;
}

export const signIn = (context: CommandContext, ...args: unknown[]) => signInModule().signIn(context, ...args);
export const signOut = (context: CommandContext, ...args: unknown[]) => signInModule().signOut(context, ...args);
