import { NEVER, secs, type Duration, type Instant } from '../time.js';

/** The first probe after a black hole: a transient one (a route flap, a burst of loss) is short. */
export const PROBE_FIRST: Duration = secs(5);
/** Between a probe that got through and the next step up. */
export const PROBE_NEXT: Duration = secs(1);
/** The longest wait between probes (RFC 8899's PMTU_RAISE_TIMER). */
export const PROBE_MAX: Duration = secs(600);
/** A search narrower than this has found the size. */
export const SEARCH_DONE = 16;

/**
 * Climbing back after a PMTU black hole (RFC 8899 §5.2, simplified): the session fell back to
 * the minimum size, and now and then, while it has data to send, one probe datagram (PING and
 * PADDING) of a larger size goes out outside the congestion window. An acknowledged probe
 * raises the size; a lost one marks that size as too big. The first probe tries the full
 * size, so a black hole that was not one (a burst of loss, a route that flapped) costs seconds,
 * not the rest of the session; later ones halve the distance to the smallest size lost.
 * Waits double after each loss, to PROBE_MAX, so a real black hole costs one datagram per
 * ten minutes.
 */
export class PmtuRaise {
  /** The size known to get through since the black hole; Infinity: no black hole in force. */
  limit = Infinity;
  /** The smallest probe size lost since the last full-size attempt. */
  private failed: number | null = null;
  private wait: Duration = PROBE_FIRST;
  private nextAt: Instant = NEVER;
  private outstanding: number | null = null;

  /** Datagrams stopped getting through: fall back to `to` bytes and probe later. */
  onBlackHole(now: Instant, to: number): void {
    this.limit = to;
    this.failed = null;
    this.outstanding = null;
    this.nextAt = now + this.wait;
    // Found again after a raise: the next attempt waits longer.
    this.wait = Math.min(this.wait * 2, PROBE_MAX);
  }

  /** The probe size to send now (under `ceiling`, the size without a black hole), or null. */
  due(now: Instant, ceiling: number): number | null {
    if (this.limit === Infinity || this.outstanding !== null || now < this.nextAt) return null;
    if (this.limit >= ceiling) {
      this.limit = Infinity; // the ceiling itself came down to what gets through
      return null;
    }
    if (this.failed !== null && this.failed - this.limit > SEARCH_DONE) return Math.floor((this.limit + this.failed) / 2);
    this.failed = null; // first, or after the search settled: the full size again
    return ceiling;
  }

  sent(size: number): void {
    this.outstanding = size;
  }

  /** The probe of `size` was acknowledged: returns whether the size went up. */
  acked(now: Instant, size: number, ceiling: number): boolean {
    this.outstanding = null;
    if (size <= this.limit) return false;
    this.limit = size >= ceiling ? Infinity : size;
    this.wait = PROBE_FIRST;
    this.nextAt = this.limit === Infinity ? NEVER : now + PROBE_NEXT;
    return true;
  }

  lost(now: Instant, size: number): void {
    this.outstanding = null;
    if (this.limit === Infinity) return;
    this.failed = Math.min(this.failed ?? Infinity, size);
    const settled = this.failed - this.limit <= SEARCH_DONE;
    this.nextAt = now + (settled ? PROBE_MAX : this.wait);
    this.wait = Math.min(this.wait * 2, PROBE_MAX);
  }
}
