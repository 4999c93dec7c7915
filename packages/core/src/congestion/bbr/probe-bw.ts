import type { Instant } from '../../time.js';
import {
  BETA,
  DEFAULT_CWND_GAIN,
  LOSS_THRESH,
  MAX_PROBE_UP_ROUNDS,
  MAX_RENO_ROUNDS,
  PROBE_BW_CRUISE_PACING_GAIN,
  PROBE_BW_DOWN_PACING_GAIN,
  PROBE_BW_UP_CWND_GAIN,
  PROBE_BW_UP_PACING_GAIN,
  PROBE_WAIT_BASE,
  PROBE_WAIT_RAND,
} from './constants.js';
import {
  MODE_PROBE_BW_CRUISE,
  MODE_PROBE_BW_DOWN,
  MODE_PROBE_BW_REFILL,
  MODE_PROBE_BW_UP,
  type BbrMode,
  type BbrState,
} from './state.js';

/**
 * ProbeBW (draft §5.3.3): the steady state, a cycle of
 *   DOWN   (pacing 0.9)  drain any queue until inflight ≤ BDP, then
 *   CRUISE (pacing 1.0)  hold, keeping headroom below inflight_longterm, until
 *   REFILL (pacing 1.0)  one round at the model's bw with the short-term bounds lifted,
 *   UP     (pacing 1.25, cwnd gain 2.25)  probe until the delivery rate stops growing
 *                       or loss exceeds 2 %, then DOWN again.
 * A probe starts 2–3 s after DOWN (randomised), or sooner if a Reno flow with
 * the same BDP would have probed (at most 63 rounds).
 * This module also owns the loss response that bounds inflight_longterm,
 * since it is what ends a probe.
 */
export function enter(s: BbrState, now: Instant): BbrMode {
  s.cwndGain = DEFAULT_CWND_GAIN;
  return startDown(s, now);
}

/** BBRUpdateProbeBWCyclePhase, once the pipe has been filled. */
export function onAck(s: BbrState, now: Instant): BbrMode {
  const m = s.mode;
  if (m.kind !== 'probe_bw') return m;
  switch (m.phase) {
    case 'down':
      if (isTimeToProbeBw(s, now)) return s.mode;
      if (isTimeToCruise(s)) startCruise(s);
      break;
    case 'cruise':
      isTimeToProbeBw(s, now);
      break;
    case 'refill':
      // After one round at bw, the pipe is full: start probing.
      if (s.roundStart) {
        s.bwProbeSamples = true;
        startUp(s, now);
      }
      break;
    case 'up':
      if (isTimeToGoDown(s)) startDown(s, now);
      break;
  }
  return s.mode;
}

export function startDown(s: BbrState, now: Instant): BbrMode {
  s.resetCongestionSignals();
  if (s.probeEndDelivered === Number.POSITIVE_INFINITY) s.probeEndDelivered = s.sampler.delivered;
  s.probeUpCnt = Number.POSITIVE_INFINITY; // inflight_longterm is not growing
  pickProbeWait(s);
  s.cycleStamp = now;
  s.ackPhase = 'probe_stopping';
  s.startRound();
  s.mode = MODE_PROBE_BW_DOWN;
  s.pacingGain = PROBE_BW_DOWN_PACING_GAIN;
  s.cwndGain = DEFAULT_CWND_GAIN;
  return s.mode;
}

export function startCruise(s: BbrState): BbrMode {
  s.mode = MODE_PROBE_BW_CRUISE;
  s.pacingGain = PROBE_BW_CRUISE_PACING_GAIN;
  s.cwndGain = DEFAULT_CWND_GAIN;
  return s.mode;
}

function startRefill(s: BbrState): BbrMode {
  s.resetShortTermModel();
  s.probeStartDelivered = s.sampler.delivered;
  s.probeEndDelivered = Number.POSITIVE_INFINITY;
  s.bwProbeUpRounds = 0;
  s.bwProbeUpAcks = 0;
  s.ackPhase = 'refilling';
  s.startRound();
  s.mode = MODE_PROBE_BW_REFILL;
  s.pacingGain = PROBE_BW_CRUISE_PACING_GAIN;
  s.cwndGain = DEFAULT_CWND_GAIN;
  return s.mode;
}

function startUp(s: BbrState, now: Instant): BbrMode {
  s.ackPhase = 'probe_starting';
  s.startRound();
  // Restart the plateau detector: UP ends when this probe stops finding bandwidth.
  s.resetFullBw();
  s.fullBw = s.sampler.rsDeliveryRate;
  s.cycleStamp = now;
  s.mode = MODE_PROBE_BW_UP;
  s.pacingGain = PROBE_BW_UP_PACING_GAIN;
  s.cwndGain = PROBE_BW_UP_CWND_GAIN;
  raiseInflightLongtermSlope(s);
  return s.mode;
}

/** BBRPickProbeWait: randomised so competing flows do not probe in lockstep. */
function pickProbeWait(s: BbrState): void {
  s.roundsSinceBwProbe = s.random() < 0.5 ? 0 : 1;
  s.bwProbeWait = PROBE_WAIT_BASE + Math.floor(s.random() * PROBE_WAIT_RAND);
}

/** BBRIsTimeToProbeBW: wall clock or the Reno-coexistence round count. */
function isTimeToProbeBw(s: BbrState, now: Instant): boolean {
  if (now > s.cycleStamp + s.bwProbeWait || isRenoCoexistenceProbeTime(s)) {
    startRefill(s);
    return true;
  }
  return false;
}

