/**
 * The training job life cycle as ModelArts defines it: phases, the legal transitions between them,
 * and which user actions each phase allows. Pure data and functions, shared by every engine and the UI.
 */

export const JOB_PHASES = [
  'Creating',
  'Pending',
  'Running',
  'Failed',
  'Completed',
  'Terminating',
  'Terminated',
  'Abnormal',
] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

/** ModelArts' level-2 status; a level-1 phase name is also a valid secondary phase. */
export const SECONDARY_PHASES = [
  ...JOB_PHASES,
  'Queuing',
  'CreateFailed',
  'TerminatedFailed',
  'Unknown',
  'Lost',
] as const;
export type SecondaryPhase = (typeof SECONDARY_PHASES)[number];

const TERMINAL: ReadonlySet<JobPhase> = new Set(['Failed', 'Completed', 'Terminated', 'Abnormal']);

/**
 * Legal transitions. Running may go back to Pending when a fault-tolerant job is restarted;
 * any live phase may end Abnormal when its containers vanish underneath the engine.
 */
const TRANSITIONS: Readonly<Record<JobPhase, readonly JobPhase[]>> = {
  Creating: ['Pending', 'Running', 'Failed', 'Terminating', 'Terminated', 'Abnormal'],
  Pending: ['Running', 'Failed', 'Terminating', 'Terminated', 'Abnormal'],
  Running: ['Completed', 'Failed', 'Terminating', 'Pending', 'Abnormal'],
  Terminating: ['Terminated', 'Completed', 'Failed', 'Abnormal'],
  Failed: [],
  Completed: [],
  Terminated: [],
  Abnormal: [],
};

export function isTerminalPhase(phase: JobPhase): boolean {
  return TERMINAL.has(phase);
}

export function canTransition(from: JobPhase, to: JobPhase): boolean {
  return TRANSITIONS[from].includes(to);
}

export const JOB_ACTIONS = ['stop', 'delete', 'copy', 'saveAsAlgorithm', 'showLogs', 'showEvents'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

const ACTION_PHASES: Readonly<Record<JobAction, readonly JobPhase[]>> = {
  // ModelArts allows stop only while Creating, Pending or Running.
  stop: ['Creating', 'Pending', 'Running'],
  // Delete only once nothing runs any more.
  delete: ['Failed', 'Completed', 'Terminated', 'Abnormal'],
  copy: JOB_PHASES,
  saveAsAlgorithm: JOB_PHASES,
  // Before a job starts its log channel waits for the first line.
  showLogs: JOB_PHASES,
  showEvents: JOB_PHASES,
};

export function isActionAllowed(action: JobAction, phase: JobPhase): boolean {
  return ACTION_PHASES[action].includes(phase);
}

export function allowedActions(phase: JobPhase): JobAction[] {
  return JOB_ACTIONS.filter((action) => isActionAllowed(action, phase));
}

const ACTION_WORDS: Readonly<Record<JobAction, string>> = {
  stop: 'stopped',
  delete: 'deleted',
  copy: 'copied',
  saveAsAlgorithm: 'saved as an algorithm',
  showLogs: 'shown',
  showEvents: 'shown',
};

/** Why `action` is refused in `phase`, in the console's words, or undefined when it is allowed. */
export function actionRefusal(action: JobAction, phase: JobPhase, jobName: string): string | undefined {
  if (isActionAllowed(action, phase)) return undefined;
  return `Training job ${jobName} is ${phase}; it can be ${ACTION_WORDS[action]} only while ${ACTION_PHASES[action].join(', ').replace(/, ([^,]*)$/, ' or $1')}.`;
}
