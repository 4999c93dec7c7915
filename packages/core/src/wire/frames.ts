/**
 * Frames (PROTOCOL.md §4): the plaintext of a short-header packet. Decoders
 * return views into the payload for data fields; encoders write into the
 * caller's Writer and check the whole frame fits before writing any byte.
 */
import { WraithError } from '../errors.js';
import { Reader } from './reader.js';
import type { Writer } from './writer.js';
import { MAX_VARINT, isVarint, varintLength, VARINT_MAX_1, VARINT_MAX_2, VARINT_MAX_4 } from './varint.js';
import { readUtf8, reasonUtf8 } from './utf8.js';

/** Frame type codes (PROTOCOL.md §4). */
export const FrameType = {
  PADDING: 0x00,
  PING: 0x01,
  ACK: 0x02,
  CONTROL: 0x03,
  CHUNK: 0x04,
  PROOF: 0x05,
  WINDOW: 0x06,
  KEY_UPDATE: 0x07,
  PATH_CHALLENGE: 0x08,
  PATH_RESPONSE: 0x09,
  CLOSE: 0x0a,
  ZERO_CHUNK: 0x0b,
} as const;

/** BLAKE3 output length: one Merkle sibling in a PROOF (PROTOCOL.md §7). */
export const HASH_LEN = 32;
/** PROOF count is a u8 (PROTOCOL.md §4). */
export const MAX_PROOF_HASHES = 255;
/** X25519 public key in KEY_UPDATE. */
export const KEY_UPDATE_KEY_LEN = 32;
/** PATH_CHALLENGE / PATH_RESPONSE payload. */
export const PATH_DATA_LEN = 8;
/** CLOSE reason limit in UTF-8 bytes (PROTOCOL.md §4). */
export const MAX_REASON_LEN = 256;
/** ACK ranges written when the caller gives no cap (as quinn's MAX_ACK_BLOCKS). */
export const DEFAULT_MAX_ACK_RANGES = 64;

export interface PaddingFrame {
  readonly type: 'padding';
  /** Number of zero bytes (>= 1). */
  readonly length: number;
}
export interface PingFrame {
  readonly type: 'ping';
}
export interface AckFrame {
  readonly type: 'ack';
  readonly largest: number;
  /** Microseconds (PROTOCOL.md §4: no exponent). */
  readonly ackDelay: number;
  /** Inclusive [lo, hi] ranges, descending, separated by at least one missing number; the first ends at `largest`. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
}
export interface ControlFrame {
  readonly type: 'control';
  readonly offset: number;
  readonly data: Uint8Array;
}
export interface ChunkFrame {
  readonly type: 'chunk';
  readonly transferId: number;
  readonly offset: number;
  readonly data: Uint8Array;
}
export interface ProofFrame {
  readonly type: 'proof';
  readonly transferId: number;
  readonly chunkIndex: number;
  /** Path position of the first hash. */
  readonly first: number;
  /** count × 32 bytes, bottom up, count <= 255. */
  readonly hashes: Uint8Array;
}
/** Chunk `chunkIndex` is all zero bytes, its whole length: a CHUNK without the bytes. */
export interface ZeroChunkFrame {
  readonly type: 'zero_chunk';
  readonly transferId: number;
  readonly chunkIndex: number;
}
export interface WindowFrame {
  readonly type: 'window';
  readonly transferId: number;
  readonly maxOffset: number;
}
export interface KeyUpdateFrame {
  readonly type: 'key_update';
  readonly seq: number;
  readonly publicKey: Uint8Array;
}
export interface PathChallengeFrame {
  readonly type: 'path_challenge';
  readonly data: Uint8Array;
}
export interface PathResponseFrame {
  readonly type: 'path_response';
  readonly data: Uint8Array;
}
export interface CloseFrame {
  readonly type: 'close';
  /** Wire error code (PROTOCOL.md §8): map with wireCodeFor / errorCodeForWire. */
  readonly errorCode: number;
  /** Encoding cuts it to 256 UTF-8 bytes at a character boundary; lone surrogates become U+FFFD. */
  readonly reason: string;
}

