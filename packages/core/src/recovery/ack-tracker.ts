import { NEVER, type Duration, type Instant } from '../time.js';
import { DEFAULT_MAX_ACK_DELAY } from './constants.js';

/** RFC 9000 §13.2.2: acknowledge at least every second ack-eliciting packet. */
const DEFAULT_ACK_ELICITING_THRESHOLD = 2;
/** Ranges kept (and reported); the oldest are forgotten beyond this (RFC 9000 §13.2.4 allows it). */
const DEFAULT_MAX_RANGES = 32;

export interface AckTrackerOptions {
  maxRanges?: number;
  maxAckDelay?: Duration;
  ackElicitingThreshold?: number;
}

/** An ACK to send. `ranges` are inclusive [lo, hi], descending, ranges[0][1] === largest. */
export interface AckToSend {
  largest: number;
  ackDelay: Duration;
  ranges: Array<[number, number]>;
}

/**
 * Receive-side ACK state for one packet number space: which packet numbers
 * arrived (as a bounded list of merged ranges) and when an ACK is due.
 *
 * Ranges live in two flat arrays ordered from the highest range down, so the
 * common case (the next packet in order) touches index 0 only.
 */
export class AckTracker {
  private readonly maxRanges: number;
  private readonly maxAckDelay: Duration;
  private readonly threshold: number;
  // Range i is [lo[i], hi[i]]; hi[0] is the largest received; ordered descending.
  private readonly lo: number[] = [];
  private readonly hi: number[] = [];
  private largestRecvTime: Instant = 0;
  private elicitingSinceAck = 0;
  private deadline: Instant = NEVER;
  private newSinceAck = false;
  // Reused output of buildAck (documented there).
  private readonly out: AckToSend = { largest: 0, ackDelay: 0, ranges: [] };
  private readonly tuples: Array<[number, number]> = [];

  constructor(opts: AckTrackerOptions = {}) {
    this.maxRanges = Math.max(1, opts.maxRanges ?? DEFAULT_MAX_RANGES);
    this.maxAckDelay = opts.maxAckDelay ?? DEFAULT_MAX_ACK_DELAY;
    this.threshold = Math.max(1, opts.ackElicitingThreshold ?? DEFAULT_ACK_ELICITING_THRESHOLD);
    for (let i = 0; i < this.maxRanges; i++) this.tuples.push([0, 0]);
  }

  /** Number of ranges currently tracked. */
  get rangeCount(): number {
    return this.lo.length;
  }

  /** The largest packet number received, or -1. */
  get largest(): number {
    return this.hi.length > 0 ? (this.hi[0] as number) : -1;
  }

  /**
   * Record a received (authenticated) packet. Returns false for a duplicate or
   * a packet too old to track (below the lowest kept range, with no room left).
   */
  onPacketReceived(now: Instant, pn: number, ackEliciting: boolean): boolean {
    const prevLargest = this.largest;
    const placed = this.insert(pn);
    if (!placed) return false;
    this.newSinceAck = true;
    if (pn > prevLargest) this.largestRecvTime = now;
    if (!ackEliciting) return true;
    this.elicitingSinceAck++;
    // RFC 9000 §13.2.1: reordering (a fill below the largest) or a new gap is
    // acknowledged at once so the sender's loss detection runs early.
    const outOfOrder = prevLargest >= 0 && (pn < prevLargest || pn > prevLargest + 1);
    if (this.elicitingSinceAck >= this.threshold || outOfOrder) {
      this.deadline = now;
    } else if (this.deadline === NEVER) {
      this.deadline = now + this.maxAckDelay;
    }
    return true;
  }

  /** When an ACK must be sent: NEVER with nothing ack-eliciting pending. */
  ackDeadline(): Instant {
    return this.deadline;
  }

  /**
   * The ACK to send now, or null when nothing arrived since the last one.
   * The returned object and its tuples are reused by the next call: encode it
   * before calling again.
   */
  buildAck(now: Instant): AckToSend | null {
    const n = this.lo.length;
    if (n === 0 || !this.newSinceAck) return null;
    const out = this.out;
    out.largest = this.hi[0] as number;
    out.ackDelay = Math.max(0, now - this.largestRecvTime);
    out.ranges.length = n;
    for (let i = 0; i < n; i++) {
      const t = this.tuples[i] as [number, number];
      t[0] = this.lo[i] as number;
      t[1] = this.hi[i] as number;
      out.ranges[i] = t;
    }
    return out;
  }

  /** Call after an ACK built by buildAck was sent. */
  onAckSent(_now: Instant): void {
    this.elicitingSinceAck = 0;
    this.deadline = NEVER;
    this.newSinceAck = false;
  }

  private insert(pn: number): boolean {
    const lo = this.lo;
    const hi = this.hi;
    const n = lo.length;
    if (n === 0) {
      lo.push(pn);
      hi.push(pn);
      return true;
    }
    for (let i = 0; i < n; i++) {
      const h = hi[i] as number;
      const l = lo[i] as number;
      if (pn > h + 1) {
        // A new range above range i (and below range i-1, already checked).
        // Shift by hand: splice would allocate its result array.
        lo.push(0);
        hi.push(0);
        for (let j = lo.length - 1; j > i; j--) {
          lo[j] = lo[j - 1] as number;
          hi[j] = hi[j - 1] as number;
        }
        lo[i] = pn;
        hi[i] = pn;
        if (lo.length > this.maxRanges) {
          lo.pop();
          hi.pop();
        }
        return true;
      }
      if (pn === h + 1) {
        hi[i] = pn;
        // Can't touch range i-1: it would have matched pn === lo[i-1] - 1 first.
        return true;
      }
      if (pn >= l) return false; // duplicate
      if (pn === l - 1) {
        lo[i] = pn;
        const nextHi = hi[i + 1];
        if (nextHi !== undefined && nextHi === pn - 1) {
          // The gap closed: merge range i+1 into range i.
          lo[i] = lo[i + 1] as number;
          for (let j = i + 1; j < lo.length - 1; j++) {
            lo[j] = lo[j + 1] as number;
            hi[j] = hi[j + 1] as number;
          }
          lo.pop();
          hi.pop();
        }
        return true;
      }
      // pn < l - 1: belongs below range i; continue.
    }
    // Below every range.
    if (lo.length >= this.maxRanges) return false;
    lo.push(pn);
    hi.push(pn);
    return true;
  }
}
