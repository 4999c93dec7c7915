import { NEWRENO_LOSS_REDUCTION } from './constants.js';
import { LossBasedController } from './loss-based.js';

/** NewReno as specified in RFC 9002 §7.3 and Appendix B. */
export class NewReno extends LossBasedController {
  private bytesAckedInCa = 0;

  protected avoid(_now: number, bytes: number): void {
    this.bytesAckedInCa += bytes;
    if (this.bytesAckedInCa >= this.cwnd) {
      this.bytesAckedInCa -= this.cwnd;
      this.cwnd += this.mtu;
    }
  }

  protected reduce(): void {
    this.ssthresh = Math.max(this.cwnd * NEWRENO_LOSS_REDUCTION, this.minWindow());
    this.bytesAckedInCa = 0;
  }

  protected restart(): void {
    this.bytesAckedInCa = 0;
  }

  protected extraMetrics(): Record<string, number> {
    return {};
  }
}