export type Frame =
  | PaddingFrame
  | PingFrame
  | AckFrame
  | ControlFrame
  | ChunkFrame
  | ProofFrame
  | ZeroChunkFrame
  | WindowFrame
  | KeyUpdateFrame
  | PathChallengeFrame
  | PathResponseFrame
  | CloseFrame;

function frameError(message: string, details?: Record<string, unknown>): WraithError {
  return new WraithError('E_WIRE_FRAME', message, details);
}

/** PADDING, ACK and CLOSE do not elicit an ACK (PROTOCOL.md §4). */
export function isAckEliciting(f: Frame): boolean {
  return f.type !== 'padding' && f.type !== 'ack' && f.type !== 'close';
}

/** Encoded size of a CHUNK frame's type and fields before its data. */
export function chunkFrameOverhead(transferId: number, offset: number, len: number): number {
  return 1 + varintLength(transferId) + varintLength(offset) + varintLength(len);
}

/** Encoded size of a CONTROL frame's type and fields before its data. */
export function controlFrameOverhead(offset: number, len: number): number {
  return 1 + varintLength(offset) + varintLength(len);
}

/**
 * Largest data length L such that `fixed` bytes + varint(L) + L fit in `space`
 * (0 when nothing fits).
 */
function dataFit(fixed: number, space: number): number {
  const avail = space - fixed;
  let best = 0;
  if (avail >= 1) best = Math.min(avail - 1, VARINT_MAX_1);
  if (avail >= 2) best = Math.max(best, Math.min(avail - 2, VARINT_MAX_2));
  if (avail >= 4) best = Math.max(best, Math.min(avail - 4, VARINT_MAX_4));
  if (avail >= 8) best = Math.max(best, Math.min(avail - 8, MAX_VARINT));
  return best;
}

/** Most chunk bytes a CHUNK frame at (transferId, offset) can carry in `space` bytes. */
export function chunkDataFit(transferId: number, offset: number, space: number): number {
  return dataFit(1 + varintLength(transferId) + varintLength(offset), space);
}

/** Most stream bytes a CONTROL frame at `offset` can carry in `space` bytes. */
export function controlDataFit(offset: number, space: number): number {
  return dataFit(1 + varintLength(offset), space);
}

function checkVarint(v: number, field: string): void {
  if (!isVarint(v)) throw new WraithError('E_WIRE_VARINT', `${field}: ${v} is not an integer in [0, 2^53-1]`, { field, value: v });
}

function checkSpan(offset: number, len: number, field: string): void {
  checkVarint(offset, `${field} offset`);
  if (offset + len > MAX_VARINT) throw frameError(`${field}: offset ${offset} + length ${len} exceeds 2^53-1`, { offset, len });
}

function checkFixed(data: Uint8Array, len: number, field: string): void {
  if (data.length !== len) throw frameError(`${field} is ${data.length} bytes, expected ${len}`, { field, length: data.length });
}

/** Number of ACK ranges actually written under `maxRanges`, after validating them. */
function ackRangesWritten(f: AckFrame, maxRanges: number): number {
  if (!Number.isInteger(maxRanges) || maxRanges < 1) throw frameError(`maxAckRanges ${maxRanges} must be a positive integer`);
  checkVarint(f.largest, 'ack largest');
  checkVarint(f.ackDelay, 'ack delay');
  let prevLo = -1;
  let i = 0;
  for (const [lo, hi] of f.ranges) {
    if (!isVarint(lo) || !isVarint(hi) || lo > hi) throw frameError(`ack range [${lo}, ${hi}] is not a valid range`, { lo, hi });
    if (i === 0 && hi !== f.largest) throw frameError(`first ack range ends at ${hi}, not at largest ${f.largest}`, { hi });
    if (i > 0 && hi > prevLo - 2) throw frameError(`ack range [${lo}, ${hi}] is not below the previous one with a gap`, { lo, hi });
    prevLo = lo;
    i++;
  }
  if (i === 0) throw frameError('an ACK frame needs at least one range');
  return Math.min(i, maxRanges);
}

