/**
 * Packet headers (PROTOCOL.md §2). A long-header packet fills its datagram;
 * decoders return views into the datagram, never copies.
 *
 * Version handling: the top bit, the u32 version and the two 8-byte CIDs keep
 * their place in every version, so a long header of another version decodes to
 * `{ type: 'unsupported_version', version, dcid, scid }` (not an error): the
 * responder can answer with VERSION_NEGOTIATION, the initiator fails with
 * E_VERSION when it receives one. Encoding that variant is E_WIRE_HEADER.
 */
import { WraithError } from '../errors.js';
import { AEAD_TAG_LEN } from '../crypto/backend.js';
import { Reader } from './reader.js';
import type { Writer } from './writer.js';
import { varintLength } from './varint.js';

/** Wire version of this implementation (PROTOCOL.md title). */
export const WIRE_VERSION = 1;
/** Connection id length (PROTOCOL.md §1). */
export const CID_LEN = 8;
/** Short header: first byte, DCID, u32 packet number (PROTOCOL.md §2.2). */
export const SHORT_HEADER_LEN = 1 + CID_LEN + 4;
/** Long header before the body: first byte, version, DCID, SCID (PROTOCOL.md §2.1). */
export const LONG_HEADER_LEN = 1 + 4 + CID_LEN + CID_LEN;
/** Minimum INITIATION datagram (PROTOCOL.md §2.1, anti-amplification). */
export const MIN_INITIATION_SIZE = 1200;
/** ChaCha20-Poly1305 tag (RFC 8439): one constant, shared with packet protection. */
export { AEAD_TAG_LEN };

/** Long-header packet types: the low nibble of byte 0 (PROTOCOL.md §2.1). */
export const LongType = {
  INITIATION: 0,
  RESPONSE: 1,
  FINISH: 2,
  COOKIE_REPLY: 3,
  VERSION_NEGOTIATION: 4,
} as const;

const LONG_FORM = 0xc0;
const SHORT_FORM = 0x40;
const KEY_PHASE_BIT = 0x04;

interface LongCommon {
  /** WIRE_VERSION, or 0 in VERSION_NEGOTIATION. */
  readonly version: number;
  /** Destination connection id (8 bytes). */
  readonly dcid: Uint8Array;
  /** Source connection id (8 bytes). */
  readonly scid: Uint8Array;
}
export interface InitiationPacket extends LongCommon {
  readonly type: 'initiation';
  /** Cookie from a COOKIE_REPLY (§6), or empty. */
  readonly token: Uint8Array;
  /** Noise message 1. */
  readonly noise: Uint8Array;
}
export interface ResponsePacket extends LongCommon {
  readonly type: 'response';
  /** Noise message 2. */
  readonly noise: Uint8Array;
}
export interface FinishPacket extends LongCommon {
  readonly type: 'finish';
  /** Noise message 3. */
  readonly noise: Uint8Array;
}
export interface CookieReplyPacket extends LongCommon {
  readonly type: 'cookie_reply';
  readonly cookie: Uint8Array;
}
export interface VersionNegotiationPacket extends LongCommon {
  readonly type: 'version_negotiation';
  /** Supported versions (at least one). */
  readonly versions: readonly number[];
}
/** A long header of a version this implementation does not speak (decode only). */
export interface UnsupportedVersionPacket extends LongCommon {
  readonly type: 'unsupported_version';
}

export type LongHeaderPacket =
  | InitiationPacket
  | ResponsePacket
  | FinishPacket
  | CookieReplyPacket
  | VersionNegotiationPacket
  | UnsupportedVersionPacket;

export interface ShortHeader {
  /** 0 or 1 (PROTOCOL.md §5: sequence mod 2). */
  keyPhase: number;
  dcid: Uint8Array;
  /** Low 32 bits of the packet number (expand with expandPn). */
  pnTruncated: number;
}

/** True for a long-header first byte (top bit set, in every version). */
export function isLongHeader(firstByte: number): boolean {
  return (firstByte & 0x80) !== 0;
}

/** True for a version-1 short-header first byte (0x40 or 0x44). */
export function isShortHeader(firstByte: number): boolean {
  return (firstByte & ~KEY_PHASE_BIT) === SHORT_FORM;
}

function headerError(message: string, details?: Record<string, unknown>): WraithError {
  return new WraithError('E_WIRE_HEADER', message, details);
}

function checkCid(cid: Uint8Array, field: string): void {
  if (cid.length !== CID_LEN) {
    throw headerError(`${field} is ${cid.length} bytes, expected ${CID_LEN}`, { field, length: cid.length });
  }
}