/** BBRIsRenoCoexistenceProbeTime: a Reno flow grows one packet per round. */
function isRenoCoexistenceProbeTime(s: BbrState): boolean {
  const renoRounds = s.targetInflight() / s.mtu;
  return s.roundsSinceBwProbe >= Math.min(renoRounds, MAX_RENO_ROUNDS);
}

/** BBRIsTimeToCruise: the queue is gone and there is headroom. */
function isTimeToCruise(s: BbrState): boolean {
  if (s.inflight > s.inflightWithHeadroom()) return false;
  return s.inflight <= s.inflightFor(s.maxBw, 1.0);
}

/** BBRIsTimeToGoDown: the probe's delivery rate plateaued (not because inflight_longterm capped it). */
function isTimeToGoDown(s: BbrState): boolean {
  if (s.isCwndLimited && s.cwnd >= s.inflightLongterm) {
    s.resetFullBw();
    s.fullBw = s.sampler.rsDeliveryRate;
    return false;
  }
  return s.fullBwNow;
}

// --- the long-term model: inflight_longterm from loss (§5.5.10.2) ------------

/**
 * BBRAdaptLongTermModel, on every ACK once the pipe was filled: time the
 * max_bw filter by probe phase, and raise or cut inflight_longterm from the
 * rate sample's loss.
 */
export function adaptLongTermModel(s: BbrState, now: Instant): void {
  const rs = s.sampler;
  if (s.ackPhase === 'probe_starting' && s.roundStart) {
    s.ackPhase = 'probe_feedback'; // packets sent while probing are being acknowledged
  }
  if (s.ackPhase === 'probe_stopping' && s.roundStart) {
    // The probe's last samples are in: forget the previous cycle's max_bw.
    s.bwProbeSamples = false;
    s.ackPhase = 'init';
    if (s.mode.kind === 'probe_bw' && !rs.rsIsAppLimited) s.advanceMaxBwFilter();
  }
  if (checkInflightTooHigh(s, now)) return;
  // The loss rate is acceptable: inflight_longterm may rise to what was safely in flight.
  if (s.inflightLongterm === Number.POSITIVE_INFINITY) return;
  if (rs.rsTxInFlight > s.inflightLongterm) s.inflightLongterm = rs.rsTxInFlight;
  if (s.mode.kind === 'probe_bw' && s.mode.phase === 'up') probeInflightLongtermUpward(s);
}

function checkInflightTooHigh(s: BbrState, now: Instant): boolean {
  const rs = s.sampler;
  if (!rs.rsHasPacket || !s.isInflightTooHigh(rs.rsLost, rs.rsTxInFlight)) return false;
  if (s.bwProbeSamples && s.sentWhileProbing(rs.rsPriorDelivered)) {
    handleInflightTooHigh(s, now, rs.rsIsAppLimited, rs.rsTxInFlight);
  }
  return true;
}

/** BBRHandleInflightTooHigh: the probe found the limit; remember it and stop probing. */
function handleInflightTooHigh(s: BbrState, now: Instant, isAppLimited: boolean, txInFlight: number): void {
  s.bwProbeSamples = false; // react once per probe
  if (!isAppLimited) s.inflightLongterm = Math.max(txInFlight, s.targetInflight() * BETA);
  if (s.mode.kind === 'probe_bw' && s.mode.phase === 'up') startDown(s, now);
}

/**
 * BBRHandleLostPacket (§5.5.10.2), per lost packet, with the sampler's lost*
 * fields describing it: while probing, react as soon as the loss rate of the
 * packet's flight exceeds the threshold, at the inflight where it crossed.
 */
export function handleLostPacket(s: BbrState, now: Instant, bytes: number): void {
  s.noteLoss();
  const rs = s.sampler;
  if (!s.bwProbeSamples || !s.sentWhileProbing(rs.lostDelivered)) return;
  const txInFlight = rs.lostTxInFlight;
  const lost = rs.lost - rs.lostLostAtSend;
  if (!s.isInflightTooHigh(lost, txInFlight)) return;
  handleInflightTooHigh(s, now, rs.lostIsAppLimited, inflightAtLoss(bytes, txInFlight, lost));
}

/** BBRInflightAtLoss: the inflight at which the loss rate crossed BBRLossThresh. */
function inflightAtLoss(bytes: number, txInFlight: number, lost: number): number {
  const inflightPrev = Math.max(txInFlight - bytes, 0);
  const lostPrev = Math.max(lost - bytes, 0);
  const lostPrefix = (LOSS_THRESH * inflightPrev - lostPrev) / (1 - LOSS_THRESH);
  return Math.max(inflightPrev + lostPrefix, 0);
}

/** BBRRaiseInflightLongtermSlope: growth per round doubles each UP round. */
function raiseInflightLongtermSlope(s: BbrState): void {
  const growthPackets = 2 ** s.bwProbeUpRounds;
  s.bwProbeUpRounds = Math.min(s.bwProbeUpRounds + 1, MAX_PROBE_UP_ROUNDS);
  // Bytes to be acknowledged per one-packet increase of inflight_longterm.
  s.probeUpCnt = Math.max(s.cwnd / growthPackets, s.mtu);
}

/** BBRProbeInflightLongtermUpward: grow the bound while the flow presses against it. */
function probeInflightLongtermUpward(s: BbrState): void {
  if (!s.isCwndLimited || s.cwnd < s.inflightLongterm) return;
  s.bwProbeUpAcks += s.sampler.rsNewlyAcked;
  if (s.bwProbeUpAcks >= s.probeUpCnt) {
    const delta = Math.floor(s.bwProbeUpAcks / s.probeUpCnt);
    s.bwProbeUpAcks -= delta * s.probeUpCnt;
    s.inflightLongterm += delta * s.mtu;
  }
  if (s.roundStart) raiseInflightLongtermSlope(s);
}
