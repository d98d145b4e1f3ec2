/**
 * Multi-step QuickPick flows with a Back button, the same in every command: each step is a function
 * over the flow's state, shown as "Title: step (3/9)" with a total that never changes. A step that
 * does not apply, or decides by itself (one boot file, one engine), still counts, as done, and is
 * passed over again on the way back. Closing any step cancels the whole flow silently.
 */
import * as vscode from 'vscode';
import { CancelledError } from '../core/errors';

export const BACK = Symbol('back');
export const SKIPPED = Symbol('skipped');
export type StepOutcome = void | typeof BACK | typeof SKIPPED;

export interface StepPosition {
  readonly title: string;
  readonly step: number;
  readonly totalSteps: number;
}

export interface Step<S> {
  /** Steps that do not apply to this state (an algorithm has its own engine) are passed over, counted as done. */
  readonly applies?: (state: S) => boolean;
  readonly run: (state: S, position: StepPosition) => Promise<StepOutcome>;
}

/** Runs the steps in order; Back returns to the last step that was shown. */
export async function runSteps<S>(title: string, state: S, steps: ReadonlyArray<Step<S>>): Promise<S> {
  const shown: number[] = [];
  let index = 0;
  while (index < steps.length) {
    const step = steps[index] as Step<S>;
    if (step.applies && !step.applies(state)) {
      index++;
      continue;
    }
    const outcome = await step.run(state, { title, step: index + 1, totalSteps: steps.length });
    if (outcome === BACK) {
      index = shown.pop() ?? 0;
      continue;
    }
    if (outcome !== SKIPPED) shown.push(index);
    index++;
  }
  return state;
}

interface Common {
  readonly position: StepPosition;
  readonly label: string;
  readonly placeholder?: string;
}

/** The first step has nothing to go back to. */
function backButton(position: StepPosition, shownBefore: boolean): vscode.QuickInputButton[] {
  return position.step > 1 || shownBefore ? [vscode.QuickInputButtons.Back] : [];
}

/** One QuickPick step; resolves with the picked item (or the picked items) or BACK. */
export function pickStep<T extends vscode.QuickPickItem>(
  options: Common & {
    readonly items: readonly T[];
    readonly active?: T;
    readonly matchOnDescription?: boolean;
    /** A Back button although the step is the first one shown (a flow that started elsewhere). */
    readonly back?: boolean;
  },
): Promise<T | typeof BACK> {
  const pick = vscode.window.createQuickPick<T>();
  pick.title = `${options.position.title}: ${options.label}`;
  pick.step = options.position.step;
  pick.totalSteps = options.position.totalSteps;
  pick.items = options.items;
  if (options.active) pick.activeItems = [options.active];
  pick.placeholder = options.placeholder;
  pick.matchOnDescription = options.matchOnDescription ?? true;
  pick.ignoreFocusOut = true;
  pick.buttons = backButton(options.position, options.back === true);
  return settle(pick, (resolve) => [
    pick.onDidAccept(() => {
      const [picked] = pick.selectedItems;
      if (picked) resolve(picked);
    }),
  ]);
}

/** A QuickPick step where several items may be picked; resolves with them (possibly none) or BACK. */
export function pickManyStep<T extends vscode.QuickPickItem>(
  options: Common & { readonly items: readonly T[]; readonly selected: readonly T[]; readonly back?: boolean },
): Promise<readonly T[] | typeof BACK> {
  const pick = vscode.window.createQuickPick<T>();
  pick.title = `${options.position.title}: ${options.label}`;
  pick.step = options.position.step;
  pick.totalSteps = options.position.totalSteps;
  pick.canSelectMany = true;
  pick.items = options.items;
  pick.selectedItems = options.selected;
  pick.placeholder = options.placeholder;
  pick.ignoreFocusOut = true;
  pick.buttons = backButton(options.position, options.back === true);
  return settle(pick, (resolve) => [pick.onDidAccept(() => resolve([...pick.selectedItems]))]);
}

/** What a check of the typed text says: a problem that blocks the step, or a warning that does not. */
export type InputProblem = string | { readonly warning: string } | undefined;

