import type { Rng } from '../../rng.js';
import type { Duration, Instant } from '../../time.js';
import { DeliveryRateSampler } from '../delivery-rate.js';
import { WindowedFilter } from '../windowed-filter.js';
import {
  BETA,
  DEFAULT_CWND_GAIN,
  EXTRA_ACKED_FILTER_LEN,
  FULL_BW_COUNT,
  FULL_BW_THRESHOLD,
  HEADROOM,
  INIT_PACING_RTT,
  LOSS_THRESH,
  MAX_BW_FILTER_LEN,
  MIN_PIPE_CWND_PACKETS,
  PROBE_RTT_CWND_GAIN,
  STARTUP_PACING_GAIN,
} from './constants.js';

/** The ProbeBW sub-states (draft §5.3.3). */
export type ProbeBwPhase = 'down' | 'cruise' | 'refill' | 'up';

/** The BBR state machine (draft §5.3); each variant's behaviour lives in its own module. */
export type BbrMode =
  | { readonly kind: 'startup' }
  | { readonly kind: 'drain' }
  | { readonly kind: 'probe_bw'; readonly phase: ProbeBwPhase }
  | { readonly kind: 'probe_rtt' };

// One immutable object per variant, so transitions allocate nothing.
export const MODE_STARTUP: BbrMode = { kind: 'startup' };
export const MODE_DRAIN: BbrMode = { kind: 'drain' };
export const MODE_PROBE_BW_DOWN: BbrMode = { kind: 'probe_bw', phase: 'down' };
export const MODE_PROBE_BW_CRUISE: BbrMode = { kind: 'probe_bw', phase: 'cruise' };
export const MODE_PROBE_BW_REFILL: BbrMode = { kind: 'probe_bw', phase: 'refill' };
export const MODE_PROBE_BW_UP: BbrMode = { kind: 'probe_bw', phase: 'up' };
export const MODE_PROBE_RTT: BbrMode = { kind: 'probe_rtt' };

/** Which packets the arriving ACKs describe during ProbeBW (draft BBR.ack_phase). */
export type AckPhase = 'init' | 'probe_starting' | 'probe_feedback' | 'probe_stopping' | 'refilling';

const INF = Number.POSITIVE_INFINITY;

/**
 * Everything BBR knows, shared by the mode modules (quiche's shape: one
 * estimator state, several mode handlers). Field names follow the draft:
 * C.* connection state, BBR.* algorithm state, RS.* in the sampler.
 * Bytes and bytes/second throughout; times in µs.
 */
export class BbrState {
  mtu: number;
  readonly initialCwnd: number;
  readonly sampler = new DeliveryRateSampler();
  private readonly rng: Rng;
  private readonly rngBuf = new Uint8Array(4);

  mode: BbrMode = MODE_STARTUP;
  pacingGain = STARTUP_PACING_GAIN;
  cwndGain = DEFAULT_CWND_GAIN;

  // C.*: the controller's outputs and view of the connection.
  cwnd: number;
  pacingRate: number;
  /** The pacing rate was re-initialised from a real RTT sample. */
  hasSeenRtt = false;
  sendQuantum: number;
  /** C.inflight as of the last ACK. */
  inflight = 0;
  /** C.is_cwnd_limited: the window was full at some point in the last round. */
  isCwndLimited = false;
  cwndLimitedInRound = false;

  // Round counting (§5.5.1).
  roundCount = 0;
  roundStart = false;
  nextRoundDelivered = 0;

  // Long-term model: max_bw over the last two ProbeBW cycles (§5.5.2).
  readonly maxBwFilter = new WindowedFilter('max', MAX_BW_FILTER_LEN);
  maxBw = 0;
  cycleCount = 0;
  /** BBR.bw = min(max_bw, bw_shortterm). */
  bw = 0;
  bdp = 0;

  // min_rtt and its ProbeRTT refresh (§5.5.3).
  minRtt: Duration = INF;
  minRttStamp: Instant = 0;
  probeRttMinDelay: Duration = INF;
  probeRttMinStamp: Instant = 0;
  probeRttExpired = false;

  // ACK aggregation (§5.5.4).
  readonly extraAckedFilter = new WindowedFilter('max', EXTRA_ACKED_FILTER_LEN);
  extraAcked = 0;
  extraAckedIntervalStart: Instant = 0;
  extraAckedDelivered = 0;
  offloadBudget = 0;
  maxInflight = 0;

  // Bounds from loss: long-term (per probing cycle) and short-term (per round) (§5.5.10).
  inflightLongterm = INF;
  bwShortterm = INF;
  inflightShortterm = INF;
  bwLatest = 0;
  inflightLatest = 0;

  // Loss rounds (§5.5.10.2).
  lossRoundDelivered = 0;
  lossRoundStart = false;
  lossInRound = false;
  // Startup's high-loss test counts these over one loss round (§5.3.1.3).
  lossEventsInRound = 0;
  lostBytesInRound = 0;
  ackedBytesInRound = 0;
  lastLostPn = -2;

