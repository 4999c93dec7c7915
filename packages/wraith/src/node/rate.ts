import { monoMs } from '../clock.js';

/** A smoothed byte rate over a sliding window of one-second buckets. */
export class RateMeter {
  private readonly buckets: number[] = [];
  private start = monoMs();
  private current = 0;
  private currentAt = Math.floor(monoMs() / 1000);

  constructor(private readonly windowSec = 5) {}

  add(bytes: number): void {
    this.roll();
    this.current += bytes;
  }

  /** Forget the window: the rate counts from now (a send that waited for its hashing). */
  restart(): void {
    this.buckets.length = 0;
    this.start = monoMs();
    this.current = 0;
    this.currentAt = Math.floor(this.start / 1000);
  }

  private roll(): void {
    const sec = Math.floor(monoMs() / 1000);
    while (this.currentAt < sec) {
      this.buckets.push(this.current);
      if (this.buckets.length > this.windowSec) this.buckets.shift();
      this.current = 0;
      this.currentAt++;
    }
  }

  /** Bytes per second over the window (the running second included pro rata). */
  rate(): number {
    this.roll();
    const now = monoMs();
    const partial = (now % 1000) / 1000;
    const full = this.buckets.reduce((a, b) => a + b, 0);
    const span = Math.min(this.buckets.length + partial, (now - this.start) / 1000);
    return span > 0 ? (full + this.current) / span : 0;
  }
}

/** A token bucket for --rate: how many bytes may be released now. */
export class TokenBucket {
  private tokens: number;
  private last = monoMs();

  constructor(
    private readonly rateBps: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Take up to `want` bytes; returns what was granted (possibly 0). */
  take(want: number): number {
    const now = monoMs();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rateBps);
    this.last = now;
    if (this.tokens < want) return 0;
    this.tokens -= want;
    return want;
  }

  /** Milliseconds until `want` bytes are available. */
  waitMs(want: number): number {
    return Math.max(1, Math.ceil(((want - this.tokens) / this.rateBps) * 1000));
  }
}
