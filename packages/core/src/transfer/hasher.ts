/**
 * The BLAKE3 interface the transfer engine hashes through. Core ships only the
 * portable reference (`nobleBlake3` in hasher-noble.ts, exported by
 * `@wraith/core/noble` so the main entry never loads @noble/*); fast backends
 * live in @wraith/blake3 and are injected, so core stays free of native code.
 */

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
