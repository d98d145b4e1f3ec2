/**
 * Training metrics read from a job's log lines, for the job details panel's charts.
 *
 * A parser turns one log line into zero or more points. Without a pattern it understands:
 * - word/number pairs, as examples/digits prints them: `epoch 3 loss 0.4100 acc 0.8800`;
 * - `key=value` and `key: value` pairs, separated by spaces, commas, semicolons, `|` or ` - `:
 *   `step=10 loss=0.5 lr=1e-3`, `Epoch: 2, loss: 0.31, accuracy: 0.9`; keys may be quoted and the
 *   pairs wrapped in braces, so a Python dict a training loop prints (`{'loss': 0.5, 'epoch': 1}`) counts too;
 * - JSON objects on one line: `{"epoch": 4, "loss": 0.2}` (numbers only; strings and nested values are ignored).
 * A line of pairs counts only when it is pairs from start to end: prose that happens to hold numbers
 * (`digits: 1437 training and 360 validation samples`, `hyperparameters: epochs=30 lr=0.01`) gives
 * nothing. Other shapes are read with a user pattern (setting `modelarts.metrics.pattern`).
 */
import { InvalidInputError } from './errors';
import { stripAnsi } from './lines';

export interface MetricPoint {
  readonly metric: string;
  readonly step: number;
  readonly value: number;
  /** What the step counts, as the line named it (`epoch`, `iter`); absent when the line named none (the step counts points). */
  readonly stepName?: string;
}

/** One metric's points in columns, steps ascending (the shape uPlot-style charts take). */
export interface MetricSeries {
  readonly metric: string;
  readonly steps: number[];
  readonly values: number[];
  /** What the steps count, for the chart's x axis: the log's own word (`epoch`), else `step`. */
  readonly stepName: string;
}

export interface MetricParserOptions {
  /**
   * A JavaScript regular expression with named groups (setting `modelarts.metrics.pattern`): the
   * group `step`, if any, is the step; every other named group holding a number is a metric. When
   * set it replaces the built-in formats. It is compiled once, without flags, and matched once per
   * line. Empty or blank: the built-in formats.
   */
  readonly pattern?: string;
}

/** Longer lines are not metric lines (and would cost time to scan). */
const MAX_LINE_LENGTH = 4096;
/** Metric names are cut to this length. */
const MAX_METRIC_NAME_LENGTH = 64;
/** A parser follows at most this many metrics; names after that are ignored (a chart of more says nothing). */
const MAX_METRICS = 256;
/** Keys naming the step, case-insensitive; the first such pair of a line is its step. */
const STEP_KEYS = ['epoch', 'step', 'iter', 'iteration'] as const;
const PATTERN_SETTING = 'modelarts.metrics.pattern';
/** Spellings of non-finite values (Python prints `nan` and `inf`); such pairs keep a line's shape but give no point. */
const NON_FINITE_WORDS = ['infinity', 'inf', 'nan'] as const;

/**
 * A parser for one log (one job's task): it keeps per-metric counts, so give each log its own.
 *
 * A point without a step in its line gets an implicit step: the number of points this parser has
 * returned for that metric so far, plus 1 (so `loss 0.5` printed on every line plots as 1, 2, 3…).
 * Non-finite numbers (`nan`, `inf`, `1e999`), lines over 4096 characters and keys that look like
 * paths or URLs are ignored; names are cut to 64 characters. The parser never throws on a line.
 *
 * @throws InvalidInputError naming `modelarts.metrics.pattern` when the pattern is not a valid
 * regular expression or has no named group for a metric.
 */
export function createMetricParser(options: MetricParserOptions = {}): (line: string) => MetricPoint[] {
  const counts = new Map<string, { seen: number }>();
  const point: Emit = (name, step, value, out, stepName) => {
    const metric = name.length > MAX_METRIC_NAME_LENGTH ? name.slice(0, MAX_METRIC_NAME_LENGTH) : name;
    let count = counts.get(metric);
    if (!count) {
      if (counts.size >= MAX_METRICS) return;
      count = { seen: 0 };
      counts.set(metric, count);
    }
    count.seen++;
    out.push(step === undefined || stepName === undefined ? { metric, step: step ?? count.seen, value } : { metric, step, value, stepName });
  };
  const read = options.pattern?.trim() ? patternReader(options.pattern, point) : builtInReader(point);
  return (line) => {
    if (typeof line !== 'string' || line.length === 0 || line.length > MAX_LINE_LENGTH) return [];
    return read(line);
  };
}

/** Colours and progress-bar redraws (`\r`) hide a line's text; only lines that have them pay for removing them. */
function hasEscapes(line: string): boolean {
  return line.includes('\u001b') || line.includes('\r');
}

