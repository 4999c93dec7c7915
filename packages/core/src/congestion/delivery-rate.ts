import type { Duration, Instant } from '../time.js';

/** Small at first (every half-open session has a sampler); grows as packets fly. */
const INITIAL_CAPACITY = 64;

/**
 * Delivery-rate sampling (BBR draft §4.1, "Delivery Rate Samples"), kept
 * apart from BBR so any controller can use it.
 *
 * Per-packet state (P.delivered, P.delivered_time, P.first_send_time,
 * P.is_app_limited, P.tx_in_flight, P.lost, send time, size) lives in
 * parallel typed arrays indexed by packet number modulo a power-of-two ring,
 * so sending and acknowledging allocate nothing. The ring spans the packets
 * not yet acknowledged or lost and doubles when that span outgrows it.
 *
 * Per ACK frame: `onAck` for each newly acknowledged packet, then
 * `generate(now, minRtt)` builds the rate sample in the public `rs*` fields.
 * `onLost` reports a loss and exposes the lost packet's send-time state in the
 * `lost*` fields until the next call.
 */
export class DeliveryRateSampler {
  // Connection state (C.*).
  /** C.delivered: bytes delivered over the connection's lifetime. */
  delivered = 0;
  /** C.delivered_time. */
  deliveredTime: Instant = 0;
  /** C.first_send_time. */
  firstSendTime: Instant = 0;
  /** C.app_limited: the C.delivered value at which the app-limited phase ends, 0 when not app-limited. */
  appLimitedUntil = 0;
  /** C.lost: bytes lost over the connection's lifetime. */
  lost = 0;

  // Rate sample of the last ACK (RS.*). Valid after generate() returned true.
  rsDeliveryRate = 0; // bytes/s
  rsDelivered = 0; // bytes delivered over the sample interval
  rsInterval: Duration = 0;
  rsPriorDelivered = 0;
  rsIsAppLimited = false;
  rsTxInFlight = 0;
  /** Bytes lost while the newest acknowledged packet was in flight. */
  rsLost = 0;
  /** RTT of the newest acknowledged packet, µs (-1 if none). */
  rsRtt: Duration = -1;
  rsNewlyAcked = 0;
  rsNewlyLost = 0;
  /** The newest acknowledged packet's own P.delivered (for round counting). */
  rsHasPacket = false;
  private rsPriorTime: Instant = 0;
  private rsSendElapsed: Duration = 0;
  private rsAckElapsed: Duration = 0;
  private rsLostAtSend = 0;
  private rsSendTime: Instant = 0;

  // State of the packet passed to the last onLost().
  lostTxInFlight = 0;
  lostLostAtSend = 0;
  lostIsAppLimited = false;
  /** P.delivered of the lost packet: when, in delivery terms, it was sent. */
  lostDelivered = 0;

  // Ring of per-packet state.
  private cap = INITIAL_CAPACITY;
  private mask = INITIAL_CAPACITY - 1;
  private base = 0; // lowest packet number that may still be live
  private end = 0; // one past the highest packet number recorded
  private live = new Uint8Array(INITIAL_CAPACITY);
  private appLimitedFlag = new Uint8Array(INITIAL_CAPACITY);
  private pDelivered = new Float64Array(INITIAL_CAPACITY);
  private pDeliveredTime = new Float64Array(INITIAL_CAPACITY);
  private pFirstSendTime = new Float64Array(INITIAL_CAPACITY);
  private pSendTime = new Float64Array(INITIAL_CAPACITY);
  private pTxInFlight = new Float64Array(INITIAL_CAPACITY);
  private pLost = new Float64Array(INITIAL_CAPACITY);
  private pSize = new Float64Array(INITIAL_CAPACITY);

  /** Packets currently tracked (sent, neither acknowledged nor lost). */
  get tracked(): number {
    let n = 0;
    for (let pn = this.base; pn < this.end; pn++) n += this.live[pn & this.mask] as number;
    return n;
  }

  /** OnPacketSent (§4.1.2.2). `inflightAfter` includes this packet. */
  onSent(now: Instant, pn: number, bytes: number, inflightAfter: number): void {
    if (inflightAfter - bytes <= 0) {
      // Nothing was in flight: start a fresh sending interval.
      this.firstSendTime = now;
      this.deliveredTime = now;
    }
    if (this.end === this.base) this.base = this.end = pn;
    if (pn < this.end) return; // numbers must increase; ignore a repeat
    while (pn - this.base >= this.cap) this.grow();
    const i = pn & this.mask;
    this.live[i] = 1;
    this.appLimitedFlag[i] = this.appLimitedUntil !== 0 ? 1 : 0;
    this.pDelivered[i] = this.delivered;
    this.pDeliveredTime[i] = this.deliveredTime;
    this.pFirstSendTime[i] = this.firstSendTime;
    this.pSendTime[i] = now;
    this.pTxInFlight[i] = inflightAfter;
    this.pLost[i] = this.lost;
    this.pSize[i] = bytes;
    this.end = pn + 1;
  }

