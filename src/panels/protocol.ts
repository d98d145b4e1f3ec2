/**
 * The message protocol between a job panel's host (src/panels) and its webview (webview-ui):
 * imported by both sides, every message checked with zod on arrival. The webview keeps only UI
 * state (tab, filters) in setState; the job, its events and metrics always come from the host.
 */
import { z } from 'zod';
import { trainingJobSchema } from '../core/job';
import { jobEventSchema } from '../core/jobEvent';
import { type JOB_ACTIONS } from '../core/lifecycle';

export const JOB_PANEL_VIEW_TYPE = 'modelarts.jobDetails';

/** Actions a panel offers; the host allows each only in the phases ModelArts does. */
export const PANEL_ACTIONS = ['stop', 'copy', 'delete', 'saveAsAlgorithm', 'showLogs'] as const satisfies ReadonlyArray<(typeof JOB_ACTIONS)[number]>;
export type PanelAction = (typeof PANEL_ACTIONS)[number];

export const metricSeriesSchema = z.object({
  metric: z.string(),
  steps: z.array(z.number()),
  values: z.array(z.number()),
  /** What the steps count (the x axis): the log's word such as `epoch`, else `step`. */
  stepName: z.string().max(64).default('step'),
});
export type MetricSeriesMessage = z.output<typeof metricSeriesSchema>;

export const resourceSeriesSchema = z.object({
  task: z.string(),
  times: z.array(z.number()),
  cpuPercent: z.array(z.number()),
  memoryBytes: z.array(z.number()),
});

/** Host → webview. */
export const hostMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('job'),
    job: trainingJobSchema,
    /** The exact command line of worker-0. */
    command: z.array(z.string()),
    /** The backend's name, as the views show it. */
    backend: z.string(),
    actions: z.array(z.enum(PANEL_ACTIONS)),
  }),
  /** Events oldest first; `reset` replaces what the webview has. */
  z.object({ type: z.literal('events'), events: z.array(jobEventSchema), reset: z.boolean() }),
  z.object({ type: z.literal('metrics'), series: z.array(metricSeriesSchema), resources: z.array(resourceSeriesSchema), reset: z.boolean() }),
  /** The last lines of worker-0's log (the whole tail each time). */
  z.object({ type: z.literal('logTail'), lines: z.array(z.string()) }),
  /** The job was deleted while the panel was open. */
  z.object({ type: z.literal('removed') }),
  /** The job's backend cannot answer now (why, in the user's terms); a `job` message follows once it can. */
  z.object({ type: z.literal('unreachable'), message: z.string().max(2000) }),
]);
export type HostMessage = z.output<typeof hostMessageSchema>;

/** Webview → host. */
export const webviewMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('action'), action: z.enum(PANEL_ACTIONS) }),
  z.object({ type: z.literal('reveal'), kind: z.enum(['input', 'output']), name: z.string().min(1).max(64) }),
]);
export type WebviewMessage = z.output<typeof webviewMessageSchema>;

/** What the webview keeps across hiding and reloads (setState); the serializer reads `backend` and `jobId` (no backend: saved before backends, a local job). */
export const panelStateSchema = z.object({
  backend: z.string().min(1).optional(),
  jobId: z.string().min(1),
  tab: z.enum(['overview', 'events', 'metrics']).default('overview'),
  eventLevel: z.enum(['all', 'Info', 'Warning', 'Error']).default('all'),
  eventText: z.string().max(200).default(''),
});
export type PanelState = z.output<typeof panelStateSchema>;

// ---- The compare panel: several jobs' metrics overlaid ----------------------------------------

export const COMPARE_PANEL_VIEW_TYPE = 'modelarts.compareMetrics';

/** Host → compare webview. */
export const compareHostMessageSchema = z.discriminatedUnion('type', [
  /** The jobs compared, in order (their colours follow it); `id` is the job's key (backend and id), `state` what the webview saves. */
  z.object({ type: z.literal('jobs'), jobs: z.array(z.object({ id: z.string(), name: z.string(), phase: z.string() })), state: z.object({ jobs: z.array(z.object({ backend: z.string(), id: z.string() })) }) }),
  z.object({ type: z.literal('jobMetrics'), jobId: z.string(), series: z.array(metricSeriesSchema), reset: z.boolean() }),
]);
export type CompareHostMessage = z.output<typeof compareHostMessageSchema>;

/** Compare webview → host. */
export const compareWebviewMessageSchema = z.discriminatedUnion('type', [z.object({ type: z.literal('ready') })]);

/** The jobs compared, by reference; `{jobIds}` was saved before backends existed (local jobs). */
export const compareStateSchema = z.union([
  z.object({ jobs: z.array(z.object({ backend: z.string().min(1), id: z.string().min(1) })).min(2).max(10) }),
  z.object({ jobIds: z.array(z.string().min(1)).min(2).max(10) }).transform(({ jobIds }) => ({ jobs: jobIds.map((id) => ({ backend: 'local', id })) })),
]);
