/** Peer ids (docs/PROTOCOL.md §1): the 32-byte X25519 static public key as 64 lowercase hex. */
import { WraithError } from '../errors.js';
import { X25519_KEY_LEN, checkLen } from './backend.js';

const HEX = '0123456789abcdef';
const PEER_ID_RE = /^(?:0[xX])?([0-9a-fA-F]{64})$/;

export function peerIdFromPublicKey(pub: Uint8Array): string {
  checkLen('peer public key', pub, X25519_KEY_LEN);
  let s = '';
  for (let i = 0; i < pub.length; i++) {
    const b = pub[i]!;
    s += HEX[b >>> 4]! + HEX[b & 15]!;
  }
  return s;
}

/** Accepts an optional 0x prefix and either case; anything else is E_PEER_ID_INVALID. */
export function parsePeerId(s: string): Uint8Array {
  const m = typeof s === 'string' ? PEER_ID_RE.exec(s.trim()) : null;
  if (m === null) {
    const shown = typeof s === 'string' ? JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s) : typeof s;
    throw new WraithError('E_PEER_ID_INVALID', `not a peer id: ${shown}`, { value: typeof s === 'string' ? s.slice(0, 200) : typeof s });
  }
  const hex = m[1]!.toLowerCase();
  const out = new Uint8Array(X25519_KEY_LEN);
  for (let i = 0; i < X25519_KEY_LEN; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Constant-time equality of two byte strings of equal length (false when lengths differ). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
