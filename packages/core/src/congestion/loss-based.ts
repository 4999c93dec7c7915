import type { Instant } from '../time.js';
import type { RttEstimator } from '../recovery/rtt.js';
import type { CongestionController, ControllerOptions } from './controller.js';
import { INITIAL_WINDOW_PACKETS, MINIMUM_WINDOW_PACKETS } from './constants.js';

/**
 * What CUBIC and NewReno share (RFC 9002 §7): a byte window that slow-starts to ssthresh, one
 * reduction per recovery period, the collapse on persistent congestion, no pacing rate of their
 * own. Subclasses grow the window in congestion avoidance and say how far a loss cuts it.
 */
export abstract class LossBasedController implements CongestionController {
  protected mtu: number;
  protected cwnd: number;
  protected ssthresh = Number.POSITIVE_INFINITY;
  private recoveryStart: Instant = Number.NEGATIVE_INFINITY;
  private congestionEvents = 0;

  constructor(opts: ControllerOptions) {
    this.mtu = opts.mtu;
    this.cwnd = (opts.initialWindowPackets ?? INITIAL_WINDOW_PACKETS) * opts.mtu;
  }

  /** Congestion avoidance: `bytes` newly acked while cwnd >= ssthresh. */
  protected abstract avoid(now: Instant, bytes: number, rtt: RttEstimator): void;
  /** The first loss of a recovery period: set ssthresh (and any state of the algorithm). */
  protected abstract reduce(): void;
  /** The window collapsed to the minimum (persistent congestion): restart what depends on it. */
  protected abstract restart(): void;
  protected abstract extraMetrics(): Record<string, number>;

  onSent(): void {}

  onAck(now: Instant, _pn: number, sentTime: Instant, bytes: number, appLimited: boolean, rtt: RttEstimator): void {
    // RFC 9002 §7.3.2: no increase for packets sent before recovery started; §7.8: none while app-limited.
    if (sentTime <= this.recoveryStart || appLimited) return;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += bytes; // slow start
      return;
    }
    this.avoid(now, bytes, rtt);
  }

  onEndAcks(): void {}

  onCongestionEvent(now: Instant, sentTime: Instant, isPersistentCongestion: boolean): void {
    if (sentTime > this.recoveryStart) {
      this.recoveryStart = now;
      this.congestionEvents++;
      this.reduce();
      this.cwnd = this.ssthresh;
    }
    if (isPersistentCongestion) {
      // RFC 9002 §7.6.2: collapse to the minimum window.
      this.cwnd = this.minWindow();
      this.restart();
    }
  }

  onPacketLost(): void {}
  onAppLimited(): void {}

  onMtuUpdate(mtu: number): void {
    this.mtu = mtu;
    this.cwnd = Math.max(this.cwnd, this.minWindow());
  }

  window(): number {
    return this.cwnd;
  }

  pacingRate(): number | null {
    return null;
  }

  metrics(): Record<string, number> {
    return {
      cc_ssthresh: Number.isFinite(this.ssthresh) ? this.ssthresh : -1,
      ...this.extraMetrics(),
      cc_congestion_events: this.congestionEvents,
    };
  }

  protected minWindow(): number {
    return MINIMUM_WINDOW_PACKETS * this.mtu;
  }
}
