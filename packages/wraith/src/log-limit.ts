/**
 * Keeps lines that a peer can cause at will (a handshake from an untrusted key costs it one DH)
 * from flooding the log: each key is let through once per `perKeyMs`, and at most `burst` lines
 * in all per `windowMs`. What is held back is counted and handed to the next line let through.
 */
import { monoMs } from './clock.js';

export interface LogLimitOptions {
  readonly perKeyMs: number;
  readonly burst: number;
  readonly windowMs: number;
  /** Keys remembered at most (the oldest go first). */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

export class LogLimiter {
  private readonly lastByKey = new Map<string, number>();
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private held = 0;
  private readonly now: () => number;

  constructor(private readonly o: LogLimitOptions) {
    this.now = o.now ?? monoMs;
  }

  /** null: do not log this one; otherwise log it, mentioning `held` lines not logged before it. */
  take(key: string): { held: number } | null {
    const now = this.now();
    if (now - this.windowStart >= this.o.windowMs) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    const last = this.lastByKey.get(key);
    if ((last !== undefined && now - last < this.o.perKeyMs) || this.inWindow >= this.o.burst) {
      this.held++;
      return null;
    }
    this.lastByKey.delete(key); // re-inserted last: the map's order is the age order
    this.lastByKey.set(key, now);
    if (this.lastByKey.size > (this.o.maxKeys ?? 4096)) this.lastByKey.delete(this.lastByKey.keys().next().value as string);
    this.inWindow++;
    const held = this.held;
    this.held = 0;
    return { held };
  }
}