function typeCode(p: LongHeaderPacket): number {
  switch (p.type) {
    case 'initiation':
      return LongType.INITIATION;
    case 'response':
      return LongType.RESPONSE;
    case 'finish':
      return LongType.FINISH;
    case 'cookie_reply':
      return LongType.COOKIE_REPLY;
    case 'version_negotiation':
      return LongType.VERSION_NEGOTIATION;
    case 'unsupported_version':
      throw headerError(`cannot encode a packet of unsupported version ${p.version}`, { version: p.version });
  }
}

function lengthPrefixed(n: number): number {
  return varintLength(n) + n;
}

/** Bytes the packet's body occupies before any INITIATION padding. */
function bodyLength(p: LongHeaderPacket): number {
  switch (p.type) {
    case 'initiation':
      return lengthPrefixed(p.token.length) + lengthPrefixed(p.noise.length);
    case 'response':
    case 'finish':
      return lengthPrefixed(p.noise.length);
    case 'cookie_reply':
      return lengthPrefixed(p.cookie.length);
    case 'version_negotiation':
      return 4 * p.versions.length;
    case 'unsupported_version':
      return 0;
  }
}

/** Exact encoded size of a long-header packet, INITIATION padding included. */
export function longHeaderPacketLength(p: LongHeaderPacket): number {
  const n = LONG_HEADER_LEN + bodyLength(p);
  return p.type === 'initiation' ? Math.max(n, MIN_INITIATION_SIZE) : n;
}

/**
 * Encode a long-header packet at the writer's position, which must be the start
 * of the datagram (a long-header packet fills its datagram). INITIATION is
 * zero-padded to MIN_INITIATION_SIZE.
 */
export function encodeLongHeader(w: Writer, p: LongHeaderPacket): void {
  const type = typeCode(p);
  checkCid(p.dcid, 'dcid');
  checkCid(p.scid, 'scid');
  const version = p.type === 'version_negotiation' ? 0 : WIRE_VERSION;
  if (p.version !== version) throw headerError(`${p.type} must carry version ${version}, not ${p.version}`, { version: p.version });
  if (p.type === 'version_negotiation' && p.versions.length === 0) {
    throw headerError('VERSION_NEGOTIATION needs at least one version');
  }
  const start = w.offset;
  const size = longHeaderPacketLength(p);
  if (w.remaining < size) {
    throw new WraithError('E_WIRE_TOO_LARGE', `${p.type} packet needs ${size} bytes, ${w.remaining} available`, {
      needed: size,
      remaining: w.remaining,
    });
  }
  w.u8(LONG_FORM | type);
  w.u32(version, 'version');
  w.bytes(p.dcid, 'dcid');
  w.bytes(p.scid, 'scid');
  switch (p.type) {
    case 'initiation':
      w.varint(p.token.length, 'token length');
      w.bytes(p.token, 'token');
      w.varint(p.noise.length, 'noise length');
      w.bytes(p.noise, 'noise');
      w.zeros(Math.max(0, MIN_INITIATION_SIZE - (w.offset - start)), 'padding');
      break;
    case 'response':
    case 'finish':
      w.varint(p.noise.length, 'noise length');
      w.bytes(p.noise, 'noise');
      break;
    case 'cookie_reply':
      w.varint(p.cookie.length, 'cookie length');
      w.bytes(p.cookie, 'cookie');
      break;
    case 'version_negotiation':
      for (const v of p.versions) w.u32(v, 'supported version');
      break;
    case 'unsupported_version':
      break; // typeCode() already refused it
  }
}

/**
 * Decode the long-header packet that fills `r` (from r.offset to r.end).
 * Throws E_WIRE_HEADER (bad form, type, INITIATION shorter than 1200 bytes or
 * non-zero padding), E_WIRE_TRUNCATED or E_WIRE_TRAILING.
 */
