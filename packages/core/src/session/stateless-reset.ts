/**
 * Stateless reset (PROTOCOL.md §3a, after RFC 9000 §10.3): an endpoint that
 * receives a short-header packet for a connection id it has no session for
 * (it restarted, or forgot the session) answers with a datagram that looks
 * like a short-header packet and ends with a 16-byte token only it and the
 * peer of that session know. The peer learned the token, encrypted, in the
 * handshake, and ends the session at once instead of waiting out idle_timeout.
 *
 * Tokens are derived from the static private key, so a restarted process with
 * the same identity computes the same token for a CID its predecessor chose:
 *   reset_key = HMAC-BLAKE2s(static private key, "wraith stateless reset key")
 *   token(cid) = first 16 bytes of HMAC-BLAKE2s(reset_key, cid)
 */
import type { CryptoBackend } from '../crypto/index.js';
import type { Instant } from '../time.js';
import type { Rng } from '../rng.js';
import {
  CID_LEN,
  STATELESS_RESET_TOKEN_LEN,
  Writer,
  encodeShortHeader,
} from '../wire/index.js';

/** A stateless reset is never shorter (PROTOCOL.md §3a); shorter datagrams are never taken for one. */
export const STATELESS_RESET_MIN_LEN = 40;
/** Nor longer: it only needs to look like a small short-header packet. */
export const STATELESS_RESET_MAX_LEN = 64;
/** Only a datagram of at least this size draws a reset, which is always strictly smaller (no loops). */
export const STATELESS_RESET_MIN_TRIGGER = STATELESS_RESET_MIN_LEN + 1;
/** Resets an endpoint sends per second, and its burst (token bucket). */
export const DEFAULT_STATELESS_RESETS_PER_SEC = 20;

const LABEL = new TextEncoder().encode('wraith stateless reset key');

/**
 * token(cid) for this endpoint's own CIDs. The derived key lives only in the
 * returned closure: it is not a property anything could log or serialise.
 */
export function statelessResetTokens(backend: CryptoBackend, staticPriv: Uint8Array): (cid: Uint8Array) => Uint8Array {
  const key = backend.hmac('BLAKE2s', staticPriv, LABEL);
  return (cid) => backend.hmac('BLAKE2s', key, cid).slice(0, STATELESS_RESET_TOKEN_LEN);
}

/** Whether `datagram` ends with `token`, in time independent of where they differ. */
export function endsWithToken(datagram: Uint8Array, token: Uint8Array): boolean {
  const n = token.length;
  const off = datagram.length - n;
  if (n !== STATELESS_RESET_TOKEN_LEN || off < 0) return false;
  let d = 0;
  for (let i = 0; i < n; i++) d |= (datagram[off + i] ?? 0) ^ (token[i] ?? 0);
  return d === 0;
}

/** The last 16 bytes of a datagram as lowercase hex (the endpoint's token table key). */
export function tailHex(datagram: Uint8Array): string {
  let s = '';
  for (let i = datagram.length - STATELESS_RESET_TOKEN_LEN; i < datagram.length; i++) {
    s += HEX[datagram[i] ?? 0] as string;
  }
  return s;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Size of the reset answering a `triggerLen`-byte datagram: strictly smaller, never under the minimum. */
export function statelessResetLength(triggerLen: number): number {
  return Math.max(STATELESS_RESET_MIN_LEN, Math.min(triggerLen - 1, STATELESS_RESET_MAX_LEN));
}

/**
 * A stateless reset answering a `triggerLen`-byte datagram (the caller checked
 * triggerLen >= STATELESS_RESET_MIN_TRIGGER): a short header with a random key
 * phase, CID and packet number, random bytes, then the token.
 */
export function buildStatelessReset(rng: Rng, triggerLen: number, token: Uint8Array): Uint8Array {
  const len = statelessResetLength(triggerLen);
  const out = new Uint8Array(len);
  rng.fill(out);
  const dcid = out.slice(1, 1 + CID_LEN);
  const w = new Writer(out);
  encodeShortHeader(w, {
    keyPhase: (out[0] ?? 0) & 1,
    dcid,
    pnTruncated: (((out[9] ?? 0) << 24) | ((out[10] ?? 0) << 16) | ((out[11] ?? 0) << 8) | (out[12] ?? 0)) >>> 0,
  });
  out.set(token, len - STATELESS_RESET_TOKEN_LEN);
  return out;
}

/** Token bucket limiting the resets an endpoint sends (a reset costs an HMAC and a datagram). */
export class ResetBudget {
  private tokens: number;
  private at: Instant = 0;

  constructor(
    private readonly perSec: number,
    private readonly burst: number = perSec,
  ) {
    this.tokens = burst;
  }

  take(now: Instant): boolean {
    if (this.perSec <= 0) return false;
    const elapsed = now - this.at;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1_000_000) * this.perSec);
      this.at = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
