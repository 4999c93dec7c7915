/**
 * The BLAKE3 interface the transfer engine hashes through. Core ships only the
 * portable reference (@noble/hashes); fast backends live in @wraith/blake3 and
 * are injected, so core stays free of native code.
 */
import { blake3 } from '@noble/hashes/blake3.js';

/** Incremental hashing; `digest()` ends the state. */
export interface Blake3State {
  update(d: Uint8Array): Blake3State;
  /** The 32-byte hash of everything passed to update. */
  digest(): Uint8Array;
}

export interface Blake3 {
  /** Which backend, for logs and `wraith doctor` (e.g. "native", "wasm", "noble"). */
  readonly name: string;
  /** The 32-byte BLAKE3 hash of `data`. */
  hash(data: Uint8Array): Uint8Array;
  create(): Blake3State;
}

/** BLAKE3 output length used everywhere in the protocol (bytes). */
export const HASH_LEN = 32;

class NobleState implements Blake3State {
  private readonly h = blake3.create();
  update(d: Uint8Array): Blake3State {
    this.h.update(d);
    return this;
  }
  digest(): Uint8Array {
    return this.h.digest();
  }
}

/** The @noble/hashes reference: correct everywhere, ~45 MB/s, so tests and fallback only. */
export const nobleBlake3: Blake3 = {
  name: 'noble',
  hash: (data) => blake3(data),
  create: () => new NobleState(),
};