export function decodeLongHeader(r: Reader): LongHeaderPacket {
  const start = r.offset;
  const first = r.u8('first byte');
  if (!isLongHeader(first)) throw headerError(`first byte 0x${first.toString(16)} is not a long header`, { first });
  const version = r.u32('version');
  const dcid = r.bytes(CID_LEN, 'dcid');
  const scid = r.bytes(CID_LEN, 'scid');
  if (version !== WIRE_VERSION && version !== 0) return { type: 'unsupported_version', version, dcid, scid };
  if ((first & 0xf0) !== LONG_FORM) throw headerError(`first byte 0x${first.toString(16)} has reserved bits set`, { first });
  const type = first & 0x0f;
  if (version === 0) {
    if (type !== LongType.VERSION_NEGOTIATION) throw headerError(`version 0 with packet type ${type}`, { type });
    const n = r.remaining;
    if (n === 0 || n % 4 !== 0) throw headerError(`VERSION_NEGOTIATION body of ${n} bytes is not a non-empty list of u32`, { length: n });
    const versions: number[] = [];
    while (!r.atEnd()) versions.push(r.u32('supported version'));
    return { type: 'version_negotiation', version, dcid, scid, versions };
  }
  switch (type) {
    case LongType.INITIATION: {
      const size = r.end - start;
      if (size < MIN_INITIATION_SIZE) {
        throw headerError(`INITIATION datagram of ${size} bytes is under ${MIN_INITIATION_SIZE}`, { size });
      }
      const token = r.bytes(r.varint('token length'), 'token');
      const noise = r.bytes(r.varint('noise length'), 'noise');
      if (!r.restIsZero()) throw headerError('INITIATION padding is not all zero', { offset: r.offset });
      return { type: 'initiation', version, dcid, scid, token, noise };
    }
    case LongType.RESPONSE:
    case LongType.FINISH: {
      const noise = r.bytes(r.varint('noise length'), 'noise');
      r.expectEnd(type === LongType.RESPONSE ? 'RESPONSE' : 'FINISH');
      return type === LongType.RESPONSE
        ? { type: 'response', version, dcid, scid, noise }
        : { type: 'finish', version, dcid, scid, noise };
    }
    case LongType.COOKIE_REPLY: {
      const cookie = r.bytes(r.varint('cookie length'), 'cookie');
      r.expectEnd('COOKIE_REPLY');
      return { type: 'cookie_reply', version, dcid, scid, cookie };
    }
    default:
      throw headerError(`unknown long packet type ${type} for version 1`, { type });
  }
}

/** Encode the 13-byte short header (the AEAD associated data). */
export function encodeShortHeader(w: Writer, h: ShortHeader): void {
  checkCid(h.dcid, 'dcid');
  if (h.keyPhase !== 0 && h.keyPhase !== 1) throw headerError(`key phase ${String(h.keyPhase)} is not 0 or 1`);
  if (w.remaining < SHORT_HEADER_LEN) {
    throw new WraithError('E_WIRE_TOO_LARGE', `short header needs ${SHORT_HEADER_LEN} bytes, ${w.remaining} available`);
  }
  w.u8(SHORT_FORM | (h.keyPhase << 2));
  w.bytes(h.dcid, 'dcid');
  w.u32(h.pnTruncated, 'packet number');
}

/**
 * Decode a short header; the reader is left at the ciphertext, which must hold
 * at least the AEAD tag. Pass `out` to reuse one object per datagram.
 */
export function decodeShortHeader(
  r: Reader,
  out: ShortHeader = { keyPhase: 0, dcid: new Uint8Array(0), pnTruncated: 0 },
): ShortHeader {
  decodeShort(r, out, true);
  return out;
}

/**
 * decodeShortHeader for a datagram already routed by its CID: the same checks and errors,
 * but the CID is skipped, not viewed (no allocation per packet).
 */
export function decodeShortHeaderFields<T extends { keyPhase: number; pnTruncated: number }>(r: Reader, out: T): T {
  decodeShort(r, out, false);
  return out;
}

function decodeShort(r: Reader, out: { keyPhase: number; pnTruncated: number; dcid?: Uint8Array }, cid: boolean): void {
  const first = r.u8('first byte');
  if (!isShortHeader(first)) throw headerError(`first byte 0x${first.toString(16)} is not a short header`, { first });
  if (cid) out.dcid = r.bytes(CID_LEN, 'dcid');
  else r.skip(CID_LEN, 'dcid');
  out.pnTruncated = r.u32('packet number');
  out.keyPhase = (first & KEY_PHASE_BIT) === 0 ? 0 : 1;
  if (r.remaining < AEAD_TAG_LEN) {
    throw new WraithError('E_WIRE_TRUNCATED', `short-header packet has ${r.remaining} ciphertext byte(s), less than the ${AEAD_TAG_LEN}-byte tag`, {
      remaining: r.remaining,
    });
  }
}

const EMPTY = new Uint8Array(0);
const peekReader = new Reader(EMPTY);

/**
 * The destination CID of a datagram, for demultiplexing, without decoding the
 * rest: any long header (every version keeps the CID in place) or a version-1
 * short header. Null when the datagram is too short or neither form.
 */
export function peekDcid(datagram: Uint8Array): Uint8Array | null {
  const r = peekReader.reset(datagram);
  let dcid: Uint8Array | null = null;
  if (r.remaining >= 1) {
    const first = r.u8();
    if (isLongHeader(first)) {
      if (r.remaining >= 4 + CID_LEN) {
        r.skip(4);
        dcid = r.bytes(CID_LEN);
      }
    } else if (isShortHeader(first) && r.remaining >= CID_LEN) {
      dcid = r.bytes(CID_LEN);
    }
  }
  peekReader.reset(EMPTY); // do not keep the datagram alive
  return dcid;
}
