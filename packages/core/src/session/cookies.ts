import type { Rng } from '../rng.js';
import type { Instant } from '../time.js';
import type { SocketAddr } from '../transport.js';
import type { CryptoBackend } from '../crypto/index.js';

/** Cookie secrets rotate this often; the previous one stays valid (PROTOCOL.md §6). */
export const COOKIE_ROTATION_US = 120_000_000;
export const COOKIE_LEN = 16;

/**
 * Stateless cookies: MAC(secret, address, port, time bucket). Proving one
 * costs the initiator a round trip and the responder no DH and no state.
 */
export class CookieJar {
  private secret = new Uint8Array(32);
  private prevSecret = new Uint8Array(32);
  private bucket = -1;
  private readonly enc = new TextEncoder();

  constructor(
    private readonly backend: CryptoBackend,
    private readonly rng: Rng,
  ) {}

  private rotate(now: Instant): number {
    const b = Math.floor(now / COOKIE_ROTATION_US);
    if (b !== this.bucket) {
      if (b === this.bucket + 1) this.prevSecret = this.secret;
      else this.rng.fill(this.prevSecret);
      this.secret = new Uint8Array(32);
      this.rng.fill(this.secret);
      this.bucket = b;
    }
    return b;
  }

  private mac(secret: Uint8Array, addr: SocketAddr, bucket: number): Uint8Array {
    const msg = this.enc.encode(`${addr.host}|${addr.port}|${bucket}`);
    return this.backend.hmac('BLAKE2s', secret, msg).subarray(0, COOKIE_LEN);
  }

  issue(now: Instant, addr: SocketAddr): Uint8Array {
    const b = this.rotate(now);
    return this.mac(this.secret, addr, b);
  }

  verify(now: Instant, addr: SocketAddr, token: Uint8Array): boolean {
    if (token.length !== COOKIE_LEN) return false;
    const b = this.rotate(now);
    return equal(this.mac(this.secret, addr, b), token) || equal(this.mac(this.prevSecret, addr, b - 1), token);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  let d = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}
