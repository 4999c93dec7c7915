import type { Instant } from '../../time.js';
import { DEFAULT_CWND_GAIN, DRAIN_PACING_GAIN } from './constants.js';
import * as probeBw from './probe-bw.js';
import { MODE_DRAIN, type BbrMode, type BbrState } from './state.js';

/**
 * Drain (draft §5.3.2): pace below the estimated bandwidth to empty the queue
 * Startup built, keeping the cwnd; leave for ProbeBW once inflight is at or
 * below one BDP.
 */
export function enter(s: BbrState, _now: Instant): BbrMode {
  s.mode = MODE_DRAIN;
  s.pacingGain = DRAIN_PACING_GAIN;
  s.cwndGain = DEFAULT_CWND_GAIN;
  return s.mode;
}

/** BBRCheckDrainDone. */
export function onAck(s: BbrState, now: Instant): BbrMode {
  if (s.inflight <= s.inflightFor(s.maxBw, 1.0)) return probeBw.enter(s, now);
  return s.mode;
}
