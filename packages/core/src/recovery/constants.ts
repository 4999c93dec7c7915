import type { Duration } from '../time.js';

/** RFC 9002 §6.1.1 kPacketThreshold: reordering tolerated before a packet is declared lost. */
export const PACKET_THRESHOLD = 3;
/** RFC 9002 §6.1.2 kTimeThreshold (9/8): RTT multiplier before an unacknowledged packet is lost. */
export const TIME_THRESHOLD = 9 / 8;
/** RFC 9002 §6.1.2 kGranularity: timer granularity, 1 ms. */
export const GRANULARITY: Duration = 1_000;
/** RFC 9002 §6.2.2 kInitialRtt: 333 ms before the first sample. */
export const INITIAL_RTT: Duration = 333_000;
/** RFC 9002 §7.6.1 kPersistentCongestionThreshold. */
export const PERSISTENT_CONGESTION_THRESHOLD = 3;
/** RFC 9000 §18.2 default max_ack_delay, 25 ms. */
export const DEFAULT_MAX_ACK_DELAY: Duration = 25_000;
/** PROTOCOL.md §5b: a path back from a blackhole is probed within about a second. */
export const DEFAULT_MAX_PTO_INTERVAL: Duration = 1_000_000;
/** RFC 9002 §6.2.4: a PTO may send up to two ack-eliciting datagrams. */
export const PTO_PROBES = 2;
