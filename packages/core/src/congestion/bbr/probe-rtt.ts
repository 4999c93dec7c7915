import type { Instant } from '../../time.js';
import { PROBE_RTT_CWND_GAIN, PROBE_RTT_DURATION, PROBE_RTT_PACING_GAIN } from './constants.js';
import * as probeBw from './probe-bw.js';
import * as startup from './startup.js';
import { MODE_PROBE_RTT, type BbrMode, type BbrState } from './state.js';

/**
 * ProbeRTT (draft §5.3.4): when min_rtt has not been refreshed for 5 s,
 * hold inflight at half a BDP (at least 4 packets) for 200 ms and one round
 * so the queue empties and a fresh min_rtt is seen; then return to ProbeBW
 * (CRUISE) or, if the pipe was never filled, Startup.
 */
export function enter(s: BbrState, _now: Instant): BbrMode {
  s.saveCwnd();
  s.mode = MODE_PROBE_RTT;
  s.pacingGain = PROBE_RTT_PACING_GAIN;
  s.cwndGain = PROBE_RTT_CWND_GAIN;
  s.probeRttDoneStamp = -1;
  s.ackPhase = 'probe_stopping';
  s.startRound();
  return s.mode;
}

/** BBRCheckProbeRTT: enter when due, run while in it. */
export function check(s: BbrState, now: Instant): BbrMode {
  if (s.mode.kind !== 'probe_rtt' && s.probeRttExpired && !s.idleRestart) enter(s, now);
  if (s.mode.kind === 'probe_rtt') onAck(s, now);
  if (s.sampler.rsDelivered > 0) s.idleRestart = false;
  return s.mode;
}

/** BBRHandleProbeRTT. */
export function onAck(s: BbrState, now: Instant): BbrMode {
  // Low delivery rates measured while inflight is held down are not the path's.
  s.sampler.markAppLimited(s.inflight);
  if (s.probeRttDoneStamp < 0 && s.inflight <= s.probeRttCwnd()) {
    s.probeRttDoneStamp = now + PROBE_RTT_DURATION;
    s.probeRttRoundDone = false;
    s.startRound();
  } else if (s.probeRttDoneStamp >= 0) {
    if (s.roundStart) s.probeRttRoundDone = true;
    if (s.probeRttRoundDone) checkDone(s, now);
  }
  return s.mode;
}

/** BBRCheckProbeRTTDone: also run when sending restarts from idle. */
export function checkDone(s: BbrState, now: Instant): void {
  if (s.probeRttDoneStamp >= 0 && now > s.probeRttDoneStamp) {
    s.probeRttMinStamp = now; // schedule the next ProbeRTT
    s.restoreCwnd();
    exit(s, now);
  }
}

/** BBRExitProbeRTT. */
function exit(s: BbrState, now: Instant): void {
  s.resetShortTermModel();
  if (s.fullBwReached) {
    probeBw.startDown(s, now);
    probeBw.startCruise(s);
  } else {
    startup.enter(s, now);
  }
}
