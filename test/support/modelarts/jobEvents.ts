/**
 * Training job events in ModelArts' form (`{time, level, message, source}`, time like
 * `2022-11-26T16:03:41+08:00`) and the events query: level, source, pattern, time range, order,
 * offset and limit.
 */
import { modelArtsError } from './errors';
import type { EventsQuery } from './jobSchemas';

export type EventLevel = 'Info' | 'Warning' | 'Error';
export type EventSource = 'Job' | 'Task' | 'K8S';

export interface JobEvent {
  readonly seq: number;
  /** Epoch ms. */
  readonly time: number;
  readonly level: EventLevel;
  readonly message: string;
  readonly source: EventSource;
}

let nextSeq = 0;

export function makeEvent(level: EventLevel, source: EventSource, message: string, time = Date.now()): JobEvent {
  return { seq: ++nextSeq, time, level, source, message };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Second-precision local time with its offset, as ModelArts writes event times. */
export function formatEventTime(ms: number, offsetMinutes: number): string {
  const shifted = new Date(ms + offsetMinutes * 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const date = `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}`;
  const time = `${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}:${pad(shifted.getUTCSeconds())}`;
  return `${date}T${time}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const badRequest = (detail: string) => modelArtsError(400, 'ModelArts.50004000', `Bad request. ${detail}`);

export function queryEvents(events: readonly JobEvent[], query: EventsQuery, offsetMinutes: number) {
  if ((query.start_time === undefined) !== (query.end_time === undefined)) {
    throw badRequest('start_time and end_time must be given together');
  }
  if (query.start_time !== undefined && query.end_time !== undefined && query.start_time > query.end_time) {
    throw badRequest('start_time must not be after end_time');
  }
  const order = query.order ?? 'desc';
  const offset = query.offset ?? 0;
  const limit = query.limit ?? 50;
  const pattern = query.pattern?.toLowerCase();
  const matching = events
    .filter((e) => query.level === undefined || e.level === query.level)
    .filter((e) => query.source === undefined || e.source.toUpperCase() === query.source.toUpperCase())
    .filter((e) => pattern === undefined || e.message.toLowerCase().includes(pattern))
    .filter((e) => query.start_time === undefined || (e.time >= query.start_time && e.time <= (query.end_time ?? Infinity)))
    .sort((a, b) => a.time - b.time || a.seq - b.seq);
  if (order === 'desc') matching.reverse();
  const times = matching.map((e) => e.time);
  const rangeStart = query.start_time ?? (times.length ? Math.min(...times) : undefined);
  const rangeEnd = query.end_time ?? (times.length ? Math.max(...times) : undefined);
  return {
    total: matching.length,
    limit,
    offset,
    order,
    start_time: rangeStart === undefined ? '' : formatEventTime(rangeStart, offsetMinutes),
    end_time: rangeEnd === undefined ? '' : formatEventTime(rangeEnd, offsetMinutes),
    events: matching.slice(offset, offset + limit).map((e) => ({
      time: formatEventTime(e.time, offsetMinutes),
      level: e.level,
      message: e.message,
      source: e.source,
    })),
  };
}
