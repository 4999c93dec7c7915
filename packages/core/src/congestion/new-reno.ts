import type { Instant } from '../time.js';
import type { RttEstimator } from '../recovery/rtt.js';
import type { CongestionController, ControllerOptions } from './controller.js';
import { INITIAL_WINDOW_PACKETS, MINIMUM_WINDOW_PACKETS, NEWRENO_LOSS_REDUCTION } from './constants.js';

/** NewReno as specified in RFC 9002 §7.3 and Appendix B. */
export class NewReno implements CongestionController {
  private mtu: number;
  private cwnd: number;
  private ssthresh = Number.POSITIVE_INFINITY;
  private bytesAckedInCa = 0;
  private recoveryStart: Instant = Number.NEGATIVE_INFINITY;
  private congestionEvents = 0;

  constructor(opts: ControllerOptions) {
    this.mtu = opts.mtu;
    this.cwnd = (opts.initialWindowPackets ?? INITIAL_WINDOW_PACKETS) * opts.mtu;
  }

  onSent(): void {}

  onAck(_now: Instant, _pn: number, sentTime: Instant, bytes: number, appLimited: boolean, _rtt: RttEstimator): void {
    // §7.3.2: no increase for packets sent before recovery started; §7.8: none while app-limited.
    if (sentTime <= this.recoveryStart || appLimited) return;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += bytes;
      return;
    }
    this.bytesAckedInCa += bytes;
    if (this.bytesAckedInCa >= this.cwnd) {
      this.bytesAckedInCa -= this.cwnd;
      this.cwnd += this.mtu;
    }
  }

  onEndAcks(): void {}

  onCongestionEvent(now: Instant, sentTime: Instant, isPersistentCongestion: boolean): void {
    if (sentTime > this.recoveryStart) {
      this.recoveryStart = now;
      this.congestionEvents++;
      this.ssthresh = Math.max(this.cwnd * NEWRENO_LOSS_REDUCTION, this.minWindow());
      this.cwnd = this.ssthresh;
      this.bytesAckedInCa = 0;
    }
    if (isPersistentCongestion) {
      this.cwnd = this.minWindow();
      this.bytesAckedInCa = 0;
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
      cc_congestion_events: this.congestionEvents,
    };
  }

  private minWindow(): number {
    return MINIMUM_WINDOW_PACKETS * this.mtu;
  }
}