  // Full-pipe estimation (§5.3.1.2).
  fullBw = 0;
  fullBwCount = 0;
  fullBwNow = false;
  fullBwReached = false;

  // ProbeBW cycle (§5.3.3).
  cycleStamp: Instant = 0;
  ackPhase: AckPhase = 'init';
  bwProbeWait: Duration = 0;
  roundsSinceBwProbe = 0;
  bwProbeUpRounds = 0;
  bwProbeUpAcks = 0;
  probeUpCnt = INF;
  bwProbeSamples = false;
  /**
   * C.delivered when REFILL started and when DOWN started (Infinity while
   * probing): a packet belongs to the probe when its P.delivered lies between.
   */
  probeStartDelivered = Number.POSITIVE_INFINITY;
  probeEndDelivered = Number.POSITIVE_INFINITY;

  // ProbeRTT (§5.3.4).
  probeRttDoneStamp: Instant = -1;
  probeRttRoundDone = false;
  priorCwnd = 0;
  idleRestart = false;

  // Loss recovery episode (§5.6.4.4).
  inRecovery = false;
  recoveryStart: Instant = Number.NEGATIVE_INFINITY;
  recoveryPending = false;

  constructor(mtu: number, initialCwndPackets: number, rng: Rng) {
    this.mtu = mtu;
    this.rng = rng;
    this.initialCwnd = initialCwndPackets * mtu;
    this.cwnd = this.initialCwnd;
    // §5.6.2 BBRInitPacingRate: no SRTT yet, so the nominal RTT is 1 ms.
    this.pacingRate = (STARTUP_PACING_GAIN * this.initialCwnd * 1e6) / INIT_PACING_RTT;
    this.sendQuantum = 2 * mtu;
  }

  get minPipeCwnd(): number {
    return MIN_PIPE_CWND_PACKETS * this.mtu;
  }

