import { WraithError } from '../errors.js';
import { NEVER, type Duration, type Instant } from '../time.js';
import type { CongestionController } from '../congestion/controller.js';
import { Pacer } from '../congestion/pacer.js';
import {
  DEFAULT_MAX_PTO_INTERVAL,
  GRANULARITY,
  PACKET_THRESHOLD,
  PERSISTENT_CONGESTION_THRESHOLD,
  PTO_PROBES,
  TIME_THRESHOLD,
} from './constants.js';
import type { RttEstimator } from './rtt.js';

/** PROTOCOL.md §1 default max_datagram_size, used when no mtu is given. */
const DEFAULT_MTU = 1452;
/** How far below the datagram size a packet still counts as full-size (a frame that did not fit). */
const LARGE_SLACK = 64;
/** Small at first (a half-open session costs its arrays); grow() doubles as packets fly. */
const INITIAL_CAPACITY = 64;

// Per-packet flags.
const LIVE = 1;
const ACK_ELICITING = 2;
const IN_FLIGHT = 4;

export interface LossRecoveryOptions {
  congestion: CongestionController;
  rtt: RttEstimator;
  /** The peer's max_ack_delay. */
  maxAckDelay: Duration;
  /** Cap on the backed-off PTO (default 1 s); never below the base PTO. */
  maxPtoInterval?: Duration;
  /** Datagram size for the pacer's burst (default 1452). */
  mtu?: number;
  /** Cap on the pacing rate, bytes per second (default: none). */
  maxPacingRate?: number | null;
}

/** Result of onAckReceived. Both arrays are reused by the next onAckReceived call. */
export interface AckResult<T> {
  acked: T[];
  lost: T[];
}

/** Result of onTimeout. `lost` is reused by the next onTimeout call. */
export interface TimeoutResult<T> {
  lost: T[];
  /** Ack-eliciting probe datagrams to send now, regardless of the congestion window. */
  probes: number;
}

/**
 * Sender-side loss recovery for one packet number space (RFC 9002 §6–7):
 * ACK processing, RTT sampling, loss detection by packet threshold (3) and
 * time threshold (9/8 RTT), the probe timeout with exponential backoff capped
 * at `maxPtoInterval`, persistent congestion, and the congestion controller
 * and pacer behind them.
 *
 * Sent packets live in parallel typed arrays indexed by packet number modulo
 * a power-of-two ring (plus one array for the caller's tokens), spanning the
 * oldest unresolved packet to the newest; nothing is allocated per packet.
 * `T` is the caller's per-packet token (what the packet carried); tokens come
 * back through `acked` and `lost`.
 */
export class LossRecovery<T> {
  readonly pacer: Pacer;
  private readonly cc: CongestionController;
  private readonly rtt: RttEstimator;
  private readonly maxAckDelay: Duration;
  private readonly maxPtoInterval: Duration;

  private _bytesInFlight = 0;
  private ackElicitingInFlight = 0;
  private largestAcked = -1;
  private lossTime: Instant = NEVER;
  private timeOfLastAckEliciting: Instant = 0;
  private lastPtoFired: Instant = 0;
  private ptoCount = 0;
  /** Packets from this number on were sent after the first RTT sample (§7.6.2); -1 before it. */
  private firstPnAfterRttSample = -1;
  private appLimited = false;

  // Ring of sent packets.
  private cap = INITIAL_CAPACITY;
  private mask = INITIAL_CAPACITY - 1;
  private base = 0;
  private end = 0;
  private flags = new Uint8Array(INITIAL_CAPACITY);
  private sentTime = new Float64Array(INITIAL_CAPACITY);
  private size = new Float64Array(INITIAL_CAPACITY);
  private tokens: Array<T | undefined> = new Array<T | undefined>(INITIAL_CAPACITY);

  private readonly ackResult: AckResult<T> = { acked: [], lost: [] };
  private readonly timeoutResult: TimeoutResult<T> = { lost: [], probes: 0 };

  // Counters for metrics().
  private sentPackets = 0;
  private ackedPackets = 0;
  private lostPackets = 0;
  private lostBytes = 0;
  private ptoFired = 0;
  private persistentCongestion = 0;
  private ackOfUnsent = 0;

  // Full-size losses (largeLossRun): packets within LARGE_SLACK of the datagram size, lost
  // with no such packet acknowledged since.
  private largeSize: number;
  private largeRun = 0;
  private largeRunSince: Instant = NEVER;