type Emit = (name: string, step: number | undefined, value: number, out: MetricPoint[], stepName?: string) => void;

function patternReader(pattern: string, emit: Emit): (line: string) => MetricPoint[] {
  let regex: RegExp;
  let names: string[];
  try {
    regex = new RegExp(pattern);
    // An alternative that matches the empty string reveals every group name once, here, not per line.
    names = Object.keys(new RegExp(`(?:${pattern})|`).exec('')?.groups ?? {});
  } catch (error) {
    throw new InvalidInputError(`Setting ${PATTERN_SETTING}`, [
      { field: PATTERN_SETTING, message: `is not a valid regular expression: ${(error as Error).message}` },
    ]);
  }
  const metricNames = names.filter((name) => name !== 'step');
  if (metricNames.length === 0) {
    throw new InvalidInputError(`Setting ${PATTERN_SETTING}`, [
      { field: PATTERN_SETTING, message: 'needs a named group for each metric, such as (?<loss>[\\d.]+) (and optionally (?<step>\\d+))' },
    ]);
  }
  const hasStep = names.includes('step');
  const number: ScannedNumber = { end: 0, value: 0 };
  return (line) => {
    let groups: Record<string, string | undefined> | undefined;
    try {
      groups = regex.exec(hasEscapes(line) ? stripAnsi(line) : line)?.groups;
    } catch {
      return []; // a pathological pattern may overflow the regex engine's stack
    }
    if (!groups) return [];
    const stepText = hasStep ? groups.step : undefined;
    const step = stepText === undefined ? NaN : numberIn(stepText, number);
    const out: MetricPoint[] = [];
    for (const name of metricNames) {
      const text = groups[name];
      if (text === undefined) continue;
      const value = numberIn(text, number);
      if (Number.isFinite(value)) emit(name, Number.isFinite(step) ? step : undefined, value, out, 'step');
    }
    return out;
  };
}

