import type { Duration } from '../time.js';
import { GRANULARITY, INITIAL_RTT } from './constants.js';

/**
 * RTT estimation per RFC 9002 §5: latest, min, smoothed and variance.
 * All values are microseconds. Before the first sample, `smoothed` is the
 * initial RTT and `rttvar` half of it (§6.2.2); `min` and `latest` are 0.
 */
export class RttEstimator {
  readonly initialRtt: Duration;
  private _latest: Duration = 0;
  private _min: Duration = 0;
  private _smoothed: Duration;
  private _rttvar: Duration;
  private _hasSample = false;
  private _samples = 0;

  constructor(initialRtt: Duration = INITIAL_RTT) {
    this.initialRtt = initialRtt;
    this._smoothed = initialRtt;
    this._rttvar = initialRtt / 2;
  }

  get latest(): Duration {
    return this._latest;
  }
  get min(): Duration {
    return this._min;
  }
  get smoothed(): Duration {
    return this._smoothed;
  }
  get rttvar(): Duration {
    return this._rttvar;
  }
  get hasSample(): boolean {
    return this._hasSample;
  }
  /** Number of samples taken so far. */
  get samples(): number {
    return this._samples;
  }

  /**
   * Feed one RTT sample (§5.3). `ackDelay` is the peer's reported delay; it
   * is capped at `maxAckDelay` and only subtracted when that does not take the
   * sample below min_rtt.
   */
  update(ackDelay: Duration, rtt: Duration, maxAckDelay: Duration): void {
    this._latest = rtt;
    this._samples++;
    if (!this._hasSample) {
      this._hasSample = true;
      this._min = rtt;
      this._smoothed = rtt;
      this._rttvar = rtt / 2;
      return;
    }
    if (rtt < this._min) this._min = rtt;
    const delay = Math.min(ackDelay, maxAckDelay);
    const adjusted = rtt >= this._min + delay ? rtt - delay : rtt;
    this._rttvar = 0.75 * this._rttvar + 0.25 * Math.abs(this._smoothed - adjusted);
    this._smoothed = 0.875 * this._smoothed + 0.125 * adjusted;
  }

  /** The probe timeout without backoff (§6.2.1): srtt + max(4·rttvar, 1 ms) + max_ack_delay. */
  pto(maxAckDelay: Duration): Duration {
    return this._smoothed + Math.max(4 * this._rttvar, GRANULARITY) + maxAckDelay;
  }
}
