import type { Duration, Instant } from '../time.js';
import type { RttEstimator } from '../recovery/rtt.js';
import { WraithError } from '../errors.js';
import type { CongestionController } from './controller.js';

/** Burst allowance: the bucket holds this much time's worth of the pacing rate (quinn uses 2 ms). */
const BURST_INTERVAL: Duration = 2_000;
/** Smallest burst, packets: the initial window can leave at once (RFC 9002 §7.7 allows it). */
const MIN_BURST_PACKETS = 10;
/**
 * Largest burst, packets. Hosts' timers wake no finer than ~1 ms, so the bucket
 * must hold a timer period of the rate or a fast path loses what it cannot bank
 * (64 here held loopback transfers to ~130 MB/s at a 260 MB/s pacing rate).
 */
const MAX_BURST_PACKETS = 1024;
/** A paced sender wakes for a GSO/sendmmsg batch, not for every datagram. */
const WAKE_BATCH_PACKETS = 64;
/** RFC 9002 §7.7: without a controller rate, pace at N × cwnd / srtt with N = 1.25. */
const WINDOW_PACING_GAIN = 1.25;

export interface PacerOptions {
  mtu: number;
  minBurstPackets?: number;
  maxBurstPackets?: number;
  /** Cap on the rate, bytes per second (a user's rate limit); null or absent: none. */
  maxRate?: number | null;
}

/**
 * A token-bucket pacer around the controller's pacing rate. The bucket
 * refills at the rate and holds a bounded burst (rate × 2 ms, clamped to
 * 10..1024 datagrams), so a batch of datagrams can leave together while the
 * average stays paced. Without a controller rate the pacer uses
 * 1.25 × cwnd / srtt, and before the first RTT sample cwnd / initial RTT.
 */
export class Pacer {
  private readonly cc: CongestionController;
  private readonly rtt: RttEstimator;
  private mtu: number;
  private readonly minBurst: number;
  private readonly maxBurst: number;
  private readonly maxRate: number;
  private tokens: number;
  private last: Instant = 0;
  private started = false;

  constructor(cc: CongestionController, rtt: RttEstimator, opts: PacerOptions) {
    this.cc = cc;
    this.rtt = rtt;
    this.mtu = opts.mtu;
    this.minBurst = opts.minBurstPackets ?? MIN_BURST_PACKETS;
    this.maxBurst = opts.maxBurstPackets ?? MAX_BURST_PACKETS;
    const cap = opts.maxRate ?? null;
    if (cap !== null && !(cap > 0)) throw new WraithError('E_INTERNAL', `a pacing rate cap is a positive number of bytes per second, got ${cap}`);
    this.maxRate = cap ?? Infinity;
    this.tokens = this.capacity(this.rate());
  }

  /** The rate in force, bytes per second: the controller's, under the cap. */
  rate(): number {
    const r = this.controllerRate();
    return r < this.maxRate ? r : this.maxRate;
  }

  private controllerRate(): number {
    if (!this.rtt.hasSample) return (this.cc.window() * 1e6) / this.rtt.initialRtt;
    const r = this.cc.pacingRate();
    if (r !== null && r > 0) return r;
    return (WINDOW_PACING_GAIN * this.cc.window() * 1e6) / Math.max(this.rtt.smoothed, 1);
  }

  /** Bucket size in bytes at `rate`. */
  capacity(rate: number): number {
    const burst = (rate * BURST_INTERVAL) / 1e6;
    return Math.min(Math.max(burst, this.minBurst * this.mtu), this.maxBurst * this.mtu);
  }

  /**
   * When a datagram of `bytes` may leave: <= now when it may leave now.
   * Pure: calling it does not change the pacer.
   */
  nextSendTime(now: Instant, bytes: number): Instant {
    // A batch sends many datagrams at one `now`: the bucket cannot have refilled since the
    // last one, so skip the rate (a controller call and boxed doubles per datagram).
    if (this.started && now === this.last && this.tokens >= bytes) return now;
    const rate = Math.max(this.rate(), 1);
    const avail = this.available(now, rate);
    if (avail >= bytes) return now;
    return now + Math.ceil(((bytes - avail) * 1e6) / rate);
  }

  /**
   * When to wake a sender the pacer holds back: once a batch of datagrams may leave, so wake-ups
   * carry GSO batches; at low rates once half the bucket may. Timers fire late (~1 ms), and what
   * refills past a full bucket is lost: waking only when it is full kept `--rate 5M` to 4.1 MB/s.
   */
  wakeTime(now: Instant): Instant {
    const rate = Math.max(this.rate(), 1);
    const want = Math.min(WAKE_BATCH_PACKETS * this.mtu, this.capacity(rate) / 2);
    return this.nextSendTime(now, want);
  }

  /** A datagram of `bytes` left at `now` (loss recovery calls this for in-flight packets). */
  onSent(now: Instant, bytes: number): void {
    if (this.started && now === this.last) {
      this.tokens -= bytes; // nothing refilled since the last datagram (tokens <= the bucket)
      return;
    }
    const rate = this.rate();
    this.tokens = this.available(now, rate) - bytes;
    this.last = now;
    this.started = true;
  }

  onMtuUpdate(mtu: number): void {
    this.mtu = mtu;
  }

  private available(now: Instant, rate: number): number {
    const cap = this.capacity(rate);
    if (!this.started) return cap;
    const t = this.tokens + ((now - this.last) * rate) / 1e6;
    return t < cap ? t : cap;
  }
}