/** A button beside the box (Browse…): it may replace the text; the box comes back afterwards. */
export interface InputAction {
  readonly iconPath: vscode.ThemeIcon;
  readonly tooltip: string;
  /** Resolves with the new text, or undefined to leave it as it is. */
  readonly run: (value: string) => Promise<string | undefined>;
}

/** One InputBox step; resolves with the text or BACK. */
export function inputStep(
  options: Common & {
    readonly value?: string;
    readonly prompt?: string;
    readonly validate?: (value: string) => InputProblem;
    readonly actions?: readonly InputAction[];
    readonly back?: boolean;
    /** Typed text is hidden (a secret key, a password). */
    readonly password?: boolean;
  },
): Promise<string | typeof BACK> {
  const input = vscode.window.createInputBox();
  input.password = options.password === true;
  input.title = `${options.position.title}: ${options.label}`;
  input.step = options.position.step;
  input.totalSteps = options.position.totalSteps;
  input.value = options.value ?? '';
  input.prompt = options.prompt;
  input.placeholder = options.placeholder;
  input.ignoreFocusOut = true;
  const actions = new Map((options.actions ?? []).map((action) => [{ iconPath: action.iconPath, tooltip: action.tooltip } as vscode.QuickInputButton, action]));
  input.buttons = [...backButton(options.position, options.back === true), ...actions.keys()];
  const check = (value: string): boolean => {
    const problem = options.validate?.(value);
    if (typeof problem === 'string') input.validationMessage = { message: problem, severity: vscode.InputBoxValidationSeverity.Error };
    else if (problem) input.validationMessage = { message: problem.warning, severity: vscode.InputBoxValidationSeverity.Warning };
    else input.validationMessage = undefined;
    return typeof problem !== 'string';
  };
  check(input.value);
  return settle(
    input,
    (resolve) => [
      input.onDidChangeValue(check),
      input.onDidAccept(() => {
        if (check(input.value)) resolve(input.value);
      }),
    ],
    async (button) => {
      const action = actions.get(button);
      if (!action) return;
      const value = await action.run(input.value);
      if (value !== undefined) input.value = value;
      check(input.value);
    },
  );
}

/** The keys of a flow's state that hold text. */
type TextField<S> = { [K in keyof S]-?: S[K] extends string ? K : never }[keyof S];

/** A step that edits one text field of the flow's state in an InputBox (its current value prefilled). */
export function textStep<S>(field: TextField<S>, options: Omit<Parameters<typeof inputStep>[0], 'position' | 'value'>): Step<S> {
  return {
    run: async (state, position) => {
      const value = await inputStep({ ...options, position, value: state[field] as string });
      if (value === BACK) return BACK;
      (state as Record<TextField<S>, string>)[field] = value;
      return undefined;
    },
  };
}

/**
 * Resolves with what `listen` resolves, BACK on the Back button, or rejects (cancelled) when the
 * widget is closed. While a button's own work runs (a folder dialog, another pick), the widget may
 * be hidden by it: that is not a cancel, and the widget is shown again afterwards.
 */
function settle<R>(
  widget: vscode.QuickPick<vscode.QuickPickItem> | vscode.InputBox,
  listen: (resolve: (value: R) => void) => vscode.Disposable[],
  onButton?: (button: vscode.QuickInputButton) => Promise<void>,
): Promise<R | typeof BACK> {
  return new Promise<R | typeof BACK>((resolve, reject) => {
    let done = false;
    let busy = false;
    const finish = (action: () => void) => {
      if (done) return;
      done = true;
      for (const subscription of subscriptions) subscription.dispose();
      widget.dispose();
      action();
    };
    const subscriptions = [
      ...listen((value) => finish(() => resolve(value))),
      widget.onDidTriggerButton((button) => {
        if (button === vscode.QuickInputButtons.Back) {
          finish(() => resolve(BACK));
          return;
        }
        if (!onButton || busy) return;
        busy = true;
        void onButton(button)
          .catch((error: unknown) => void vscode.window.showErrorMessage(error instanceof Error ? error.message : String(error)))
          .finally(() => {
            busy = false;
            if (!done) widget.show();
          });
      }),
      widget.onDidHide(() => {
        if (!busy) finish(() => reject(new CancelledError(widget.title ?? 'The step')));
      }),
    ];
    widget.show();
  });
}