  constructor(opts: LossRecoveryOptions) {
    this.cc = opts.congestion;
    this.rtt = opts.rtt;
    this.maxAckDelay = opts.maxAckDelay;
    this.maxPtoInterval = opts.maxPtoInterval ?? DEFAULT_MAX_PTO_INTERVAL;
    this.pacer = new Pacer(opts.congestion, opts.rtt, { mtu: opts.mtu ?? DEFAULT_MTU, maxRate: opts.maxPacingRate ?? null });
    this.largeSize = opts.mtu ?? DEFAULT_MTU;
  }

  /**
   * Full-size packets lost in a row, counting only ACKs that acknowledged no full-size packet,
   * and when the first of them was declared lost. Packets of the size get lost while smaller
   * ones (pings, ACKs) get through: a path MTU black hole, even where probe timeouts never run
   * three in a row because the small probes are acknowledged. A burst of congestion losses does
   * not count: the ACK that reveals it acknowledges full-size packets sent after them.
   */
  get largeLossRun(): { count: number; since: Instant } {
    return { count: this.largeRun, since: this.largeRunSince };
  }

  get bytesInFlight(): number {
    return this._bytesInFlight;
  }

  /** The congestion controller behind this space. */
  get congestion(): CongestionController {
    return this.cc;
  }

  /** Congestion window check (RFC 9002 §7): may `bytes` more go in flight? */
  canSend(bytes: number): boolean {
    const ok = this._bytesInFlight + bytes <= this.cc.window();
    if (!ok) this.appLimited = false; // the window, not the application, is the limit
    return ok;
  }

  /**
   * The send loop stopped for lack of data while canSend() and the pacer
   * allowed more: ACKs of what is in flight now do not measure the path.
   */
  onAppLimited(now: Instant): void {
    this.appLimited = true;
    this.cc.onAppLimited(now, this._bytesInFlight);
  }

  /**
   * Record a sent packet. Packet numbers must strictly increase. In-flight
   * packets are charged to the congestion window; the pacer is charged by the
   * caller (`pacer.onSent`), once per datagram that left.
   */
  onPacketSent(now: Instant, pn: number, bytes: number, ackEliciting: boolean, inFlight: boolean, token: T): void {
    if (pn < this.end) {
      throw new WraithError('E_INTERNAL', `packet number ${pn} sent after ${this.end - 1}`, { pn, last: this.end - 1 });
    }
    if (this.base === this.end) this.base = pn;
    while (pn - this.base >= this.cap) this.grow();
    const i = pn & this.mask;
    this.flags[i] = LIVE | (ackEliciting ? ACK_ELICITING : 0) | (inFlight ? IN_FLIGHT : 0);
    this.sentTime[i] = now;
    this.size[i] = bytes;
    this.tokens[i] = token;
    this.end = pn + 1;
    this.sentPackets++;
    if (!inFlight) return;
    this._bytesInFlight += bytes;
    if (ackEliciting) {
      this.ackElicitingInFlight++;
      this.timeOfLastAckEliciting = now;
    }
    this.cc.onSent(now, pn, bytes, this._bytesInFlight);
  }

  /**
   * Process an ACK frame (RFC 9002 §6, OnAckReceived). `ranges` are inclusive
   * [lo, hi] pairs, any order; unknown and already-resolved packet numbers
   * are ignored, as are numbers never sent (counted in metrics as
   * `ack_of_unsent`, a protocol violation the caller may act on).
   * The returned object and arrays are reused by the next call.
   */
  onAckReceived(now: Instant, largest: number, ackDelay: Duration, ranges: ReadonlyArray<readonly [number, number]>): AckResult<T> {
    const res = this.ackResult;
    res.acked.length = 0;
    res.lost.length = 0;
    if (largest >= this.end) {
      this.ackOfUnsent++;
      largest = this.end - 1;
    }
    if (largest < 0) return res;
    if (largest > this.largestAcked) this.largestAcked = largest;

    // RTT sample first (§5.1), so the controller sees it with this ACK's packets.
    if (this.isLive(largest) && this.anyAckElicitingLive(ranges)) {
      const first = !this.rtt.hasSample;
      this.rtt.update(ackDelay, now - (this.sentTime[largest & this.mask] as number), this.maxAckDelay);
      if (first) this.firstPnAfterRttSample = this.end;
    }

    const flags = this.flags;
    let ackedLarge = false;
    // Ascending packet-number order, whatever order the ranges came in.
    const n = ranges.length;
    const descending = n < 2 || (ranges[0] as readonly [number, number])[0] >= (ranges[n - 1] as readonly [number, number])[0];
    for (let k = 0; k < n; k++) {
      const r = ranges[descending ? n - 1 - k : k] as readonly [number, number];
      const lo = Math.max(r[0], this.base);
      const hi = Math.min(r[1], this.end - 1);
      for (let pn = lo; pn <= hi; pn++) {
        const i = pn & this.mask;
        const f = flags[i] as number;
        if ((f & LIVE) === 0) continue;
        const bytes = this.size[i] as number;
        res.acked.push(this.tokens[i] as T);
        this.tokens[i] = undefined;
        flags[i] = 0;
        this.ackedPackets++;
        if ((f & IN_FLIGHT) !== 0) {
          this._bytesInFlight -= bytes;
          if ((f & ACK_ELICITING) !== 0) this.ackElicitingInFlight--;
          this.cc.onAck(now, pn, this.sentTime[i] as number, bytes, this.appLimited, this.rtt);
          if (this.isLarge(bytes)) ackedLarge = true;
        }
      }
    }
    if (res.acked.length === 0) return res; // §6: nothing newly acknowledged, nothing to do
    this.advanceBase();
    this.detectLost(now, res.lost, true);
    if (ackedLarge) {
      this.largeRun = 0;
      this.largeRunSince = NEVER;
    }
    this.ptoCount = 0;
    this.cc.onEndAcks(now, this._bytesInFlight, this.appLimited, this.largestAcked);
    return res;
  }