/** Exact encoded size of `f` (validates it as encodeFrame would). */
export function frameLength(f: Frame, maxAckRanges = DEFAULT_MAX_ACK_RANGES): number {
  switch (f.type) {
    case 'padding':
      if (!Number.isInteger(f.length) || f.length < 1) throw frameError(`padding length ${f.length} must be >= 1`);
      return f.length;
    case 'ping':
      return 1;
    case 'ack': {
      const n = ackRangesWritten(f, maxAckRanges);
      let size = 1 + varintLength(f.largest) + varintLength(f.ackDelay) + varintLength(n - 1);
      let prevLo = 0;
      let i = 0;
      for (const [lo, hi] of f.ranges) {
        if (i === n) break;
        if (i > 0) size += varintLength(prevLo - hi - 2);
        size += varintLength(hi - lo);
        prevLo = lo;
        i++;
      }
      return size;
    }
    case 'control':
      checkSpan(f.offset, f.data.length, 'control');
      return controlFrameOverhead(f.offset, f.data.length) + f.data.length;
    case 'chunk':
      checkVarint(f.transferId, 'chunk transfer id');
      checkSpan(f.offset, f.data.length, 'chunk');
      return chunkFrameOverhead(f.transferId, f.offset, f.data.length) + f.data.length;
    case 'proof': {
      checkVarint(f.transferId, 'proof transfer id');
      checkVarint(f.chunkIndex, 'proof chunk index');
      checkVarint(f.first, 'proof first');
      const count = f.hashes.length / HASH_LEN;
      if (!Number.isInteger(count) || count > MAX_PROOF_HASHES) {
        throw frameError(`proof hashes of ${f.hashes.length} bytes are not 0..${MAX_PROOF_HASHES} hashes of ${HASH_LEN} bytes`);
      }
      return 1 + varintLength(f.transferId) + varintLength(f.chunkIndex) + varintLength(f.first) + 1 + f.hashes.length;
    }
    case 'zero_chunk':
      checkVarint(f.transferId, 'zero chunk transfer id');
      checkVarint(f.chunkIndex, 'zero chunk index');
      return 1 + varintLength(f.transferId) + varintLength(f.chunkIndex);
    case 'window':
      checkVarint(f.transferId, 'window transfer id');
      checkVarint(f.maxOffset, 'window max offset');
      return 1 + varintLength(f.transferId) + varintLength(f.maxOffset);
    case 'key_update':
      checkVarint(f.seq, 'key update sequence');
      checkFixed(f.publicKey, KEY_UPDATE_KEY_LEN, 'key update public key');
      return 1 + varintLength(f.seq) + KEY_UPDATE_KEY_LEN;
    case 'path_challenge':
    case 'path_response':
      checkFixed(f.data, PATH_DATA_LEN, `${f.type} data`);
      return 1 + PATH_DATA_LEN;
    case 'close': {
      checkVarint(f.errorCode, 'close error code');
      const n = reasonUtf8(f.reason, MAX_REASON_LEN, null);
      return 1 + varintLength(f.errorCode) + varintLength(n) + n;
    }
  }
}

/**
 * Encode `f` at the writer's position. Throws E_WIRE_TOO_LARGE (before writing
 * anything) if it does not fit, E_WIRE_FRAME / E_WIRE_VARINT for invalid fields.
 * An ACK writes at most `maxAckRanges` ranges: the newest, older ones are dropped.
 */