function builtInReader(emit: Emit): (line: string) => MetricPoint[] {
  // Reused between lines: a line that is not pairs allocates nothing.
  const keyStarts: number[] = [];
  const keyEnds: number[] = [];
  const values: number[] = [];
  const number: ScannedNumber = { end: 0, value: 0 };
  const read = (line: string): MetricPoint[] => {
    const json = jsonObject(line);
    if (json) return jsonPoints(json, emit);
    const pairs = scanPairs(line, keyStarts, keyEnds, values, number);
    if (pairs === 0) return [];
    let step: number | undefined;
    let stepIndex = -1;
    for (let i = 0; i < pairs; i++) {
      if (isStepKey(line, keyStarts[i]!, keyEnds[i]!)) {
        stepIndex = i;
        if (Number.isFinite(values[i])) step = values[i];
        break;
      }
    }
    const stepName = stepIndex < 0 ? undefined : line.slice(keyStarts[stepIndex], keyEnds[stepIndex]).replace(/^['"]|['"]$/g, '').toLowerCase();
    const out: MetricPoint[] = [];
    for (let i = 0; i < pairs; i++) {
      const value = values[i]!;
      if (i === stepIndex || !Number.isFinite(value)) continue;
      const name = line.slice(keyStarts[i], keyEnds[i]);
      if (isMetricName(name)) emit(name, step, value, out, stepName);
    }
    return out;
  };
  // Escapes and "\r" are neither separators nor parts of a pair, so such a line reads as nothing
  // first; only then is it cleaned and read again.
  return (line) => {
    const points = read(line);
    return points.length > 0 || !hasEscapes(line) ? points : read(stripAnsi(line));
  };
}

/** The object a `{…}` line holds as JSON, or undefined (not JSON, or not an object). */
function jsonObject(line: string): Record<string, unknown> | undefined {
  let start = 0;
  let end = line.length - 1;
  while (start <= end && isSpace(line.charCodeAt(start))) start++;
  while (end > start && isSpace(line.charCodeAt(end))) end--;
  if (line.charCodeAt(start) !== 0x7b /* { */ || line.charCodeAt(end) !== 0x7d /* } */) return undefined;
  // A Python dict (`{'loss': 0.5}`) is not JSON: leave it to the pair scanner without a throw.
  if (line.indexOf('"', start) < 0) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function jsonPoints(object: Record<string, unknown>, emit: Emit): MetricPoint[] {
  const keys = Object.keys(object);
  let stepKey: string | undefined;
  for (const key of keys) {
    if (isStepKey(key, 0, key.length)) {
      stepKey = key;
      break;
    }
  }
  const stepValue = stepKey === undefined ? undefined : object[stepKey];
  const step = typeof stepValue === 'number' && Number.isFinite(stepValue) ? stepValue : undefined;
  const out: MetricPoint[] = [];
  for (const key of keys) {
    const value = object[key];
    if (key !== stepKey && typeof value === 'number' && Number.isFinite(value) && isMetricName(key)) emit(key, step, value, out, stepKey?.toLowerCase());
  }
  return out;
}

/**
 * Reads a line made only of key/number pairs into the arrays (key bounds and values) and returns
 * how many there are; 0 when anything in the line is not a pair. No regex, no allocation.
 */
function scanPairs(line: string, keyStarts: number[], keyEnds: number[], values: number[], number: ScannedNumber): number {
  const n = line.length;
  let count = 0;
  let i = 0;
  for (;;) {
    // Between pairs: spaces, `,`, `;`, `|`, braces, and a lone `-` (Keras' ` - loss: 0.3 - acc: 0.9`).
    while (i < n) {
      const c = line.charCodeAt(i);
      if (isPairSeparator(c) || (c === 0x2d /* - */ && (i + 1 === n || isSpace(line.charCodeAt(i + 1))))) i++;
      else break;
    }
    if (i >= n) return count;

    // The key: a word, optionally quoted.
    let c = line.charCodeAt(i);
    const quote = c === 0x22 /* " */ || c === 0x27 /* ' */ ? c : 0;
    if (quote) c = line.charCodeAt(++i);
    if (!isWordStart(c)) return 0;
    const keyStart = i;
    i++;
    while (i < n && isKeyChar(line.charCodeAt(i))) i++;
    const keyEnd = i;
    if (quote) {
      if (line.charCodeAt(i) !== quote) return 0;
      i++;
    }

    // Between key and value: spaces, `=` or `:`, or both.
    const afterKey = i;
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    c = line.charCodeAt(i);
    if (c === 0x3d /* = */ || c === 0x3a /* : */) {
      i++;
      while (i < n && isSpace(line.charCodeAt(i))) i++;
    } else if (i === afterKey) {
      return 0;
    }

    // The value: a number, ending where the pair ends (`3s`, `1/10` or `91%` are not numbers).
    scanNumber(line, i, number);
    if (number.end === i || (number.end < n && !isPairSeparator(line.charCodeAt(number.end)))) return 0;
    i = number.end;
    keyStarts[count] = keyStart;
    keyEnds[count] = keyEnd;
    values[count] = number.value;
    count++;
  }
}

/** A number read from text: where it ends (where it started when there is none) and its value. */
interface ScannedNumber {
  end: number;
  value: number;
}

/** Powers of ten a double holds exactly. */
const EXACT_POWERS_OF_TEN = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * Reads the number at `start` into `out`: decimal with optional exponent, or nan/inf/infinity
 * (NaN, which callers drop, as they drop overflows such as 1e999). The value is exactly what
 * Number() gives, without cutting a string out of the line for the usual short numbers.
 */
function scanNumber(text: string, start: number, out: ScannedNumber): void {
  let i = start;
  out.end = start;
  const sign = text.charCodeAt(i);
  const negative = sign === 0x2d; // -
  if (negative || sign === 0x2b /* + */) i++;
  const lower = text.charCodeAt(i) | 0x20;
  if (lower === 0x69 /* i */ || lower === 0x6e /* n */) {
    for (const word of NON_FINITE_WORDS) {
      if (startsWithWord(text, i, word)) {
        out.end = i + word.length;
        out.value = NaN;
        return;
      }
    }
    return;
  }
  let mantissa = 0;
  const digitsStart = i;
  for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++i)) mantissa = mantissa * 10 + (c - 0x30);
  let digits = i - digitsStart;
  let fraction = 0;
  if (text.charCodeAt(i) === 0x2e /* . */) {
    const fractionStart = ++i;
    for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++i)) mantissa = mantissa * 10 + (c - 0x30);
    fraction = i - fractionStart;
    digits += fraction;
  }
  if (digits === 0) return;
  let exponent = 0;
  const e = text.charCodeAt(i) | 0x20;
  if (e === 0x65 /* e */) {
    let j = i + 1;
    const expSign = text.charCodeAt(j);
    if (expSign === 0x2b || expSign === 0x2d) j++;
    const expStart = j;
    for (let c = text.charCodeAt(j); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++j)) {
      if (exponent < 100_000) exponent = exponent * 10 + (c - 0x30);
    }
    if (j > expStart) {
      i = j;
      if (expSign === 0x2d) exponent = -exponent;
    } else {
      exponent = 0;
    }
  }
  out.end = i;
  const power = exponent - fraction;
  // Clinger's fast path: an exact mantissa (at most 15 digits) scaled by an exact power of ten is
  // rounded once, as Number() rounds; anything else goes to Number() itself.
  if (digits <= 15 && power >= -22 && power <= 22) {
    const magnitude = power < 0 ? mantissa / EXACT_POWERS_OF_TEN[-power]! : mantissa * EXACT_POWERS_OF_TEN[power]!;
    out.value = negative ? -magnitude : magnitude;
  } else {
    out.value = Number(text.slice(start, i));
  }
}