  /**
   * The deadline from timeout() passed (safe to call early or twice): either
   * the time threshold declares packets lost, or the PTO fires and the
   * caller must send `probes` ack-eliciting datagrams now (bypassing the
   * congestion window), preferably carrying the oldest unacknowledged data.
   * The returned object and array are reused by the next call.
   */
  onTimeout(now: Instant): TimeoutResult<T> {
    const res = this.timeoutResult;
    res.lost.length = 0;
    res.probes = 0;
    if (this.lossTime <= now) {
      this.detectLost(now, res.lost, false);
      return res;
    }
    if (this.ackElicitingInFlight > 0 && this.ptoDeadline() <= now) {
      this.ptoCount++;
      this.ptoFired++;
      this.lastPtoFired = now;
      res.probes = PTO_PROBES;
    }
    return res;
  }

  /** The next loss-time or PTO deadline (§6.2.1 SetLossDetectionTimer), NEVER if none. */
  timeout(): Instant {
    if (this.lossTime !== NEVER) return this.lossTime;
    if (this.ackElicitingInFlight === 0) return NEVER;
    return this.ptoDeadline();
  }

  /** PTOs fired since the last newly acknowledged packet. */
  get consecutivePtos(): number {
    return this.ptoCount;
  }

  /** The PTO period now in force, with backoff (§6.2.1) and the cap. */
  ptoPeriod(): Duration {
    const base = this.rtt.pto(this.maxAckDelay);
    const backedOff = base * 2 ** this.ptoCount;
    return Math.min(backedOff, Math.max(base, this.maxPtoInterval));
  }

  onMtuUpdate(mtu: number): void {
    this.cc.onMtuUpdate(mtu);
    this.pacer.onMtuUpdate(mtu);
    // Packets of the old size still in flight say nothing about the new one.
    this.largeSize = mtu;
    this.largeRun = 0;
    this.largeRunSince = NEVER;
  }

  metrics(): Record<string, number> {
    return {
      cwnd: this.cc.window(),
      bytes_in_flight: this._bytesInFlight,
      srtt_us: this.rtt.smoothed,
      rttvar_us: this.rtt.rttvar,
      min_rtt_us: this.rtt.min,
      latest_rtt_us: this.rtt.latest,
      // bits per second (pacer.rate() is bytes per second)
      pacing_rate_bps: this.pacer.rate() * 8,
      sent_packets: this.sentPackets,
      acked_packets: this.ackedPackets,
      lost_packets: this.lostPackets,
      lost_bytes: this.lostBytes,
      pto_count: this.ptoCount,
      pto_fired: this.ptoFired,
      persistent_congestion: this.persistentCongestion,
      ack_of_unsent: this.ackOfUnsent,
      ...this.cc.metrics(),
    };
  }

  private ptoDeadline(): Instant {
    // After a PTO fired, count from it even if the caller sent no probe, so the timer always moves forward.
    return Math.max(this.timeOfLastAckEliciting, this.lastPtoFired) + this.ptoPeriod();
  }

