/**
 * Noise CipherState (rev 34 §5.1) for ChaChaPoly: nonce = 4 zero bytes ‖ 64-bit LE counter.
 * The counter is a JS number, so it stops at 2^53−1 (far below Noise's reserved 2^64−1):
 * reaching it raises E_NONCE_EXHAUSTED instead of ever reusing a nonce.
 */
import { WraithError } from '../../errors.js';
import { AEAD_KEY_LEN, checkLen, type CryptoBackend } from '../backend.js';

/** The highest counter we never use; encrypting or decrypting at it is refused. */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;
const EMPTY = new Uint8Array(0);
const ZEROS32 = new Uint8Array(32);

/** Write 4 zero bytes then `n` as u64 LE into `nonce` (12 bytes). `n` < 2^53. */
export function writeNonce(nonce: Uint8Array, n: number): void {
  const lo = n % TWO_32;
  const hi = (n - lo) / TWO_32;
  nonce[0] = 0;
  nonce[1] = 0;
  nonce[2] = 0;
  nonce[3] = 0;
  nonce[4] = lo & 0xff;
  nonce[5] = (lo >>> 8) & 0xff;
  nonce[6] = (lo >>> 16) & 0xff;
  nonce[7] = (lo >>> 24) & 0xff;
  nonce[8] = hi & 0xff;
  nonce[9] = (hi >>> 8) & 0xff;
  nonce[10] = (hi >>> 16) & 0xff;
  nonce[11] = (hi >>> 24) & 0xff;
}

export class CipherState {
  private k: Uint8Array | null = null;
  private n = 0;
  // Once destroyed, refuse everything: a keyless state would otherwise pass plaintext through.
  private destroyed = false;
  private readonly nonce = new Uint8Array(12);

  constructor(private readonly backend: CryptoBackend) {}

  /** Take a copy of `key` (32 bytes) and reset the nonce. */
  initializeKey(key: Uint8Array | null): void {
    this.k?.fill(0);
    this.destroyed = false;
    if (key === null) {
      this.k = null;
    } else {
      checkLen('CipherState key', key, AEAD_KEY_LEN);
      this.k = key.slice();
    }
    this.n = 0;
  }

  hasKey(): boolean {
    return this.k !== null;
  }

  /**
   * A copy of the key, for handing transport keys to packet protection after Split().
   * Throws E_NOISE_STATE when there is none.
   */
  key(): Uint8Array {
    this.checkLive();
    if (this.k === null) throw new WraithError('E_NOISE_STATE', 'CipherState has no key');
    return this.k.slice();
  }

  /** Next nonce to be used. */
  get nonceValue(): number {
    return this.n;
  }

  setNonce(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > MAX_NONCE) {
      throw new WraithError('E_NOISE_STATE', `nonce must be an integer in [0, 2^53-1], got ${n}`, { nonce: n });
    }
    this.n = n;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    this.checkLive();
    if (this.k === null) return plaintext.slice();
    this.useNonce();
    const ct = this.backend.aeadSeal(this.k, this.nonce, ad, plaintext);
    this.n++;
    return ct;
  }

  /** Throws E_CRYPTO_DECRYPT on failure; the nonce is then not advanced (rev 34 §5.1). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    this.checkLive();
    if (this.k === null) return ciphertext.slice();
    this.useNonce();
    const pt = this.backend.aeadOpen(this.k, this.nonce, ad, ciphertext);
    if (pt === null) {
      throw new WraithError('E_CRYPTO_DECRYPT', `Noise message (${ciphertext.length} bytes) failed authentication`, {
        length: ciphertext.length,
        nonce: this.n,
      });
    }
    this.n++;
    return pt;
  }

  /** Rekey() of rev 34 §4.2: k = first 32 bytes of ENCRYPT(k, 2^64−1, empty, zeros). */
  rekey(): void {
    if (this.k === null) throw new WraithError('E_NOISE_STATE', 'rekey on a CipherState without a key');
    const maxNonce = new Uint8Array([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const out = this.backend.aeadSeal(this.k, maxNonce, EMPTY, ZEROS32);
    this.k.fill(0);
    this.k = out.slice(0, AEAD_KEY_LEN);
    out.fill(0);
  }

  /** Wipe the key; every later call throws E_NOISE_STATE until initializeKey. */
  destroy(): void {
    this.k?.fill(0);
    this.k = null;
    this.n = 0;
    this.destroyed = true;
  }

  private checkLive(): void {
    if (this.destroyed) throw new WraithError('E_NOISE_STATE', 'CipherState used after destroy()');
  }

  private useNonce(): void {
    if (this.n >= MAX_NONCE) {
      throw new WraithError('E_NONCE_EXHAUSTED', `nonce counter reached ${this.n}; the key must be updated`, { nonce: this.n });
    }
    writeNonce(this.nonce, this.n);
  }
}