/** The number filling `text`, allowing spaces around it (a pattern's group); else NaN. */
function numberIn(text: string, out: ScannedNumber): number {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  if (start === end) return NaN;
  scanNumber(text, start, out);
  return out.end === end ? out.value : NaN;
}

function startsWithWord(text: string, at: number, lowerWord: string): boolean {
  if (at + lowerWord.length > text.length) return false;
  for (let k = 0; k < lowerWord.length; k++) {
    if ((text.charCodeAt(at + k) | 0x20) !== lowerWord.charCodeAt(k)) return false;
  }
  return true;
}

function isStepKey(text: string, start: number, end: number): boolean {
  for (const word of STEP_KEYS) {
    if (word.length === end - start && startsWithWord(text, start, word)) return true;
  }
  return false;
}

/**
 * A name a chart can show: a letter or `_`, then letters, digits, `_`, `.`, `-` and at most one `/`
 * (TensorBoard-style `train/loss`). Paths and URLs (`/data/x`, `a/b/c`, `http://…`) are not metrics.
 */
function isMetricName(name: string): boolean {
  if (name.length === 0 || !isWordStart(name.charCodeAt(0))) return false;
  let slashes = 0;
  for (let i = 1; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!isKeyChar(c)) return false;
    if (c === 0x2f /* / */ && ++slashes > 1) return false;
  }
  return name.charCodeAt(name.length - 1) !== 0x2f;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isWordStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

function isKeyChar(c: number): boolean {
  return isWordStart(c) || isDigit(c) || c === 0x2e /* . */ || c === 0x2d /* - */ || c === 0x2f /* / */;
}

function isPairSeparator(c: number): boolean {
  return isSpace(c) || c === 0x2c /* , */ || c === 0x3b /* ; */ || c === 0x7c /* | */ || c === 0x7b /* { */ || c === 0x7d /* } */;
}

interface MutableSeries {
  readonly metric: string;
  readonly steps: number[];
  readonly values: number[];
  stepName: string | undefined;
}

/**
 * The points of one job, by metric, ready to chart. Metrics keep the order they first appeared in;
 * each metric's steps stay ascending and unique: a step seen again replaces its value (a restarted
 * job logs the epoch it resumes from once more). A point at a new last step is appended in O(1);
 * an earlier step is inserted in O(n). Points with a non-finite step or value are ignored.
 */
export class MetricSeriesSet {
  private readonly byMetric = new Map<string, MutableSeries>();
  private points = 0;

  add(points: readonly MetricPoint[]): void {
    for (const { metric, step, value, stepName } of points) {
      if (typeof metric !== 'string' || !metric || !Number.isFinite(step) || !Number.isFinite(value)) continue;
      let series = this.byMetric.get(metric);
      if (!series) {
        series = { metric, steps: [], values: [], stepName: undefined };
        this.byMetric.set(metric, series);
      }
      series.stepName ??= stepName;
      const { steps, values } = series;
      const last = steps.length - 1;
      if (last < 0 || step > steps[last]!) {
        steps.push(step);
        values.push(value);
        this.points++;
        continue;
      }
      const at = lowerBound(steps, step);
      if (steps[at] === step) {
        values[at] = value;
      } else {
        steps.splice(at, 0, step);
        values.splice(at, 0, value);
        this.points++;
      }
    }
  }

  /** A snapshot of every metric's series, in the order the metrics first appeared. */
  series(): MetricSeries[] {
    const out: MetricSeries[] = [];
    for (const { metric, steps, values, stepName } of this.byMetric.values()) out.push({ metric, steps: steps.slice(), values: values.slice(), stepName: stepName ?? 'step' });
    return out;
  }

  /** Points held, over all metrics (a replaced step counts once). */
  get pointCount(): number {
    return this.points;
  }
}

/** The first index whose step is not below `step`. */
function lowerBound(steps: readonly number[], step: number): number {
  let low = 0;
  let high = steps.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (steps[mid]! < step) low = mid + 1;
    else high = mid;
  }
  return low;
}
