import type { Instant } from '../../time.js';
import { SeededRng } from '../../rng.js';
import type { RttEstimator } from '../../recovery/rtt.js';
import type { CongestionController, ControllerOptions } from '../controller.js';
import { INITIAL_WINDOW_PACKETS } from '../constants.js';
import {
  MIN_RTT_FILTER_LEN,
  PACING_MARGIN,
  PROBE_RTT_INTERVAL,
  SEND_QUANTUM_INTERVAL,
  SEND_QUANTUM_MAX,
  STARTUP_PACING_GAIN,
} from './constants.js';
import * as drain from './drain.js';
import * as probeBw from './probe-bw.js';
import * as probeRtt from './probe-rtt.js';
import * as startup from './startup.js';
import { BbrState } from './state.js';

/** Fallback seed when no Rng is injected (documented on ControllerOptions.rng). */
const DEFAULT_SEED = 0x0bb3;

const MODE_CODE = { startup: 0, drain: 1, probe_bw: 2, probe_rtt: 3 } as const;
const PHASE_CODE = { down: 0, cruise: 1, refill: 2, up: 3 } as const;

/**
 * BBRv3 (draft-ietf-ccwg-bbr) behind the CongestionController events.
 * This file only wires the per-ACK steps in the draft's order
 * (BBRUpdateModelAndState, then BBRUpdateControlParameters); the estimator
 * lives in state.ts and each mode in its own module.
 */
export class Bbr implements CongestionController {
  readonly s: BbrState;
  private maxAckedSentTime: Instant = Number.NEGATIVE_INFINITY;

  constructor(opts: ControllerOptions) {
    this.s = new BbrState(opts.mtu, opts.initialWindowPackets ?? INITIAL_WINDOW_PACKETS, opts.rng ?? new SeededRng(DEFAULT_SEED));
    startup.enter(this.s, 0);
  }

  onSent(now: Instant, pn: number, bytes: number, bytesInFlight: number): void {
    const s = this.s;
    if (bytesInFlight - bytes <= 0 && s.sampler.appLimitedUntil !== 0) this.handleRestartFromIdle(now);
    s.sampler.onSent(now, pn, bytes, bytesInFlight);
    if (bytesInFlight + s.mtu > s.cwnd) s.cwndLimitedInRound = true;
  }

  onAck(now: Instant, pn: number, sentTime: Instant, _bytes: number, _appLimited: boolean, rtt: RttEstimator): void {
    const s = this.s;
    if (!s.hasSeenRtt && rtt.hasSample) {
      // §5.6.2 BBRInitPacingRate, redone with the first real RTT (as tcp_bbr does):
      // the 1 ms guess would let Startup burst at hundreds of Mbit/s.
      s.hasSeenRtt = true;
      s.pacingRate = (STARTUP_PACING_GAIN * s.initialCwnd * 1e6) / Math.max(rtt.smoothed, 1);
    }
    if (s.sampler.onAck(now, pn) && sentTime > this.maxAckedSentTime) this.maxAckedSentTime = sentTime;
  }

  onPacketLost(now: Instant, pn: number, bytes: number): void {
    const s = this.s;
    if (!s.sampler.onLost(pn)) return;
    s.lostBytesInRound += bytes;
    if (pn !== s.lastLostPn + 1) s.lossEventsInRound++;
    s.lastLostPn = pn;
    probeBw.handleLostPacket(s, now, bytes);
  }

  onCongestionEvent(now: Instant, sentTime: Instant, isPersistentCongestion: boolean, _lostBytes: number): void {
    const s = this.s;
    if (isPersistentCongestion) {
      // RFC 9002 §7.6.2: collapse the window; recovery exit restores the saved one (draft §5.6.4.4).
      s.saveCwnd();
      s.inRecovery = true;
      s.recoveryStart = now;
      s.recoveryPending = false;
      s.cwnd = s.minPipeCwnd;
      return;
    }
    if (!s.inRecovery || sentTime > s.recoveryStart) {
      // Applied at the next onEndAcks, where inflight and newly_acked are known.
      if (!s.inRecovery) s.recoveryPending = true;
      s.recoveryStart = now;
    }
  }