  /** The application ran out of data (§4.1.2.3 MarkConnectionAppLimited). */
  markAppLimited(bytesInFlight: number): void {
    this.appLimitedUntil = Math.max(this.delivered + bytesInFlight, 1);
  }

  /** UpdateRateSample (§4.1.2.4) for one newly acknowledged packet. Returns false if unknown. */
  onAck(now: Instant, pn: number): boolean {
    if (pn < this.base || pn >= this.end) return false;
    const i = pn & this.mask;
    if (this.live[i] === 0) return false;
    const size = this.pSize[i] as number;
    this.delivered += size;
    this.deliveredTime = now;
    this.rsNewlyAcked += size;
    const pDelivered = this.pDelivered[i] as number;
    // Use the newest packet delivered (largest P.delivered; ties: latest sent).
    if (!this.rsHasPacket || pDelivered >= this.rsPriorDelivered) {
      this.rsHasPacket = true;
      this.rsPriorDelivered = pDelivered;
      this.rsPriorTime = this.pDeliveredTime[i] as number;
      this.rsIsAppLimited = this.appLimitedFlag[i] === 1;
      this.rsSendTime = this.pSendTime[i] as number;
      this.rsSendElapsed = this.rsSendTime - (this.pFirstSendTime[i] as number);
      this.rsAckElapsed = now - this.rsPriorTime;
      this.rsTxInFlight = this.pTxInFlight[i] as number;
      this.rsLostAtSend = this.pLost[i] as number;
      this.rsRtt = now - this.rsSendTime;
      this.firstSendTime = this.rsSendTime;
    }
    this.release(i);
    return true;
  }

  /** A packet was declared lost. Exposes its send-time state in lost*. Returns false if unknown. */
  onLost(pn: number): boolean {
    if (pn < this.base || pn >= this.end) return false;
    const i = pn & this.mask;
    if (this.live[i] === 0) return false;
    const size = this.pSize[i] as number;
    this.lost += size;
    this.rsNewlyLost += size;
    this.lostTxInFlight = this.pTxInFlight[i] as number;
    this.lostLostAtSend = this.pLost[i] as number;
    this.lostIsAppLimited = this.appLimitedFlag[i] === 1;
    this.lostDelivered = this.pDelivered[i] as number;
    this.release(i);
    return true;
  }

  /**
   * GenerateRateSample (§4.1.2.5): finish the sample for this ACK frame.
   * Returns true when a rate is available in rsDeliveryRate; the rs* fields
   * describe the newest acknowledged packet either way. Call `endAck()` after
   * the controller consumed the sample.
   */
  generate(minRtt: Duration): boolean {
    if (this.appLimitedUntil !== 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;
    this.rsDeliveryRate = 0;
    if (!this.rsHasPacket) return false;
    this.rsLost = this.lost - this.rsLostAtSend;
    this.rsDelivered = this.delivered - this.rsPriorDelivered;
    // The longer of the send and ACK intervals, so ACK compression cannot
    // inflate the rate (§4.1.2.5).
    this.rsInterval = Math.max(this.rsSendElapsed, this.rsAckElapsed);
    // An interval shorter than min_rtt is not a trustworthy rate.
    if (this.rsInterval <= 0 || this.rsInterval < minRtt) return false;
    this.rsDeliveryRate = (this.rsDelivered * 1e6) / this.rsInterval;
    return true;
  }

  /** Reset the per-ACK accumulators. */
  endAck(): void {
    this.rsHasPacket = false;
    this.rsNewlyAcked = 0;
    this.rsNewlyLost = 0;
    this.rsRtt = -1;
  }

  private release(i: number): void {
    this.live[i] = 0;
    while (this.base < this.end && this.live[this.base & this.mask] === 0) this.base++;
  }

  private grow(): void {
    const oldCap = this.cap;
    const oldMask = this.mask;
    const cap = oldCap * 2;
    const mask = cap - 1;
    const move = <A extends Uint8Array | Float64Array>(old: A, make: (n: number) => A): A => {
      const next = make(cap);
      for (let pn = this.base; pn < this.end; pn++) next[pn & mask] = old[pn & oldMask] as number;
      return next;
    };
    this.live = move(this.live, (n) => new Uint8Array(n));
    this.appLimitedFlag = move(this.appLimitedFlag, (n) => new Uint8Array(n));
    this.pDelivered = move(this.pDelivered, (n) => new Float64Array(n));
    this.pDeliveredTime = move(this.pDeliveredTime, (n) => new Float64Array(n));
    this.pFirstSendTime = move(this.pFirstSendTime, (n) => new Float64Array(n));
    this.pSendTime = move(this.pSendTime, (n) => new Float64Array(n));
    this.pTxInFlight = move(this.pTxInFlight, (n) => new Float64Array(n));
    this.pLost = move(this.pLost, (n) => new Float64Array(n));
    this.pSize = move(this.pSize, (n) => new Float64Array(n));
    this.cap = cap;
    this.mask = mask;
  }
}
