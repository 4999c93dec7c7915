/** Noise SymmetricState (rev 34 §5.2). */
import { AEAD_KEY_LEN, type CryptoBackend, type HashFn } from '../backend.js';
import { CipherState } from './cipher-state.js';
import { hkdf } from './hkdf.js';

const EMPTY = new Uint8Array(0);

/** Keys from a 64-byte hash are cut to 32 bytes (rev 34 §5.2). A view: the caller copies. */
function truncKey(k: Uint8Array): Uint8Array {
  return k.subarray(0, AEAD_KEY_LEN);
}

export class SymmetricState {
  readonly cipherState: CipherState;
  private ck: Uint8Array;
  private h: Uint8Array;

  /** InitializeSymmetric(protocol_name). */
  constructor(
    private readonly backend: CryptoBackend,
    readonly hash: HashFn,
    protocolName: string,
  ) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= hash.hashLen) {
      this.h = new Uint8Array(hash.hashLen);
      this.h.set(name);
    } else {
      this.h = hash.digest(name);
    }
    this.ck = this.h.slice();
    this.cipherState = new CipherState(backend);
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = hkdf(this.backend.hmac, this.hash.name, this.ck, ikm, 2) as [Uint8Array, Uint8Array];
    this.ck.fill(0);
    this.ck = ck;
    this.cipherState.initializeKey(truncKey(tempK));
    tempK.fill(0);
  }

  mixHash(data: Uint8Array): void {
    this.h = this.hash.digest(this.h, data);
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = hkdf(this.backend.hmac, this.hash.name, this.ck, ikm, 3) as [Uint8Array, Uint8Array, Uint8Array];
    this.ck.fill(0);
    this.ck = ck;
    this.mixHash(tempH);
    this.cipherState.initializeKey(truncKey(tempK));
    tempK.fill(0);
  }

  getHandshakeHash(): Uint8Array {
    return this.h.slice();
  }

  /** A copy of the current chaining key. */
  getChainingKey(): Uint8Array {
    return this.ck.slice();
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ct = this.cipherState.encryptWithAd(this.h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const pt = this.cipherState.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return pt;
  }

  /** Split(): (c1, c2) with c1 for initiator→responder. Erases ck and the handshake key. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.backend.hmac, this.hash.name, this.ck, EMPTY, 2) as [Uint8Array, Uint8Array];
    const c1 = new CipherState(this.backend);
    const c2 = new CipherState(this.backend);
    c1.initializeKey(truncKey(k1));
    c2.initializeKey(truncKey(k2));
    k1.fill(0);
    k2.fill(0);
    this.ck.fill(0);
    this.cipherState.destroy();
    return [c1, c2];
  }
}