  onEndAcks(now: Instant, bytesInFlight: number, _appLimited: boolean, _largestAckedPn: number): void {
    const s = this.s;
    const rs = s.sampler;
    s.inflight = bytesInFlight;
    const valid = rs.generate(s.minRtt === Number.POSITIVE_INFINITY ? 0 : s.minRtt);
    // Nothing newly acknowledged: keep the loss accumulated so far for the next ACK.
    if (!rs.rsHasPacket) return;
    s.ackedBytesInRound += rs.rsNewlyAcked;
    this.updateRecovery();
    this.updateModelAndState(now, valid);
    this.updateControlParameters();
    rs.endAck();
    this.maxAckedSentTime = Number.NEGATIVE_INFINITY;
  }

  onAppLimited(_now: Instant, bytesInFlight: number): void {
    this.s.sampler.markAppLimited(bytesInFlight);
  }

  onMtuUpdate(mtu: number): void {
    this.s.mtu = mtu;
    this.s.cwnd = Math.max(this.s.cwnd, this.s.minPipeCwnd);
  }

  window(): number {
    return this.s.cwnd;
  }

  pacingRate(): number | null {
    return this.s.pacingRate;
  }

  metrics(): Record<string, number> {
    const s = this.s;
    const fin = (v: number): number => (Number.isFinite(v) ? v : -1);
    return {
      bbr_mode: MODE_CODE[s.mode.kind],
      bbr_phase: s.mode.kind === 'probe_bw' ? PHASE_CODE[s.mode.phase] : -1,
      bbr_max_bw: s.maxBw,
      bbr_bw: s.bw,
      bbr_min_rtt_us: fin(s.minRtt),
      bbr_bdp: s.bdp,
      bbr_inflight_longterm: fin(s.inflightLongterm),
      bbr_bw_shortterm: fin(s.bwShortterm),
      bbr_inflight_shortterm: fin(s.inflightShortterm),
      bbr_extra_acked: s.extraAcked,
      bbr_round_count: s.roundCount,
      bbr_cycle_count: s.cycleCount,
      bbr_full_bw_reached: s.fullBwReached ? 1 : 0,
      bbr_in_recovery: s.inRecovery ? 1 : 0,
      bbr_delivered: s.sampler.delivered,
      bbr_lost: s.sampler.lost,
    };
  }

  /**
   * Loss-recovery episodes (§5.6.4.4): on entry cwnd drops to what is in
   * flight (plus what this ACK delivered) and the old cwnd is saved; the
   * episode ends when a packet sent after the last loss is acknowledged and
   * the saved cwnd comes back. The draft's TCP packet conservation for the
   * first round is not applied: in QUIC its round kept coinciding with
   * ProbeBW_REFILL under random loss, so REFILL never refilled and the
   * probe's loss samples cut inflight_longterm to the un-refilled level.
   */
  private updateRecovery(): void {
    const s = this.s;
    const rs = s.sampler;
    if (s.recoveryPending) {
      s.recoveryPending = false;
      s.saveCwnd();
      s.inRecovery = true;
      s.cwnd = s.inflight + Math.max(rs.rsNewlyAcked, s.mtu);
    } else if (s.inRecovery && this.maxAckedSentTime > s.recoveryStart) {
      s.inRecovery = false;
      s.restoreCwnd();
    }
  }

  /** BBRUpdateModelAndState. */
  private updateModelAndState(now: Instant, valid: boolean): void {
    const s = this.s;
    s.updateLatestDeliverySignals(valid);
    // BBRUpdateCongestionSignals
    s.updateMaxBw(valid);
    if (s.lossRoundStart) {
      s.adaptLowerBoundsFromCongestion();
      s.lossInRound = false;
    }
    this.updateAckAggregation(now);
    s.checkFullBwReached(valid);
    if (s.mode.kind === 'startup') startup.onAck(s, now);
    if (s.mode.kind === 'drain') drain.onAck(s, now);
    if (s.fullBwReached) {
      probeBw.adaptLongTermModel(s, now);
      probeBw.onAck(s, now);
    }
    this.updateMinRtt(now);
    probeRtt.check(s, now);
    s.advanceLatestDeliverySignals(valid);
    s.boundBwForModel();
  }