export function encodeFrame(w: Writer, f: Frame, maxAckRanges = DEFAULT_MAX_ACK_RANGES): void {
  const size = frameLength(f, maxAckRanges);
  if (size > w.remaining) {
    throw new WraithError('E_WIRE_TOO_LARGE', `${f.type} frame of ${size} bytes does not fit in ${w.remaining}`, {
      needed: size,
      remaining: w.remaining,
    });
  }
  switch (f.type) {
    case 'padding':
      w.zeros(f.length);
      return;
    case 'ping':
      w.varint(FrameType.PING);
      return;
    case 'ack': {
      const n = Math.min(f.ranges.length, maxAckRanges);
      w.varint(FrameType.ACK);
      w.varint(f.largest);
      w.varint(f.ackDelay);
      w.varint(n - 1);
      let prevLo = 0;
      let i = 0;
      for (const [lo, hi] of f.ranges) {
        if (i === n) break;
        if (i > 0) w.varint(prevLo - hi - 2);
        w.varint(hi - lo);
        prevLo = lo;
        i++;
      }
      return;
    }
    case 'control':
      w.varint(FrameType.CONTROL);
      w.varint(f.offset);
      w.varint(f.data.length);
      w.bytes(f.data);
      return;
    case 'chunk':
      encodeChunkHeader(w, f.transferId, f.offset, f.data.length);
      w.bytes(f.data);
      return;
    case 'proof':
      w.varint(FrameType.PROOF);
      w.varint(f.transferId);
      w.varint(f.chunkIndex);
      w.varint(f.first);
      w.u8(f.hashes.length / HASH_LEN);
      w.bytes(f.hashes);
      return;
    case 'zero_chunk':
      w.varint(FrameType.ZERO_CHUNK);
      w.varint(f.transferId);
      w.varint(f.chunkIndex);
      return;
    case 'window':
      w.varint(FrameType.WINDOW);
      w.varint(f.transferId);
      w.varint(f.maxOffset);
      return;
    case 'key_update':
      w.varint(FrameType.KEY_UPDATE);
      w.varint(f.seq);
      w.bytes(f.publicKey);
      return;
    case 'path_challenge':
    case 'path_response':
      w.varint(f.type === 'path_challenge' ? FrameType.PATH_CHALLENGE : FrameType.PATH_RESPONSE);
      w.bytes(f.data);
      return;
    case 'close': {
      w.varint(FrameType.CLOSE);
      w.varint(f.errorCode);
      w.varint(reasonUtf8(f.reason, MAX_REASON_LEN, null));
      reasonUtf8(f.reason, MAX_REASON_LEN, w);
      return;
    }
  }
}

function decodeAck(r: Reader): AckFrame {
  const largest = r.varint('ack largest');
  const ackDelay = r.varint('ack delay');
  const count = r.varint('ack range count');
  const firstRange = r.varint('ack first range');
  if (firstRange > largest) throw frameError(`ack first range ${firstRange} exceeds largest ${largest}`, { largest, firstRange });
  // Each further range takes at least two bytes: refuse a count the payload cannot hold before allocating.
  if (count > r.remaining / 2) {
    throw new WraithError('E_WIRE_TRUNCATED', `ack range count ${count} exceeds what ${r.remaining} byte(s) can hold`, { count });
  }
  let smallest = largest - firstRange;
  const ranges: Array<[number, number]> = [[smallest, largest]];
  for (let i = 0; i < count; i++) {
    const gap = r.varint('ack gap');
    const len = r.varint('ack range length');
    const hi = smallest - gap - 2;
    if (hi < 0) throw frameError(`ack gap ${gap} goes below packet number 0`, { gap, smallest });
    const lo = hi - len;
    if (lo < 0) throw frameError(`ack range length ${len} goes below packet number 0`, { len, hi });
    ranges.push([lo, hi]);
    smallest = lo;
  }
  return { type: 'ack', largest, ackDelay, ranges };
}

// Field names are constants: a template string here would build two strings per frame.
function decodeSpanEnd(offset: number, len: number, field: string): void {
  if (offset + len > MAX_VARINT) throw frameError(`${field}: offset ${offset} + length ${len} exceeds 2^53-1`, { offset, len });
}

/**
 * Decode one frame at the reader's position. Consecutive PADDING bytes collapse
 * into one padding frame. Throws E_WIRE_FRAME_TYPE for an unknown type,
 * E_WIRE_VARINT for a type not in its shortest encoding, and E_WIRE_FRAME,
 * E_WIRE_TRUNCATED or E_WIRE_VARINT for a malformed body.
 */
/**
 * A CHUNK frame up to its data: the caller writes the `len` data bytes next
 * (or leaves them to the packet sealer, Writer.skip). Checks what frameLength does.
 */
export function encodeChunkHeader(w: Writer, transferId: number, offset: number, len: number): void {
  checkVarint(transferId, 'chunk transfer id');
  checkSpan(offset, len, 'chunk');
  w.varint(FrameType.CHUNK);
  w.varint(transferId);
  w.varint(offset);
  w.varint(len);
}

