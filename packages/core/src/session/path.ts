import { addrEquals, type SocketAddr } from '../transport.js';
import type { Instant } from '../time.js';

/** Anti-amplification factor for unvalidated addresses (RFC 9000 §8). */
export const AMPLIFICATION_FACTOR = 3;

/**
 * The peer's current address and a candidate being validated after it moved
 * (PROTOCOL.md §4 PATH_CHALLENGE/PATH_RESPONSE). Data keeps going to the
 * current address until the candidate answers.
 */
export class PathState {
  addr: SocketAddr;
  validated: boolean;
  bytesReceived = 0;
  bytesSent = 0;
  candidate: { addr: SocketAddr; challenge: Uint8Array; sentAt: Instant; bytesReceived: number; bytesSent: number } | null =
    null;
  /** PATH_RESPONSEs owed: data echoed to where the challenge came from. */
  readonly responses: Array<{ addr: SocketAddr; data: Uint8Array }> = [];
  validations = 0;

  constructor(addr: SocketAddr, validated: boolean) {
    this.addr = addr;
    this.validated = validated;
  }

  /** Bytes we may still send to `addr` before it is validated. */
  sendBudget(addr: SocketAddr): number {
    if (addrEquals(addr, this.addr)) {
      return this.validated ? Infinity : AMPLIFICATION_FACTOR * this.bytesReceived - this.bytesSent;
    }
    const c = this.candidate;
    if (c && addrEquals(addr, c.addr)) return AMPLIFICATION_FACTOR * c.bytesReceived - c.bytesSent;
    return 0;
  }

  onReceived(addr: SocketAddr, bytes: number): void {
    if (addrEquals(addr, this.addr)) this.bytesReceived += bytes;
    else if (this.candidate && addrEquals(addr, this.candidate.addr)) this.candidate.bytesReceived += bytes;
  }

  onSent(addr: SocketAddr, bytes: number): void {
    if (addrEquals(addr, this.addr)) this.bytesSent += bytes;
    else if (this.candidate && addrEquals(addr, this.candidate.addr)) this.candidate.bytesSent += bytes;
  }

  /** A PATH_RESPONSE arrived; true when it validated the candidate. */
  onResponse(data: Uint8Array): boolean {
    const c = this.candidate;
    if (!c || !sameBytes(c.challenge, data)) return false;
    this.addr = c.addr;
    this.validated = true;
    this.bytesReceived = c.bytesReceived;
    this.bytesSent = c.bytesSent;
    this.candidate = null;
    this.validations++;
    return true;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
