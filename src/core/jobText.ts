/**
 * Hyperparameters, inputs and outputs as a person types them in one line (`epochs=30 lr=0.01`,
 * `data_url=./data`), and what is wrong with such a line said in the same terms, with the form
 * expected. Programmatic calls and the log keep the spec's field paths (`algorithm.parameters[1]`);
 * an input box says `"30," is not a hyperparameter name …`.
 */
import * as path from 'node:path';
import { parseStoreUrl } from './dataset';
import { parameterSchema, parseParameterList } from './job';

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const NAME_RULE = 'a name starts with a letter or "_" and holds up to 64 letters, digits, ".", "-" or "_"';
const PARAMETERS_FORM = 'Type them as name=value name2=value2, such as epochs=30 lr=0.01 (a name alone is a bare flag).';

/** What is wrong with typed hyperparameters, in the box's terms, or undefined. */
export function hyperparameterTextProblem(text: string): string | undefined {
  const seen = new Set<string>();
  for (const parameter of parseParameterList(text)) {
    if (!NAME_PATTERN.test(parameter.name)) {
      const shown = parameter.name || '=';
      return `"${shown}" is not a hyperparameter name: ${NAME_RULE}. ${PARAMETERS_FORM}`;
    }
    if (seen.has(parameter.name)) return `${parameter.name} is given twice; give each hyperparameter once. ${PARAMETERS_FORM}`;
    seen.add(parameter.name);
    const checked = parameterSchema.safeParse(parameter);
    if (!checked.success) return `The value of ${parameter.name} ${checked.error.issues[0]?.message ?? 'is not allowed'}. ${PARAMETERS_FORM}`;
  }
  return undefined;
}

export interface ChannelText {
  readonly name: string;
  /** As typed: a storage URL, a folder path (absolute or relative), or empty. */
  readonly location: string;
}

/** `name=location` pairs separated by spaces; a bare name has no location. */
export function parseChannelText(text: string): ChannelText[] {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((token) => {
      const eq = token.indexOf('=');
      return eq < 0 ? { name: token, location: '' } : { name: token.slice(0, eq), location: token.slice(eq + 1) };
    });
}

export function formatChannelText(channels: readonly ChannelText[]): string {
  return channels.map(({ name, location }) => (location ? `${name}=${location}` : name)).join(' ');
}

/** A storage URL (obs://, s3://, file://) rather than a path on this machine. */
export function isStoreUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location);
}

/** A typed folder made absolute: relative ones (`./data`, `data`, `../x`) are relative to `base`. */
export function resolveLocalLocation(location: string, base: string | undefined): string {
  if (isStoreUrl(location) || path.isAbsolute(location) || base === undefined) return location;
  return path.resolve(base, location);
}

export interface ChannelTextContext {
  /** Channels that must be given (an algorithm's inputs). */
  readonly required?: readonly string[];
  /** Relative folders are relative to this folder (the workspace folder of the code). */
  readonly base?: string;
  /** Whether a folder exists on this machine; when given, missing folders are reported. */
  readonly folderExists?: (folder: string) => boolean;
}

/** What is wrong with typed inputs or outputs, in the box's terms, or undefined. */
export function channelTextProblem(text: string, kind: 'inputs' | 'outputs', context: ChannelTextContext = {}): string | undefined {
  const what = kind === 'inputs' ? 'input' : 'output';
  const form =
    kind === 'inputs'
      ? 'Type inputs as name=location, such as data_url=obs://bucket/folder/ or data_url=./data (a folder of this machine).'
      : 'Type outputs as name=location, such as train_url=obs://bucket/folder/, or a name alone (train_url) to keep the output with the job.';
  const seen = new Set<string>();
  for (const { name, location } of parseChannelText(text)) {
    if (!NAME_PATTERN.test(name)) return `"${name || '='}" is not an ${what} name: ${NAME_RULE}. ${form}`;
    if (seen.has(name)) return `${name} is given twice; give each ${what} once. ${form}`;
    seen.add(name);
    if (!location) {
      if (kind === 'inputs') return `${name}: say where its data is. ${form}`;
      continue;
    }
    if (isStoreUrl(location)) {
      try {
        parseStoreUrl(location, name);
      } catch (error) {
        const reason = (error as Error).message.replace(/^Storage location is invalid: [^:]*: /, '').replace(/ \(got "[^"]*"\)$/, '');
        return `${name}: ${location} ${reason}. ${form}`;
      }
      continue;
    }
    if (kind === 'outputs') return `${name}: an output is delivered to obs:// or s3:// storage, or kept with the job (a name alone). ${form}`;
    const folder = resolveLocalLocation(location, context.base);
    if (!path.isAbsolute(folder)) return `${name}: ${location} is relative, and there is no workspace folder to resolve it against; give an absolute folder. ${form}`;
    if (context.folderExists && !context.folderExists(folder)) return `${name}: no folder exists at ${folder}. ${form}`;
  }
  const missing = (context.required ?? []).filter((name) => !seen.has(name));
  return missing.length ? `The algorithm needs data for ${missing.join(', ')}: add ${missing.map((n) => `${n}=…`).join(' ')}. ${form}` : undefined;
}
