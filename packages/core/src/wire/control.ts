/**
 * Control-stream messages (PROTOCOL.md §7): `u8 type, varint length, body`.
 * Byte fields decode as views into the bytes given; the assembler hands
 * decode a private copy of each message, so its views stay valid.
 */
import { WraithError } from '../errors.js';
import { MAX_REASON_LEN } from './frames.js';
import type { Reader } from './reader.js';
import { readUtf8, reasonUtf8, utf8Length, writeUtf8 } from './utf8.js';
import { MAX_VARINT, isVarint, varintLength } from './varint.js';
import type { Writer } from './writer.js';

/** Control message types (PROTOCOL.md §7). */
export const ControlType = {
  OFFER: 1,
  ACCEPT: 2,
  REJECT: 3,
  DONE: 4,
  CANCEL: 5,
  RESEND: 6,
  WRITTEN: 7,
  LEAF_REQUEST: 8,
  LEAVES: 9,
} as const;

/** OFFER kind byte. */
export const OfferKind = { FILE: 0, DIRECTORY: 1 } as const;
/**
 * DONE status byte. INSTALLED_AS (installed under another name, which follows) is sent only to
 * a peer that announced the stored_names transport parameter.
 */
export const DoneStatus = { INSTALLED: 0, ALREADY_PRESENT: 1, INSTALLED_AS: 2 } as const;
/** Longest name a DONE INSTALLED_AS carries (as an OFFER name). */
export const MAX_STORED_NAME_LEN = 4096;

/** Chunk size bounds as log2 (PROTOCOL.md §7: 16 KiB .. 16 MiB). */
export const MIN_CHUNK_LOG2 = 14;
export const MAX_CHUNK_LOG2 = 24;
/** Merkle root length (BLAKE3). */
export const ROOT_LEN = 32;
/**
 * Control-stream window (PROTOCOL.md §7): a receiver buffers this much beyond
 * what it consumed, so a whole message, header included, is at most this long.
 */
export const CONTROL_STREAM_WINDOW = 65_536;
/** Leaf hashes in one LEAVES message: the message, header included, stays within the window. */
export const MAX_LEAVES_PER_MESSAGE = 2040;

export interface OfferMessage {
  readonly type: 'offer';
  readonly transferId: number;
  /** 0 file, 1 directory (OfferKind). */
  readonly kind: 0 | 1;
  readonly size: number;
  /** 14..24. */
  readonly chunkLog2: number;
  readonly mode: number;
  readonly mtimeMs: number;
  /** 32-byte Merkle root. */
  readonly root: Uint8Array;
  /** Relative name; validated as a path by the transfer layer, not here. */
  readonly name: string;
  /**
   * Bytes of the file's all-zero chunks, which go as ZERO_CHUNK frames: what the receiver need
   * not find room for. Optional, at most `size`; only to a receiver that announced zero_chunks.
   */
  readonly zeroBytes?: number;
}
export interface AcceptMessage {
  readonly type: 'accept';
  readonly transferId: number;
  /** [firstChunk, count] runs the receiver already holds: count >= 1, ascending, not overlapping. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  /**
   * Of the held bytes, those the receiver copied from its older copy of the file (after a
   * LEAF_REQUEST). Optional and trailing; only after a LEAF_REQUEST.
   */
  readonly reusedBytes?: number;
}
export interface RejectMessage {
  readonly type: 'reject';
  readonly transferId: number;
  /** Wire error code (PROTOCOL.md §8): map with wireCodeFor / errorCodeForWire. */
  readonly errorCode: number;
  /** At most 256 UTF-8 bytes; longer text is cut at a character boundary when encoded. */
  readonly reason: string;
}
export type DoneMessage =
  | {
      readonly type: 'done';
      readonly transferId: number;
      /** 0 verified and installed, 1 already present (DoneStatus). */
      readonly status: 0 | 1;
    }
  | {
      readonly type: 'done';
      readonly transferId: number;
      /** 2 verified and installed under `name` (the offered name was taken). */
      readonly status: 2;
      /** The relative name the receiver stored it under. */
      readonly name: string;
    };
export interface CancelMessage {
  readonly type: 'cancel';
  readonly transferId: number;
  readonly errorCode: number;
  readonly reason: string;
}
/** The receiver asks for a chunk again after it failed verification. */
export interface ResendMessage {
  readonly type: 'resend';
  readonly transferId: number;
  readonly chunkIndex: number;
}

