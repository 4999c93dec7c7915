import type { Instant } from '../../time.js';
import { DEFAULT_CWND_GAIN, LOSS_THRESH, STARTUP_FULL_LOSS_COUNT, STARTUP_PACING_GAIN } from './constants.js';
import * as drain from './drain.js';
import { MODE_STARTUP, type BbrMode, type BbrState } from './state.js';

/**
 * Startup (draft §5.3.1): double the sending rate every round (pacing gain
 * 2.77, cwnd gain 2) until the pipe is full: 3 rounds without 25 % growth
 * of the delivery rate (checked in BbrState.checkFullBwReached), or too much
 * loss in a round. Exits to Drain.
 */
export function enter(s: BbrState, _now: Instant): BbrMode {
  s.mode = MODE_STARTUP;
  s.pacingGain = STARTUP_PACING_GAIN;
  s.cwndGain = DEFAULT_CWND_GAIN;
  return s.mode;
}

/** BBRCheckStartupDone. */
export function onAck(s: BbrState, now: Instant): BbrMode {
  checkHighLoss(s);
  if (s.fullBwReached) return drain.enter(s, now);
  return s.mode;
}

/**
 * BBRCheckStartupHighLoss (§5.3.1.3): after a full loss round, more than
 * BBRLossThresh of the round's data lost in at least BBRStartupFullLossCnt
 * discontiguous events means the pipe (and buffer) is full. inflight_longterm
 * then starts at what was delivered per round, or the BDP.
 */
function checkHighLoss(s: BbrState): void {
  if (s.fullBwReached || !s.lossRoundStart) return;
  const total = s.lostBytesInRound + s.ackedBytesInRound;
  if (s.lossEventsInRound < STARTUP_FULL_LOSS_COUNT || total === 0) return;
  if (s.lostBytesInRound <= LOSS_THRESH * total) return;
  s.fullBwReached = true;
  s.inflightLongterm = Math.max(s.bdpMultiple(s.maxBw, 1.0), s.inflightLatest);
}
