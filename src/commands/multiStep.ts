/**
 * Multi-step QuickPick flows with a Back button: each step is a function over the flow's state,
 * shown as "Title (2/7)". A step that decides by itself (one boot file, one engine) answers SKIPPED
 * and is passed over again on the way back. Closing any step cancels the whole flow silently.
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
  /** Steps that do not apply to this state (an algorithm has its own engine) are left out. */
  readonly applies?: (state: S) => boolean;
  readonly run: (state: S, position: StepPosition) => Promise<StepOutcome>;
}

export async function runSteps<S>(title: string, state: S, steps: ReadonlyArray<Step<S>>): Promise<S> {
  const shown: number[] = [];
  let index = 0;
  while (index < steps.length) {
    const step = steps[index] as Step<S>;
    if (step.applies && !step.applies(state)) {
      index++;
      continue;
    }
    const remaining = steps.slice(index).filter((s) => !s.applies || s.applies(state)).length;
    const outcome = await step.run(state, { title, step: shown.length + 1, totalSteps: shown.length + remaining });
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

/** One QuickPick step; resolves with the picked item or BACK. */
export function pickStep<T extends vscode.QuickPickItem>(
  options: Common & { readonly items: readonly T[]; readonly active?: T; readonly matchOnDescription?: boolean },
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
  pick.buttons = options.position.step > 1 ? [vscode.QuickInputButtons.Back] : [];
  return settle(pick, (resolve) => [
    pick.onDidAccept(() => {
      const [picked] = pick.selectedItems;
      if (picked) resolve(picked);
    }),
  ]);
}

/** One InputBox step; `validate` returns the problem or undefined. Resolves with the text or BACK. */
export function inputStep(
  options: Common & { readonly value?: string; readonly prompt?: string; readonly validate?: (value: string) => string | undefined },
): Promise<string | typeof BACK> {
  const input = vscode.window.createInputBox();
  input.title = `${options.position.title}: ${options.label}`;
  input.step = options.position.step;
  input.totalSteps = options.position.totalSteps;
  input.value = options.value ?? '';
  input.prompt = options.prompt;
  input.placeholder = options.placeholder;
  input.ignoreFocusOut = true;
  input.buttons = options.position.step > 1 ? [vscode.QuickInputButtons.Back] : [];
  const check = (value: string) => {
    const problem = options.validate?.(value);
    input.validationMessage = problem ? { message: problem, severity: vscode.InputBoxValidationSeverity.Error } : undefined;
    return problem;
  };
  return settle(input, (resolve) => [
    input.onDidChangeValue(check),
    input.onDidAccept(() => {
      if (!check(input.value)) resolve(input.value);
    }),
  ]);
}

function settle<R>(
  widget: vscode.QuickPick<vscode.QuickPickItem> | vscode.InputBox,
  listen: (resolve: (value: R) => void) => vscode.Disposable[],
): Promise<R | typeof BACK> {
  return new Promise<R | typeof BACK>((resolve, reject) => {
    let done = false;
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
        if (button === vscode.QuickInputButtons.Back) finish(() => resolve(BACK));
      }),
      widget.onDidHide(() => finish(() => reject(new CancelledError(widget.title ?? 'The step')))),
    ];
    widget.show();
  });
}
