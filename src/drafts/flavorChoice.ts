/**
 * Which flavor a job flow offers first, and why, shared by Create, Copy and Promote: the setting
 * `modelarts.jobs.defaultFlavor` when set, else the flavor of the last completed job of the same
 * code, else the flavor chosen last, else the backend's default (the one that leaves room).
 */
import type * as vscode from 'vscode';
import { costHint, type Flavor } from '../core/flavors';
import type { CompletedRun } from './rememberedChoices';

export interface FlavorPreferences {
  /** `modelarts.jobs.defaultFlavor` ('' when unset). */
  readonly setting: string;
  readonly lastCompleted?: CompletedRun;
  readonly lastChosen?: string;
}

export interface PreferredFlavor {
  readonly flavor: Flavor;
  /** Why it comes first, as the step says it. */
  readonly reason: string;
}

export function preferredFlavor(flavors: readonly Flavor[], preferences: FlavorPreferences): PreferredFlavor | undefined {
  const find = (id: string | undefined) => (id ? flavors.find((flavor) => flavor.flavor_id === id) : undefined);
  const setting = find(preferences.setting);
  if (setting) return { flavor: setting, reason: 'default: the setting modelarts.jobs.defaultFlavor' };
  const completed = find(preferences.lastCompleted?.flavorId);
  if (completed && preferences.lastCompleted) return { flavor: completed, reason: `used by ${preferences.lastCompleted.jobName}, the last job of this code that completed` };
  const chosen = find(preferences.lastChosen);
  if (chosen) return { flavor: chosen, reason: 'chosen last time' };
  const recommended = flavors.find((flavor) => flavor.default_reason);
  if (recommended) return { flavor: recommended, reason: recommended.default_reason ?? 'default' };
  const first = flavors[0];
  return first && { flavor: first, reason: 'the smallest flavor' };
}

export type FlavorItem = vscode.QuickPickItem & { readonly flavor: Flavor };

/** The flavor step's rows: name, id, and the reason beside the preferred one. */
export function flavorItems(flavors: readonly Flavor[], preferred: PreferredFlavor | undefined): FlavorItem[] {
  return flavors.map((flavor) => {
    const marked = preferred?.flavor.flavor_id === flavor.flavor_id;
    const nodes = flavor.max_num > 1 ? `up to ${flavor.max_num} nodes` : '1 node';
    const cost = costHint(flavor);
    return {
      label: flavor.flavor_name,
      description: marked ? `${flavor.flavor_id} · ${preferred?.reason}` : flavor.flavor_id,
      detail: cost ? `${nodes} · ${cost}` : nodes,
      flavor,
    };
  });
}