/**
 * The receiver's progress on its disk: bytes of the file it holds (written and verified, resumed
 * chunks included). Sent only to a peer that announced the written_progress transport parameter.
 */
export interface WrittenMessage {
  readonly type: 'written';
  readonly transferId: number;
  readonly bytes: number;
}

/**
 * The receiver asks for the offered file's leaf row before it accepts (to find chunks it already
 * holds under another content). Sent only to a peer that announced the leaf_rows parameter.
 */
export interface LeafRequestMessage {
  readonly type: 'leaf_request';
  readonly transferId: number;
}

/** Leaf hashes `first`.. of an offered file, in answer to LEAF_REQUEST: 1..MAX_LEAVES_PER_MESSAGE of 32 bytes. */
export interface LeavesMessage {
  readonly type: 'leaves';
  readonly transferId: number;
  readonly first: number;
  readonly leaves: Uint8Array;
}

export type ControlMessage =
  | LeafRequestMessage
  | LeavesMessage
  | OfferMessage
  | AcceptMessage
  | RejectMessage
  | DoneMessage
  | CancelMessage
  | ResendMessage
  | WrittenMessage;

function fieldError(message: string, details?: Record<string, unknown>): WraithError {
  return new WraithError('E_WIRE_FRAME', message, details);
}

function checkVarint(v: number, field: string): void {
  if (!isVarint(v)) throw new WraithError('E_WIRE_VARINT', `${field}: ${v} is not an integer in [0, 2^53-1]`, { field, value: v });
}

function checkChunkLog2(v: number): void {
  if (!Number.isInteger(v) || v < MIN_CHUNK_LOG2 || v > MAX_CHUNK_LOG2) {
    throw new WraithError('E_CHUNK_SIZE', `chunk_log2 ${v} is outside ${MIN_CHUNK_LOG2}..${MAX_CHUNK_LOG2}`, { chunkLog2: v });
  }
}

function typeCode(m: ControlMessage): number {
  switch (m.type) {
    case 'offer':
      return ControlType.OFFER;
    case 'accept':
      return ControlType.ACCEPT;
    case 'reject':
      return ControlType.REJECT;
    case 'done':
      return ControlType.DONE;
    case 'cancel':
      return ControlType.CANCEL;
    case 'resend':
      return ControlType.RESEND;
    case 'written':
      return ControlType.WRITTEN;
    case 'leaf_request':
      return ControlType.LEAF_REQUEST;
    case 'leaves':
      return ControlType.LEAVES;
  }
}

/** Body length of `m`, after validating every field. */
function bodyLength(m: ControlMessage): number {
  checkVarint(m.transferId, `${m.type} transfer id`);
  const id = varintLength(m.transferId);
  switch (m.type) {
    case 'offer': {
      if (m.kind !== 0 && m.kind !== 1) throw fieldError(`offer kind ${String(m.kind)} is not 0 or 1`);
      checkVarint(m.size, 'offer size');
      checkChunkLog2(m.chunkLog2);
      checkVarint(m.mode, 'offer mode');
      checkVarint(m.mtimeMs, 'offer mtime');
      if (m.root.length !== ROOT_LEN) throw fieldError(`offer root is ${m.root.length} bytes, expected ${ROOT_LEN}`);
      const name = utf8Length(m.name, 'offer name', 'E_WIRE_FRAME');
      if (m.zeroBytes !== undefined) checkZeroBytes(m.zeroBytes, m.size);
      return (
        id + 1 + varintLength(m.size) + 1 + varintLength(m.mode) + varintLength(m.mtimeMs) + ROOT_LEN + varintLength(name) + name +
        (m.zeroBytes !== undefined ? varintLength(m.zeroBytes) : 0)
      );
    }
    case 'accept': {
      let n = id + varintLength(m.ranges.length);
      let prevEnd = 0;
      for (const [first, count] of m.ranges) {
        checkAcceptRange(first, count, prevEnd);
        prevEnd = first + count;
        n += varintLength(first) + varintLength(count);
      }
      if (m.reusedBytes !== undefined) {
        checkVarint(m.reusedBytes, 'accept reused bytes');
        n += varintLength(m.reusedBytes);
      }
      return n;
    }
    case 'reject':
    case 'cancel': {
      checkVarint(m.errorCode, `${m.type} error code`);
      const reason = reasonUtf8(m.reason, MAX_REASON_LEN, null);
      return id + varintLength(m.errorCode) + varintLength(reason) + reason;
    }
    case 'done': {
      if (m.status === 2) {
        const name = utf8Length(m.name, 'done name', 'E_WIRE_FRAME');
        if (name > MAX_STORED_NAME_LEN) throw fieldError(`done name of ${name} bytes exceeds ${MAX_STORED_NAME_LEN}`);
        return id + 1 + varintLength(name) + name;
      }
      if (m.status !== 0 && m.status !== 1) throw fieldError(`done status ${String((m as { status: unknown }).status)} is not 0, 1 or 2`);
      return id + 1;
    }
    case 'resend':
      checkVarint(m.chunkIndex, 'resend chunk index');
      return id + varintLength(m.chunkIndex);
    case 'written':
      checkVarint(m.bytes, 'written bytes');
      return id + varintLength(m.bytes);
    case 'leaf_request':
      return id;
    case 'leaves':
      checkVarint(m.first, 'leaves first chunk');
      checkLeafBytes(m.leaves.length);
      return id + varintLength(m.first) + m.leaves.length;
  }
}