  /** Uniform float in [0, 1) from the injected Rng. */
  random(): number {
    this.rng.fill(this.rngBuf);
    const b = this.rngBuf;
    return (((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0) / 4294967296;
  }

  // --- rounds -------------------------------------------------------------

  /** BBRStartRound: the round ends when data sent from now on is delivered. */
  startRound(): void {
    this.nextRoundDelivered = this.sampler.delivered;
  }

  /** BBRUpdateRound (§5.5.1), from the newest acknowledged packet's P.delivered. */
  updateRound(): void {
    const s = this.sampler;
    if (s.rsHasPacket && s.rsPriorDelivered >= this.nextRoundDelivered) {
      this.startRound();
      this.roundCount++;
      this.roundsSinceBwProbe++;
      this.roundStart = true;
      this.isCwndLimited = this.cwndLimitedInRound;
      this.cwndLimitedInRound = false;
    } else {
      this.roundStart = false;
    }
  }

  // --- model: bandwidth, BDP, inflight targets ------------------------------

  /** BBRUpdateMaxBw (§5.5.2): feed the max filter, skipping app-limited underestimates. */
  updateMaxBw(rateValid: boolean): void {
    this.updateRound();
    const s = this.sampler;
    if (!rateValid) return;
    if (s.rsDeliveryRate >= this.maxBw || !s.rsIsAppLimited) {
      this.maxBw = this.maxBwFilter.update(s.rsDeliveryRate, this.cycleCount);
    }
  }

  /** BBRAdvanceMaxBwFilter (§5.5.2): one ProbeBW cycle passed. */
  advanceMaxBwFilter(): void {
    this.cycleCount++;
  }

  /** BBRBoundBWForModel. */
  boundBwForModel(): void {
    this.bw = Math.min(this.maxBw, this.bwShortterm);
  }

  /** BBRBDPMultiple(bw, gain) (§5.6.4.2). Before an RTT sample: the initial window. */
  bdpMultiple(bw: number, gain: number): number {
    if (this.minRtt === INF) return this.initialCwnd;
    this.bdp = (bw * this.minRtt) / 1e6;
    return gain * this.bdp;
  }

  /** BBRQuantizationBudget (§5.6.4.2): room for offload batches and the UP probe. */
  quantizationBudget(inflight: number): number {
    this.offloadBudget = 3 * this.sendQuantum;
    let v = Math.max(inflight, this.offloadBudget, this.minPipeCwnd);
    if (this.mode.kind === 'probe_bw' && this.mode.phase === 'up') v += 2 * this.mtu;
    return v;
  }

  /** BBRInflight(bw, gain). */
  inflightFor(bw: number, gain: number): number {
    return this.quantizationBudget(this.bdpMultiple(bw, gain));
  }

  /** BBRInflightWithHeadroom (§5.3.3.6): inflight_longterm minus a share for other flows. */
  inflightWithHeadroom(): number {
    if (this.inflightLongterm === INF) return INF;
    const headroom = Math.max(this.mtu, HEADROOM * this.inflightLongterm);
    return Math.max(this.inflightLongterm - headroom, this.minPipeCwnd);
  }

  /** BBRTargetInflight (§5.3.3.5.3). */
  targetInflight(): number {
    return Math.min(this.bdp, this.cwnd);
  }

  /** BBRProbeRTTCwnd (§5.6.4.5). */
  probeRttCwnd(): number {
    return Math.max(this.bdpMultiple(this.bw, PROBE_RTT_CWND_GAIN), this.minPipeCwnd);
  }

  // --- full pipe --------------------------------------------------------------

  /** BBRResetFullBW. */
  resetFullBw(): void {
    this.fullBw = 0;
    this.fullBwCount = 0;
    this.fullBwNow = false;
  }

  /** BBRCheckFullBWReached (§5.3.1.2): 3 rounds without 25 % delivery-rate growth. */
  checkFullBwReached(rateValid: boolean): void {
    const s = this.sampler;
    if (this.fullBwNow || !this.roundStart || !rateValid || s.rsIsAppLimited) return;
    if (s.rsDeliveryRate >= this.fullBw * FULL_BW_THRESHOLD) {
      this.resetFullBw();
      this.fullBw = s.rsDeliveryRate;
      return;
    }
    this.fullBwCount++;
    this.fullBwNow = this.fullBwCount >= FULL_BW_COUNT;
    if (this.fullBwNow) this.fullBwReached = true;
  }

  // --- loss signals -----------------------------------------------------------

  /** IsInflightTooHigh (§5.5.10.2): the sample's loss rate exceeds BBRLossThresh. */
  isInflightTooHigh(lost: number, txInFlight: number): boolean {
    return lost > txInFlight * LOSS_THRESH;
  }

  /**
   * Was a packet with this P.delivered sent during REFILL or UP? The draft
   * reacts to loss "of packets sent while probing"; BBR.bw_probe_samples
   * alone also admits packets sent just before the probe and during the first
   * round of DOWN, whose lower inflight would drag inflight_longterm down.
   */
  sentWhileProbing(pDelivered: number): boolean {
    return pDelivered >= this.probeStartDelivered && pDelivered <= this.probeEndDelivered;
  }

  /** BBRNoteLoss: the first loss of a round starts a loss round. */
  noteLoss(): void {
    if (!this.lossInRound) this.lossRoundDelivered = this.sampler.delivered;
    this.lossInRound = true;
  }

  /** BBRUpdateLatestDeliverySignals (§5.5.10.3), at the start of ACK processing. */
  updateLatestDeliverySignals(rateValid: boolean): void {
    const s = this.sampler;
    this.lossRoundStart = false;
    if (rateValid) this.bwLatest = Math.max(this.bwLatest, s.rsDeliveryRate);
    this.inflightLatest = Math.max(this.inflightLatest, s.rsDelivered);
    if (s.rsHasPacket && s.rsPriorDelivered >= this.lossRoundDelivered) {
      this.lossRoundDelivered = s.delivered;
      this.lossRoundStart = true;
    }
  }

  /** BBRAdvanceLatestDeliverySignals, at the end of ACK processing. */
  advanceLatestDeliverySignals(rateValid: boolean): void {
    if (!this.lossRoundStart) return;
    const s = this.sampler;
    this.bwLatest = rateValid ? s.rsDeliveryRate : 0;
    this.inflightLatest = s.rsDelivered;
    // Startup's per-round loss counters restart with the loss round.
    this.lossEventsInRound = 0;
    this.lostBytesInRound = 0;
    this.ackedBytesInRound = 0;
  }

  /** BBRResetCongestionSignals. */
  resetCongestionSignals(): void {
    this.lossInRound = false;
    this.bwLatest = 0;
    this.inflightLatest = 0;
  }

  /** BBRResetShortTermModel. */
  resetShortTermModel(): void {
    this.bwShortterm = INF;
    this.inflightShortterm = INF;
  }

  /** BBRIsProbingBW: states that deliberately exceed the model ignore short-term cuts. */
  isProbingBw(): boolean {
    const m = this.mode;
    return m.kind === 'startup' || (m.kind === 'probe_bw' && (m.phase === 'refill' || m.phase === 'up'));
  }

  /** BBRAdaptLowerBoundsFromCongestion (§5.5.10.3), once per loss round. */
  adaptLowerBoundsFromCongestion(): void {
    if (this.isProbingBw() || !this.lossInRound) return;
    // BBRInitLowerBounds, then BBRLossLowerBounds.
    if (this.bwShortterm === INF) this.bwShortterm = this.maxBw;
    if (this.inflightShortterm === INF) this.inflightShortterm = this.cwnd;
    this.bwShortterm = Math.max(this.bwLatest, BETA * this.bwShortterm);
    this.inflightShortterm = Math.max(this.inflightLatest, BETA * this.inflightShortterm);
  }

  // --- cwnd save/restore (§5.6.4.4) -------------------------------------------

  saveCwnd(): void {
    if (!this.inRecovery && this.mode.kind !== 'probe_rtt') this.priorCwnd = this.cwnd;
    else this.priorCwnd = Math.max(this.priorCwnd, this.cwnd);
  }

  restoreCwnd(): void {
    this.cwnd = Math.max(this.cwnd, this.priorCwnd);
  }
}