  /** BBRUpdateControlParameters. */
  private updateControlParameters(): void {
    const s = this.s;
    // BBRSetPacingRate: only rises before the pipe is full.
    const rate = s.pacingGain * s.bw * (1 - PACING_MARGIN);
    if (s.fullBwReached || rate > s.pacingRate) s.pacingRate = rate;
    // BBRSetSendQuantum
    s.sendQuantum = Math.min(Math.max((s.pacingRate * SEND_QUANTUM_INTERVAL) / 1e6, 2 * s.mtu), SEND_QUANTUM_MAX);
    this.setCwnd();
  }

  /** BBRSetCwnd (§5.6.4.6). */
  private setCwnd(): void {
    const s = this.s;
    const rs = s.sampler;
    // BBRUpdateMaxInflight
    s.maxInflight = s.quantizationBudget(s.bdpMultiple(s.bw, s.cwndGain) + s.extraAcked);
    // BBRModulateCwndForRecovery (without packet conservation, see updateRecovery)
    if (rs.rsNewlyLost > 0) s.cwnd = Math.max(s.cwnd - rs.rsNewlyLost, s.mtu);
    if (s.fullBwReached) s.cwnd = Math.min(s.cwnd + rs.rsNewlyAcked, s.maxInflight);
    else if (s.cwnd < s.maxInflight || rs.delivered < s.initialCwnd) s.cwnd += rs.rsNewlyAcked;
    s.cwnd = Math.max(s.cwnd, s.minPipeCwnd);
    // BBRBoundCwndForProbeRTT
    if (s.mode.kind === 'probe_rtt') s.cwnd = Math.min(s.cwnd, s.probeRttCwnd());
    // BBRBoundCwndForModel
    let cap = Number.POSITIVE_INFINITY;
    const m = s.mode;
    if (m.kind === 'probe_bw' && m.phase !== 'cruise') cap = s.inflightLongterm;
    else if (m.kind === 'probe_rtt' || (m.kind === 'probe_bw' && m.phase === 'cruise')) cap = s.inflightWithHeadroom();
    cap = Math.max(Math.min(cap, s.inflightShortterm), s.minPipeCwnd);
    s.cwnd = Math.min(s.cwnd, cap);
  }

  /** BBRUpdateACKAggregation (§5.5.4): data acknowledged beyond what bw explains. */
  private updateAckAggregation(now: Instant): void {
    const s = this.s;
    let expected = (s.bw * (now - s.extraAckedIntervalStart)) / 1e6;
    if (s.extraAckedDelivered <= expected) {
      s.extraAckedDelivered = 0;
      s.extraAckedIntervalStart = now;
      expected = 0;
    }
    s.extraAckedDelivered += s.sampler.rsNewlyAcked;
    const extra = Math.min(s.extraAckedDelivered - expected, s.cwnd);
    s.extraAcked = s.extraAckedFilter.update(Math.max(extra, 0), s.roundCount);
  }

  /** BBRUpdateMinRTT (§5.5.3): min_rtt over 10 s, refreshed by ProbeRTT every 5 s. */
  private updateMinRtt(now: Instant): void {
    const s = this.s;
    s.probeRttExpired = now > s.probeRttMinStamp + PROBE_RTT_INTERVAL;
    const rtt = s.sampler.rsRtt;
    if (rtt >= 0 && (rtt < s.probeRttMinDelay || s.probeRttExpired)) {
      s.probeRttMinDelay = rtt;
      s.probeRttMinStamp = now;
    }
    const minRttExpired = now > s.minRttStamp + MIN_RTT_FILTER_LEN;
    if (s.probeRttMinDelay < s.minRtt || minRttExpired) {
      s.minRtt = s.probeRttMinDelay;
      s.minRttStamp = s.probeRttMinStamp;
    }
  }

  /** BBRHandleRestartFromIdle (§5.4.1): resume at the estimated bw, not below it. */
  private handleRestartFromIdle(now: Instant): void {
    const s = this.s;
    s.idleRestart = true;
    s.extraAckedIntervalStart = now;
    if (s.mode.kind === 'probe_bw') {
      const rate = s.bw * (1 - PACING_MARGIN);
      if (rate > 0) s.pacingRate = rate;
    } else if (s.mode.kind === 'probe_rtt') {
      probeRtt.checkDone(s, now);
    }
  }
}
