import type { Instant } from '../time.js';
import type { RttEstimator } from '../recovery/rtt.js';
import { LossBasedController } from './loss-based.js';

/** RFC 9438 §4.1 C: the cubic scaling constant (segments / s³). */
const CUBIC_C = 0.4;
/** RFC 9438 §4.6 β_cubic: multiplicative decrease factor. */
const BETA_CUBIC = 0.7;
/** RFC 9438 §4.3 α_cubic = 3(1 − β)/(1 + β): the Reno-friendly additive increase. */
const ALPHA_CUBIC = (3 * (1 - BETA_CUBIC)) / (1 + BETA_CUBIC);
/** RFC 9438 §4.4: the target is capped at 1.5 × cwnd per RTT. */
const MAX_TARGET_GROWTH = 1.5;

/**
 * CUBIC (RFC 9438) over RFC 9002's loss recovery: slow start, the cubic
 * window W_cubic(t) = C(t − K)³ + W_max in congestion avoidance with the
 * Reno-friendly estimate W_est, fast convergence, and one reduction per
 * recovery period. Windows are kept in bytes; the cubic function works in
 * segments of `mtu` bytes as the RFC does.
 */
export class Cubic extends LossBasedController {
  private wMax = 0; // bytes
  private cwndPrior = 0; // bytes, window before the last reduction
  private k = 0; // seconds
  private epochStart: Instant = -1; // start of the current congestion-avoidance epoch, -1 when none
  private wEst = 0; // bytes

  protected avoid(now: Instant, bytes: number, rtt: RttEstimator): void {
    const mss = this.mtu;
    if (this.epochStart < 0) {
      // §4.2: a new congestion-avoidance epoch.
      this.epochStart = now;
      this.wEst = this.cwnd;
      if (this.cwnd < this.wMax) {
        this.k = Math.cbrt((this.wMax - this.cwnd) / mss / CUBIC_C);
      } else {
        this.k = 0;
        this.wMax = this.cwnd;
      }
    }
    const t = (now - this.epochStart) / 1e6;
    const rttS = rtt.smoothed / 1e6;
    // §4.4: aim at the cubic window one RTT ahead, within [cwnd, 1.5 cwnd].
    const d = t + rttS - this.k;
    const wCubic = (CUBIC_C * d * d * d) * mss + this.wMax;
    const target = Math.min(Math.max(wCubic, this.cwnd), MAX_TARGET_GROWTH * this.cwnd);
    // §4.3: the Reno-friendly estimate; α becomes 1 once past the prior window.
    const alpha = this.wEst >= this.cwndPrior ? 1 : ALPHA_CUBIC;
    this.wEst += (alpha * bytes * mss) / this.cwnd;
    const wCubicNow = CUBIC_C * (t - this.k) ** 3 * mss + this.wMax;
    if (wCubicNow < this.wEst) {
      this.cwnd = Math.max(this.cwnd, this.wEst); // Reno-friendly region
    } else {
      this.cwnd += ((target - this.cwnd) * bytes) / this.cwnd; // concave / convex region
    }
  }

  protected reduce(): void {
    // §4.7 fast convergence: release bandwidth when the window keeps shrinking.
    this.wMax = this.cwnd < this.wMax ? (this.cwnd * (1 + BETA_CUBIC)) / 2 : this.cwnd;
    this.cwndPrior = this.cwnd;
    this.ssthresh = Math.max(this.cwnd * BETA_CUBIC, this.minWindow());
    this.epochStart = -1;
  }

  protected restart(): void {
    this.epochStart = -1; // §4.8
  }

  protected extraMetrics(): Record<string, number> {
    return { cc_w_max: this.wMax };
  }
}
