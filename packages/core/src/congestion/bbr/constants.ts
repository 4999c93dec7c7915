import type { Duration } from '../../time.js';

// Every constant below is from draft-ietf-ccwg-bbr (BBRv3); section numbers
// follow the -04/-05 layout (§2 definitions, §5 algorithm details).

/** §5.6.1 / §2.4 BBRStartupPacingGain = 4·ln 2 ≈ 2.77: doubles the sending rate each round. */
export const STARTUP_PACING_GAIN = 4 * Math.LN2;
/** §2.4 BBRDefaultCwndGain (= BBRStartupCwndGain) = 2. */
export const DEFAULT_CWND_GAIN = 2;
/** §2.4 BBRDrainPacingGain = 0.35 (≤ 1/BBRStartupCwndGain drains the Startup queue in a round). */
export const DRAIN_PACING_GAIN = 0.35;
/** §5.3.3.1 ProbeBW_DOWN pacing gain. */
export const PROBE_BW_DOWN_PACING_GAIN = 0.9;
/** §5.3.3.2-3 ProbeBW_CRUISE and ProbeBW_REFILL pacing gain. */
export const PROBE_BW_CRUISE_PACING_GAIN = 1.0;
/** §5.3.3.4 ProbeBW_UP pacing gain. */
export const PROBE_BW_UP_PACING_GAIN = 1.25;
/** §5.3.3.4 ProbeBW_UP cwnd gain. */
export const PROBE_BW_UP_CWND_GAIN = 2.25;
/** §5.3.4 BBRProbeRTTCwndGain: ProbeRTT holds inflight at half a BDP. */
export const PROBE_RTT_CWND_GAIN = 0.5;
/** §5.3.4 ProbeRTT pacing gain. */
export const PROBE_RTT_PACING_GAIN = 1.0;
/** §2.4 BBRPacingMarginPercent = 1 %: pace a little below bw so queues drain. */
export const PACING_MARGIN = 0.01;
/** §2.9 BBRLossThresh = 2 %: the loss rate above which inflight is "too high". */
export const LOSS_THRESH = 0.02;
/** §2.9 BBRBeta = 0.7: multiplicative cut of the short-term model on loss. */
export const BETA = 0.7;
/** §2.9 BBRHeadroom = 0.15: share of inflight_longterm left free for other flows in CRUISE. */
export const HEADROOM = 0.15;
/** §2.7 BBRMinPipeCwnd = 4 packets. */
export const MIN_PIPE_CWND_PACKETS = 4;
/** §5.5.2 BBR.MaxBwFilterLen = 2 ProbeBW cycles. */
export const MAX_BW_FILTER_LEN = 2;
/** §2.11 BBRExtraAckedFilterLen = 10 round trips. */
export const EXTRA_ACKED_FILTER_LEN = 10;
/** §2.13 BBR.MinRTTFilterLen = 10 s. */
export const MIN_RTT_FILTER_LEN: Duration = 10_000_000;
/** §2.13 BBR.ProbeRTTInterval = 5 s. */
export const PROBE_RTT_INTERVAL: Duration = 5_000_000;
/** §2.13 BBR.ProbeRTTDuration = 200 ms. */
export const PROBE_RTT_DURATION: Duration = 200_000;
/** §5.3.1.2 Startup exits when bw grew less than 25 % ... */
export const FULL_BW_THRESHOLD = 1.25;
/** §5.3.1.2 ... for 3 non-app-limited rounds. */
export const FULL_BW_COUNT = 3;
/** §5.3.1.3 BBRStartupFullLossCnt: discontiguous loss events in a round before Startup exits on loss. */
export const STARTUP_FULL_LOSS_COUNT = 6;
/** §5.3.3.6 cap on bw_probe_up_rounds (inflight_longterm growth doubles per UP round up to 2^30). */
export const MAX_PROBE_UP_ROUNDS = 30;
/** §5.3.3.5.3 a Reno flow's probing horizon is capped at 63 rounds. */
export const MAX_RENO_ROUNDS = 63;
/** §5.3.3.5.3 BBRPickProbeWait: 2 s plus a uniform 0..1 s. */
export const PROBE_WAIT_BASE: Duration = 2_000_000;
export const PROBE_WAIT_RAND: Duration = 1_000_000;
/** §5.6.3 send quantum: 1 ms of pacing, at most 64 KB, at least 2 packets. */
export const SEND_QUANTUM_INTERVAL: Duration = 1_000;
export const SEND_QUANTUM_MAX = 64 * 1024;
/** §5.6.2 BBRInitPacingRate: without an RTT sample the nominal RTT is 1 ms. */
export const INIT_PACING_RTT: Duration = 1_000;
