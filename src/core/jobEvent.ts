/** Job events in the ModelArts form: `{time, level, message, source}`. */
import { z } from 'zod';

export const EVENT_LEVELS = ['Info', 'Warning', 'Error'] as const;
export type EventLevel = (typeof EVENT_LEVELS)[number];

/** Where an event comes from: the job, one of its tasks, or the container engine under it. */
export const EVENT_SOURCES = ['Job', 'Task', 'Docker'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export const jobEventSchema = z.object({
  /** ISO 8601 with the local offset, e.g. 2026-11-23T16:03:41.120+08:00. */
  time: z.string(),
  level: z.enum(EVENT_LEVELS),
  message: z.string(),
  source: z.string(),
});
export type JobEvent = z.output<typeof jobEventSchema>;

export interface JobEventAdded {
  readonly jobId: string;
  readonly event: JobEvent;
}

export function makeEvent(level: EventLevel, source: EventSource, message: string, at: Date = new Date()): JobEvent {
  return { time: isoWithOffset(at), level, message, source };
}

/** `YYYY-MM-DDTHH:mm:ss.sss+hh:mm` in the machine's time zone, as ModelArts shows event times. */
export function isoWithOffset(at: Date): string {
  const offset = -at.getTimezoneOffset();
  const local = new Date(at.getTime() + offset * 60_000).toISOString().slice(0, -1);
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
