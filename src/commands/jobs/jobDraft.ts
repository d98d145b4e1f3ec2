/**
 * What a person already chose before "Create Training Job" asks the rest: a dataset to use as an
 * input, an algorithm to start from, a code folder. Passing one starts the interactive flow with it
 * filled in (a plain object would be a spec to create without asking).
 */
export interface JobDraftSeed {
  readonly codeDir?: string;
  readonly bootFile?: string;
  /** Start from this algorithm: its code, boot file, engine, parameters and channels. */
  readonly algorithmId?: string;
  /** The backend to run on (an algorithm's, a job spec file's); asked when there are several and none is given. */
  readonly backend?: string;
  /** Inputs filled in, as `{name, url}` with an obs:// or s3:// URL or a local folder. */
  readonly inputs?: ReadonlyArray<{ readonly name: string; readonly url: string }>;
}

export class JobDraft {
  constructor(readonly seed: JobDraftSeed) {}
}