function checkLeafBytes(n: number): void {
  if (n === 0 || n % ROOT_LEN !== 0 || n > MAX_LEAVES_PER_MESSAGE * ROOT_LEN) {
    throw fieldError(`leaves of ${n} bytes are not 1..${MAX_LEAVES_PER_MESSAGE} hashes of ${ROOT_LEN} bytes`, { length: n });
  }
}

function checkAcceptRange(first: number, count: number, prevEnd: number): void {
  if (!isVarint(first) || !isVarint(count) || count < 1 || first + count > MAX_VARINT || first < prevEnd) {
    throw fieldError(`accept range (${first}, ${count}) is empty, too large, or not after the previous range`, { first, count });
  }
}

/** Exact encoded size of `m`, header included (validates it as encode would). */
export function controlMessageLength(m: ControlMessage): number {
  const body = bodyLength(m);
  return 1 + varintLength(body) + body;
}

/** Encode `m` at the writer's position; nothing is written unless it all fits. */
export function encodeControlMessage(w: Writer, m: ControlMessage): void {
  const body = bodyLength(m);
  const size = 1 + varintLength(body) + body;
  if (size > w.remaining) {
    throw new WraithError('E_WIRE_TOO_LARGE', `${m.type} message of ${size} bytes does not fit in ${w.remaining}`, {
      needed: size,
      remaining: w.remaining,
    });
  }
  w.u8(typeCode(m));
  w.varint(body);
  w.varint(m.transferId);
  switch (m.type) {
    case 'offer': {
      w.u8(m.kind);
      w.varint(m.size);
      w.u8(m.chunkLog2);
      w.varint(m.mode);
      w.varint(m.mtimeMs);
      w.bytes(m.root);
      const name = utf8Length(m.name, 'offer name', 'E_WIRE_FRAME');
      w.varint(name);
      writeUtf8(w, m.name, name, 'offer name');
      if (m.zeroBytes !== undefined) w.varint(m.zeroBytes);
      return;
    }
    case 'accept':
      w.varint(m.ranges.length);
      for (const [first, count] of m.ranges) {
        w.varint(first);
        w.varint(count);
      }
      if (m.reusedBytes !== undefined) w.varint(m.reusedBytes);
      return;
    case 'reject':
    case 'cancel':
      w.varint(m.errorCode);
      w.varint(reasonUtf8(m.reason, MAX_REASON_LEN, null));
      reasonUtf8(m.reason, MAX_REASON_LEN, w);
      return;
    case 'done':
      w.u8(m.status);
      if (m.status === 2) {
        const name = utf8Length(m.name, 'done name', 'E_WIRE_FRAME');
        w.varint(name);
        writeUtf8(w, m.name, name, 'done name');
      }
      return;
    case 'resend':
      w.varint(m.chunkIndex);
      return;
    case 'written':
      w.varint(m.bytes);
      return;
    case 'leaf_request':
      return;
    case 'leaves':
      w.varint(m.first);
      w.bytes(m.leaves);
      return;
  }
}

/**
 * Decode one message at the reader's position: the body must be consumed
 * exactly (E_WIRE_TRAILING otherwise). An unknown type is E_WIRE_FRAME_TYPE;
 * chunk_log2 outside 14..24 is E_CHUNK_SIZE; other bad fields E_WIRE_FRAME.
 */
export function decodeControlMessage(r: Reader): ControlMessage {
  const at = r.offset;
  const type = r.u8('control type');
  const len = r.varint('control length');
  const b = r.sub(len, 'control body');
  const m = decodeBody(type, b, at);
  b.expectEnd(`control message type ${type}`);
  return m;
}

