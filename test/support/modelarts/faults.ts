/**
 * Fault injection of the contract server, programmable per test: throttling bursts, server
 * errors, latency, connection resets before or after the work was done, and a skewed server
 * clock. Each rule matches requests by method, path and/or operation and fires a given number of
 * times; every injection is counted.
 */
import { type EntryMatch, matchesRequest } from './journal';

export type FaultKind = 'throttle' | 'server-error' | 'latency' | 'reset-before' | 'reset-after' | 'clock-skew';

export interface FaultOptions extends Omit<EntryMatch, 'status'> {
  /** How many matching requests the fault hits (default 1; Infinity for all). */
  readonly times?: number;
  /** Matching requests let through untouched before the fault starts (default 0). */
  readonly after?: number;
}

export interface ThrottleOptions extends FaultOptions {
  /** Sent as the Retry-After header, when given. */
  readonly retryAfterSeconds?: number;
}

export interface ServerErrorOptions extends FaultOptions {
  readonly status?: number;
  readonly errorCode?: string;
  readonly errorMsg?: string;
}

export interface LatencyOptions extends FaultOptions {
  readonly delayMs: number;
  /** Wait before the work is done (default) or after it, before answering. */
  readonly when?: 'before' | 'after';
}

export interface ResetOptions extends FaultOptions {
  /** 'before': the request is dropped unprocessed; 'after': it is processed, then the answer is lost. */
  readonly when: 'before' | 'after';
}

export type FaultRule =
  | ({ readonly kind: 'throttle' } & ThrottleOptions)
  | ({ readonly kind: 'server-error' } & ServerErrorOptions)
  | ({ readonly kind: 'latency' } & LatencyOptions)
  | ({ readonly kind: 'reset-before' | 'reset-after' } & FaultOptions);

export interface FaultHandle {
  readonly id: number;
  /** How many requests this rule has hit so far. */
  readonly fired: number;
  remove(): void;
}

export interface InjectedFault {
  readonly kind: FaultKind;
  readonly method: string;
  readonly path: string;
  readonly operation: string | undefined;
  readonly time: number;
  readonly ruleId: number | undefined;
}

interface ActiveRule {
  readonly id: number;
  readonly rule: FaultRule;
  seen: number;
  fired: number;
}

export class Faults {
  private rules: ActiveRule[] = [];
  private nextId = 1;
  private skewMs = 0;
  private readonly injectedList: InjectedFault[] = [];

  add(rule: FaultRule): FaultHandle {
    const active: ActiveRule = { id: this.nextId++, rule, seen: 0, fired: 0 };
    this.rules.push(active);
    return {
      id: active.id,
      get fired() {
        return active.fired;
      },
      remove: () => {
        this.rules = this.rules.filter((r) => r !== active);
      },
    };
  }

  /** 429 `APIG.0308` answers (a throttling burst), with Retry-After when given. */
  throttle(options: ThrottleOptions = {}): FaultHandle {
    return this.add({ kind: 'throttle', ...options });
  }

  /** 500 `ModelArts.0010` answers (or the given status and code). */
  serverError(options: ServerErrorOptions = {}): FaultHandle {
    return this.add({ kind: 'server-error', ...options });
  }

  latency(options: LatencyOptions): FaultHandle {
    return this.add({ kind: 'latency', ...options });
  }

  /** Destroys the socket; with `when: 'after'` the request has taken effect (a blind retry duplicates it). */
  resetConnection(options: ResetOptions): FaultHandle {
    const { when, ...rest } = options;
    return this.add({ kind: when === 'before' ? 'reset-before' : 'reset-after', ...rest });
  }

  /** Moves the server's clock (signature dates, the Date header) by `ms`; 0 puts it back. */
  skewClock(ms: number): void {
    this.skewMs = ms;
  }

  get clockSkewMs(): number {
    return this.skewMs;
  }

  /** The server's idea of now. */
  now(): number {
    return Date.now() + this.skewMs;
  }

  /** Removes every rule and the clock skew (the count of injected faults stays). */
  clear(): void {
    this.rules = [];
    this.skewMs = 0;
  }

  /** Every fault injected so far. */
  get injected(): readonly InjectedFault[] {
    return [...this.injectedList];
  }

  count(kind?: FaultKind): number {
    return kind ? this.injectedList.filter((f) => f.kind === kind).length : this.injectedList.length;
  }

  /** The rules that fire for this request (at most one latency rule plus one other), counted as injected. */
  take(method: string, path: string, operation: string | undefined): FaultRule[] {
    const taken: FaultRule[] = [];
    for (const kindGroup of [['latency'], ['throttle', 'server-error', 'reset-before', 'reset-after']]) {
      const active = this.rules.find(
        (r) => kindGroup.includes(r.rule.kind) && matchesRequest(r.rule, method, path, operation) && this.due(r),
      );
      if (!active) continue;
      active.fired += 1;
      taken.push(active.rule);
      this.record(active.rule.kind, method, path, operation, active.id);
    }
    return taken;
  }

  /** Counts a request that was judged by a skewed clock. */
  recordSkew(method: string, path: string, operation: string | undefined): void {
    this.record('clock-skew', method, path, operation, undefined);
  }

  private due(active: ActiveRule): boolean {
    active.seen += 1;
    if (active.seen <= (active.rule.after ?? 0)) return false;
    if (active.fired >= (active.rule.times ?? 1)) return false;
    return true;
  }

  private record(kind: FaultKind, method: string, path: string, operation: string | undefined, ruleId: number | undefined): void {
    this.injectedList.push({ kind, method, path, operation, time: Date.now(), ruleId });
  }
}
