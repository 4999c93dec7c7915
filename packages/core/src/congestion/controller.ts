import { WraithError } from '../errors.js';
import type { Rng } from '../rng.js';
import type { Instant } from '../time.js';
import type { RttEstimator } from '../recovery/rtt.js';
import { Bbr } from './bbr/bbr.js';
import { Cubic } from './cubic.js';
import { NewReno } from './new-reno.js';

/**
 * The narrow event interface between loss recovery and a congestion
 * controller (quinn's shape). Loss recovery calls, per ACK frame:
 * `onAck` for every newly acknowledged in-flight packet, then `onPacketLost`
 * for every packet the ACK let it declare lost, then `onCongestionEvent` once
 * if any were lost, then `onEndAcks` once. Timer-driven losses call
 * `onPacketLost` and `onCongestionEvent` without an `onEndAcks`.
 * Only in-flight packets (RFC 9002 §2) are reported. Byte counts are UDP payload bytes.
 */
export interface CongestionController {
  /** A packet left; `bytesInFlight` already includes it (the draft's P.tx_in_flight). */
  onSent(now: Instant, pn: number, bytes: number, bytesInFlight: number): void;
  /** One newly acknowledged packet. `appLimited`: the sender was not using its window. */
  onAck(now: Instant, pn: number, sentTime: Instant, bytes: number, appLimited: boolean, rtt: RttEstimator): void;
  /** All packets of one ACK frame were reported; `bytesInFlight` is after them. */
  onEndAcks(now: Instant, bytesInFlight: number, appLimited: boolean, largestAckedPn: number): void;
  /**
   * One congestion event per batch of losses; `sentTime` is that of the
   * newest lost packet (RFC 9002 §7.3.2 recovery period).
   */
  onCongestionEvent(now: Instant, sentTime: Instant, isPersistentCongestion: boolean, lostBytes: number): void;
  /**
   * One lost packet, before the batch's `onCongestionEvent`. BBRv3 needs it for
   * the per-packet loss response (tx_in_flight and lost-at-send of the packet).
   */
  onPacketLost(now: Instant, pn: number, bytes: number): void;
  /**
   * The sender had window and pacing room but nothing to send: the delivery
   * rate samples that follow are application-limited (BBR draft §4.1.2.3).
   */
  onAppLimited(now: Instant, bytesInFlight: number): void;
  onMtuUpdate(mtu: number): void;
  /** Congestion window, bytes. */
  window(): number;
  /** Pacing rate in bytes per second, or null to let the pacer derive one from the window. */
  pacingRate(): number | null;
  metrics(): Record<string, number>;
}

export type ControllerKind = 'bbr' | 'cubic' | 'newreno';

export interface ControllerOptions {
  /** Maximum datagram size (the draft's SMSS), bytes. */
  mtu: number;
  /** RFC 9002 §7.2: default 10. */
  initialWindowPackets?: number;
  /**
   * Randomises BBR's probe timing (draft BBRPickProbeWait). Pass the session's
   * Rng: without one every BBR instance uses the same fixed seed, so flows
   * sharing a bottleneck would probe in lockstep.
   */
  rng?: Rng;
}

/** Build a controller by name (quinn's ControllerFactory). */
export function createController(kind: ControllerKind, opts: ControllerOptions): CongestionController {
  switch (kind) {
    case 'bbr':
      return new Bbr(opts);
    case 'cubic':
      return new Cubic(opts);
    case 'newreno':
      return new NewReno(opts);
    default: {
      const k: never = kind;
      throw new WraithError('E_CONFIG', `unknown congestion controller ${String(k)}`, { kind: k }, 'use bbr, cubic or newreno');
    }
  }
}