function checkZeroBytes(zeroBytes: number, size: number): void {
  checkVarint(zeroBytes, 'offer zero bytes');
  if (zeroBytes > size) throw fieldError(`offer zero bytes ${zeroBytes} exceed its size ${size}`, { zeroBytes, size });
}

function decodeBody(type: number, b: Reader, at: number): ControlMessage {
  switch (type) {
    case ControlType.OFFER: {
      const transferId = b.varint('offer transfer id');
      const kind = b.u8('offer kind');
      if (kind !== 0 && kind !== 1) throw fieldError(`offer kind ${kind} is not 0 or 1`, { kind });
      const size = b.varint('offer size');
      const chunkLog2 = b.u8('offer chunk_log2');
      checkChunkLog2(chunkLog2);
      const mode = b.varint('offer mode');
      const mtimeMs = b.varint('offer mtime');
      const root = b.bytes(ROOT_LEN, 'offer root');
      const name = readUtf8(b, b.varint('offer name length'), 'offer name', 'E_WIRE_FRAME');
      if (b.remaining === 0) return { type: 'offer', transferId, kind, size, chunkLog2, mode, mtimeMs, root, name };
      const zeroBytes = b.varint('offer zero bytes');
      checkZeroBytes(zeroBytes, size);
      return { type: 'offer', transferId, kind, size, chunkLog2, mode, mtimeMs, root, name, zeroBytes };
    }
    case ControlType.ACCEPT: {
      const transferId = b.varint('accept transfer id');
      const count = b.varint('accept range count');
      // Each range takes at least two bytes: refuse a count the body cannot hold before allocating.
      if (count > b.remaining / 2) {
        throw new WraithError('E_WIRE_TRUNCATED', `accept range count ${count} exceeds what ${b.remaining} byte(s) can hold`, { count });
      }
      const ranges: Array<[number, number]> = [];
      let prevEnd = 0;
      for (let i = 0; i < count; i++) {
        const first = b.varint('accept first chunk');
        const n = b.varint('accept chunk count');
        checkAcceptRange(first, n, prevEnd);
        prevEnd = first + n;
        ranges.push([first, n]);
      }
      if (b.remaining === 0) return { type: 'accept', transferId, ranges };
      return { type: 'accept', transferId, ranges, reusedBytes: b.varint('accept reused bytes') };
    }
    case ControlType.REJECT:
    case ControlType.CANCEL: {
      const transferId = b.varint('transfer id');
      const errorCode = b.varint('error code');
      const n = b.varint('reason length');
      if (n > MAX_REASON_LEN) throw fieldError(`reason length ${n} exceeds ${MAX_REASON_LEN}`, { length: n });
      const reason = readUtf8(b, n, 'reason', 'E_WIRE_FRAME');
      return type === ControlType.REJECT
        ? { type: 'reject', transferId, errorCode, reason }
        : { type: 'cancel', transferId, errorCode, reason };
    }
    case ControlType.DONE: {
      const transferId = b.varint('done transfer id');
      const status = b.u8('done status');
      if (status === 2) {
        const n = b.varint('done name length');
        if (n > MAX_STORED_NAME_LEN) throw fieldError(`done name length ${n} exceeds ${MAX_STORED_NAME_LEN}`, { length: n });
        return { type: 'done', transferId, status, name: readUtf8(b, n, 'done name', 'E_WIRE_FRAME') };
      }
      if (status !== 0 && status !== 1) throw fieldError(`done status ${status} is not 0, 1 or 2`, { status });
      return { type: 'done', transferId, status };
    }
    case ControlType.RESEND: {
      const transferId = b.varint('resend transfer id');
      return { type: 'resend', transferId, chunkIndex: b.varint('resend chunk index') };
    }
    case ControlType.WRITTEN: {
      const transferId = b.varint('written transfer id');
      return { type: 'written', transferId, bytes: b.varint('written bytes') };
    }
    case ControlType.LEAF_REQUEST:
      return { type: 'leaf_request', transferId: b.varint('leaf request transfer id') };
    case ControlType.LEAVES: {
      const transferId = b.varint('leaves transfer id');
      const first = b.varint('leaves first chunk');
      checkLeafBytes(b.remaining);
      return { type: 'leaves', transferId, first, leaves: b.bytes(b.remaining, 'leaves') };
    }
    default:
      throw new WraithError('E_WIRE_FRAME_TYPE', `unknown control message type ${type} at offset ${at}`, { type, offset: at });
  }
}
