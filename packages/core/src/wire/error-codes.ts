/**
 * Wire error codes (PROTOCOL.md §8) carried by CLOSE, REJECT and CANCEL, and
 * their mapping to the error registry.
 *
 * Wire -> local is total: NO_ERROR and any code this version does not know map
 * to E_PEER_CLOSED (the peer ended things for a reason we cannot name more
 * precisely). Local -> wire uses the table, then the category: every other
 * 'protocol' code is PROTOCOL, every other 'io' code IO, everything else INTERNAL.
 */
import { ERRORS, type ErrorCategory, type ErrorCode } from '../errors.js';

export const WireError = {
  NO_ERROR: 0,
  PROTOCOL: 1,
  INTERNAL: 2,
  SHUTTING_DOWN: 3,
  CANCELLED: 4,
  NOT_AUTHORIZED: 5,
  NO_SPACE: 6,
  EXISTS: 7,
  PATH_INVALID: 8,
  FILE_TOO_LARGE: 9,
  IDLE_TIMEOUT: 10,
  FLOW_CONTROL: 11,
  TOO_MANY_SESSIONS: 12,
  INTEGRITY: 13,
  SOURCE_CHANGED: 14,
  VERSION: 15,
  IO: 16,
} as const;

/** Each wire code's local meaning (the reverse direction's primary entries). */
const FROM_WIRE = new Map<number, ErrorCode>([
  [WireError.NO_ERROR, 'E_PEER_CLOSED'],
  [WireError.PROTOCOL, 'E_PROTOCOL'],
  [WireError.INTERNAL, 'E_INTERNAL'],
  [WireError.SHUTTING_DOWN, 'E_SHUTTING_DOWN'],
  [WireError.CANCELLED, 'E_TRANSFER_CANCELLED'],
  [WireError.NOT_AUTHORIZED, 'E_PEER_NOT_AUTHORIZED'],
  [WireError.NO_SPACE, 'E_NO_SPACE'],
  [WireError.EXISTS, 'E_EXISTS'],
  [WireError.PATH_INVALID, 'E_PATH_INVALID'],
  [WireError.FILE_TOO_LARGE, 'E_FILE_TOO_LARGE'],
  [WireError.IDLE_TIMEOUT, 'E_IDLE_TIMEOUT'],
  [WireError.FLOW_CONTROL, 'E_FLOW_CONTROL'],
  [WireError.TOO_MANY_SESSIONS, 'E_TOO_MANY_SESSIONS'],
  [WireError.INTEGRITY, 'E_INTEGRITY'],
  [WireError.SOURCE_CHANGED, 'E_SOURCE_CHANGED'],
  [WireError.VERSION, 'E_VERSION'],
  [WireError.IO, 'E_IO'],
]);

/** Local codes sent as a wire code other than their category default. */
const TO_WIRE = new Map<ErrorCode, number>([
  ...[...FROM_WIRE].map(([wire, code]): [ErrorCode, number] => [code, wire]),
  ['E_CANCELLED', WireError.CANCELLED],
  ['E_TRANSFER_REJECTED', WireError.CANCELLED],
  ['E_PEER_ID_MISMATCH', WireError.NOT_AUTHORIZED],
  ['E_HANDSHAKE_TIMEOUT', WireError.IDLE_TIMEOUT],
  ['E_PEER_LOST', WireError.IDLE_TIMEOUT],
  // Local only: a stateless reset ends a session without a CLOSE frame (PROTOCOL.md §3a).
  ['E_PEER_RESET', WireError.IDLE_TIMEOUT],
  // Local only: the kernel's ICMP port unreachable ends a dial.
  ['E_PEER_UNREACHABLE', WireError.IDLE_TIMEOUT],
  ['E_TRANSPORT_CLOSED', WireError.SHUTTING_DOWN],
  ['E_CRYPTO_LOW_ORDER', WireError.PROTOCOL],
  ['E_CRYPTO_DECRYPT', WireError.PROTOCOL],
  ['E_CHUNK_SIZE', WireError.PROTOCOL],
  ['E_MANIFEST', WireError.PROTOCOL],
  ['E_TRANSFER_UNKNOWN', WireError.PROTOCOL],
]);

const CATEGORY = new Map<string, ErrorCategory>(Object.entries(ERRORS).map(([code, s]) => [code, s.category]));

/** The §8 code to send for a local error. */
export function wireCodeFor(code: ErrorCode): number {
  const direct = TO_WIRE.get(code);
  if (direct !== undefined) return direct;
  const category = CATEGORY.get(code);
  return category === 'protocol' ? WireError.PROTOCOL : category === 'io' ? WireError.IO : WireError.INTERNAL;
}

/** The local error for a received §8 code; unknown codes are E_PEER_CLOSED. */
export function errorCodeForWire(n: number): ErrorCode {
  return FROM_WIRE.get(n) ?? 'E_PEER_CLOSED';
}