/** A CHUNK frame whose fields decodeFrame may overwrite. */
export type MutableChunkFrame = { -readonly [K in keyof ChunkFrame]: ChunkFrame[K] };

/** Hands decodeFrame a reused CHUNK frame to fill instead of a new object. */
export interface ChunkFrameSource {
  next(): MutableChunkFrame;
}

export function decodeFrame(r: Reader, chunks?: ChunkFrameSource): Frame {
  const at = r.offset;
  const type = r.varint('frame type');
  if (r.offset - at !== varintLength(type)) {
    throw new WraithError('E_WIRE_VARINT', `frame type ${type} at offset ${at} is not in its shortest encoding`, { offset: at });
  }
  switch (type) {
    case FrameType.PADDING:
      return { type: 'padding', length: 1 + r.skipZeros() };
    case FrameType.PING:
      return { type: 'ping' };
    case FrameType.ACK:
      return decodeAck(r);
    case FrameType.CONTROL: {
      const offset = r.varint('control offset');
      const len = r.varint('control length');
      decodeSpanEnd(offset, len, 'control');
      return { type: 'control', offset, data: r.bytes(len, 'control data') };
    }
    case FrameType.CHUNK: {
      const transferId = r.varint('chunk transfer id');
      const offset = r.varint('chunk offset');
      const len = r.varint('chunk length');
      decodeSpanEnd(offset, len, 'chunk');
      const data = r.bytes(len, 'chunk data');
      if (chunks === undefined) return { type: 'chunk', transferId, offset, data };
      const f = chunks.next();
      f.transferId = transferId;
      f.offset = offset;
      f.data = data;
      return f;
    }
    case FrameType.PROOF: {
      const transferId = r.varint('proof transfer id');
      const chunkIndex = r.varint('proof chunk index');
      const first = r.varint('proof first');
      const count = r.u8('proof count');
      return { type: 'proof', transferId, chunkIndex, first, hashes: r.bytes(count * HASH_LEN, 'proof hashes') };
    }
    case FrameType.ZERO_CHUNK: {
      const transferId = r.varint('zero chunk transfer id');
      return { type: 'zero_chunk', transferId, chunkIndex: r.varint('zero chunk index') };
    }
    case FrameType.WINDOW: {
      const transferId = r.varint('window transfer id');
      return { type: 'window', transferId, maxOffset: r.varint('window max offset') };
    }
    case FrameType.KEY_UPDATE: {
      const seq = r.varint('key update sequence');
      return { type: 'key_update', seq, publicKey: r.bytes(KEY_UPDATE_KEY_LEN, 'key update public key') };
    }
    case FrameType.PATH_CHALLENGE:
      return { type: 'path_challenge', data: r.bytes(PATH_DATA_LEN, 'path challenge data') };
    case FrameType.PATH_RESPONSE:
      return { type: 'path_response', data: r.bytes(PATH_DATA_LEN, 'path response data') };
    case FrameType.CLOSE: {
      const errorCode = r.varint('close error code');
      const len = r.varint('close reason length');
      if (len > MAX_REASON_LEN) throw frameError(`close reason length ${len} exceeds ${MAX_REASON_LEN}`, { len });
      return { type: 'close', errorCode, reason: readUtf8(r, len, 'close reason', 'E_WIRE_FRAME') };
    }
    default:
      throw new WraithError('E_WIRE_FRAME_TYPE', `unknown frame type 0x${type.toString(16)} at offset ${at}`, { type, offset: at });
  }
}

/**
 * Decode a whole packet payload, then call `visit` for each frame in order.
 * Nothing is visited unless every frame parses, so a malformed packet cannot
 * change session state (PROTOCOL.md §4). An empty payload is E_WIRE_FRAME.
 * Returns the number of frames.
 */
export function decodeFrames(payload: Uint8Array, visit: (f: Frame) => void): number {
  const r = new Reader(payload);
  if (r.atEnd()) throw frameError('a packet payload holds no frame');
  const frames: Frame[] = [];
  while (!r.atEnd()) frames.push(decodeFrame(r));
  for (const f of frames) visit(f);
  return frames.length;
}