  /**
   * DetectAndRemoveLostPackets (§6.1) plus the persistent-congestion check
   * (§7.6.2, on ACKs only): a run of lost ack-eliciting packets, with no
   * packet between them acknowledged, spanning more than 3 PTOs.
   */
  private detectLost(now: Instant, out: T[], viaAck: boolean): void {
    this.lossTime = NEVER;
    const rtt = this.rtt;
    const lossDelay = Math.max(TIME_THRESHOLD * Math.max(rtt.latest, rtt.smoothed), GRANULARITY);
    const pcPeriod =
      (rtt.smoothed + Math.max(4 * rtt.rttvar, GRANULARITY) + this.maxAckDelay) * PERSISTENT_CONGESTION_THRESHOLD;
    const flags = this.flags;
    const last = Math.min(this.largestAcked, this.end - 1);
    let lostBytes = 0;
    let lostAny = false;
    let newestLostSent = Number.NEGATIVE_INFINITY;
    let pcStart = -1;
    let prevPn = -2;
    let persistent = false;
    for (let pn = this.base; pn <= last; pn++) {
      const i = pn & this.mask;
      const f = flags[i] as number;
      if ((f & LIVE) === 0) continue;
      // A gap means an acknowledged (or earlier resolved) packet: the loss run breaks.
      if (pn !== prevPn + 1) pcStart = -1;
      prevPn = pn;
      const sent = this.sentTime[i] as number;
      // sent + lossDelay is both the test and the deadline, so the timer and the check agree to the bit.
      const lostAt = sent + lossDelay;
      if (lostAt > now && this.largestAcked < pn + PACKET_THRESHOLD) {
        if (lostAt < this.lossTime) this.lossTime = lostAt;
        pcStart = -1;
        continue;
      }
      const bytes = this.size[i] as number;
      out.push(this.tokens[i] as T);
      this.tokens[i] = undefined;
      flags[i] = 0;
      this.lostPackets++;
      if ((f & IN_FLIGHT) !== 0) {
        lostAny = true;
        this._bytesInFlight -= bytes;
        lostBytes += bytes;
        this.lostBytes += bytes;
        if (sent > newestLostSent) newestLostSent = sent;
        if ((f & ACK_ELICITING) !== 0) {
          this.ackElicitingInFlight--;
          if (this.isLarge(bytes)) {
            if (this.largeRun === 0) this.largeRunSince = now;
            this.largeRun++;
          }
        }
        this.cc.onPacketLost(now, pn, bytes);
      }
      if (viaAck && (f & ACK_ELICITING) !== 0) {
        if (pcStart < 0) {
          if (this.firstPnAfterRttSample >= 0 && pn >= this.firstPnAfterRttSample) pcStart = sent;
        } else if (sent - pcStart > pcPeriod) {
          persistent = true;
        }
      }
    }
    this.advanceBase();
    if (!lostAny) return;
    if (persistent) this.persistentCongestion++;
    this.cc.onCongestionEvent(now, newestLostSent, persistent, lostBytes);
  }

  /** Within LARGE_SLACK below the datagram size, and not above it (a packet of an older, larger size). */
  private isLarge(bytes: number): boolean {
    return bytes <= this.largeSize && bytes > this.largeSize - LARGE_SLACK;
  }

  private isLive(pn: number): boolean {
    return pn >= this.base && pn < this.end && ((this.flags[pn & this.mask] as number) & LIVE) !== 0;
  }

  /** Does any range cover a live ack-eliciting packet? (Usually the largest itself.) */
  private anyAckElicitingLive(ranges: ReadonlyArray<readonly [number, number]>): boolean {
    for (const r of ranges) {
      const hi = Math.min(r[1], this.end - 1);
      for (let pn = hi; pn >= Math.max(r[0], this.base); pn--) {
        if (((this.flags[pn & this.mask] as number) & (LIVE | ACK_ELICITING)) === (LIVE | ACK_ELICITING)) return true;
      }
    }
    return false;
  }

  private advanceBase(): void {
    while (this.base < this.end && ((this.flags[this.base & this.mask] as number) & LIVE) === 0) this.base++;
  }

  private grow(): void {
    const oldMask = this.mask;
    const cap = this.cap * 2;
    const mask = cap - 1;
    const flags = new Uint8Array(cap);
    const sentTime = new Float64Array(cap);
    const size = new Float64Array(cap);
    const tokens = new Array<T | undefined>(cap);
    for (let pn = this.base; pn < this.end; pn++) {
      const a = pn & oldMask;
      const b = pn & mask;
      flags[b] = this.flags[a] as number;
      sentTime[b] = this.sentTime[a] as number;
      size[b] = this.size[a] as number;
      tokens[b] = this.tokens[a];
    }
    this.cap = cap;
    this.mask = mask;
    this.flags = flags;
    this.sentTime = sentTime;
    this.size = size;
    this.tokens = tokens;
  }
}
