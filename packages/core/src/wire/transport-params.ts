/**
 * Transport parameters (PROTOCOL.md §3): `varint id, varint length, value`,
 * carried in the Noise handshake payloads. Unknown ids are skipped; a repeated
 * id, a value that does not exactly fill its length, or an out-of-range value
 * is E_WIRE_PARAM. Absent parameters stay undefined: defaults are the
 * session's business.
 */
import { WraithError } from '../errors.js';
import { Reader } from './reader.js';
import { isVarint, varintLength } from './varint.js';
import { Writer } from './writer.js';

export const TransportParamId = {
  MAX_DATAGRAM_SIZE: 1,
  IDLE_TIMEOUT_MS: 2,
  INITIAL_WINDOW: 3,
  MAX_TRANSFERS: 4,
  SOURCE_CID: 5,
  STATELESS_RESET_TOKEN: 6,
  STORED_NAMES: 7,
  WRITTEN_PROGRESS: 8,
  ZERO_CHUNKS: 9,
  LEAF_ROWS: 10,
  CONTROL_WINDOW: 11,
} as const;

/** source_cid: the sender's own connection id, echoed under encryption (QUIC's initial_source_connection_id). */
export const MAX_CID_PARAM_LEN = 20;
/** stateless_reset_token: exactly this many raw bytes (PROTOCOL.md §3a). */
export const STATELESS_RESET_TOKEN_LEN = 16;

/** max_datagram_size bounds: an INITIATION needs 1200 bytes; UDP carries at most 65527. */
export const MIN_MAX_DATAGRAM_SIZE = 1200;
export const MAX_MAX_DATAGRAM_SIZE = 65_527;
/** control_window is at least the fixed window an older peer assumes (PROTOCOL.md §7). */
export const MIN_CONTROL_WINDOW = 65_536;

export interface TransportParams {
  maxDatagramSize?: number;
  idleTimeoutMs?: number;
  initialWindow?: number;
  maxTransfers?: number;
  /** 1: its sender understands DONE status 2, installed under another name (PROTOCOL.md §7). */
  storedNames?: number;
  /** 1: its sender takes WRITTEN messages, a receiver's progress on its disk (PROTOCOL.md §7). */
  writtenProgress?: number;
  /** 1: its sender takes ZERO_CHUNK frames, all-zero chunks sent without their bytes (PROTOCOL.md §7). */
  zeroChunks?: number;
  /** 1: its sender answers LEAF_REQUEST with the offered file's leaf row (PROTOCOL.md §7). */
  leafRows?: number;
  /** Control-stream bytes its sender accepts beyond its first unconsumed message; absent: 65536 (PROTOCOL.md §7). */
  controlWindow?: number;
  /** The CID its sender put in its long headers; authenticated where the Noise payload is. */
  sourceCid?: Uint8Array;
  /**
   * The token a stateless reset for the sender's own CID ends with (PROTOCOL.md §3a).
   * Secret: only ever sent in an encrypted handshake message (RESPONSE, FINISH).
   */
  statelessResetToken?: Uint8Array;
}

type Key = Exclude<keyof TransportParams, 'sourceCid' | 'statelessResetToken'>;

/** Known parameters in id order (encoding writes them in this order). */
const KNOWN: ReadonlyArray<readonly [number, Key]> = [
  [TransportParamId.MAX_DATAGRAM_SIZE, 'maxDatagramSize'],
  [TransportParamId.IDLE_TIMEOUT_MS, 'idleTimeoutMs'],
  [TransportParamId.INITIAL_WINDOW, 'initialWindow'],
  [TransportParamId.MAX_TRANSFERS, 'maxTransfers'],
  [TransportParamId.STORED_NAMES, 'storedNames'],
  [TransportParamId.WRITTEN_PROGRESS, 'writtenProgress'],
  [TransportParamId.ZERO_CHUNKS, 'zeroChunks'],
  [TransportParamId.LEAF_ROWS, 'leafRows'],
  [TransportParamId.CONTROL_WINDOW, 'controlWindow'],
];
const KEY_BY_ID = new Map<number, Key>(KNOWN);

function paramError(message: string, details?: Record<string, unknown>): WraithError {
  return new WraithError('E_WIRE_PARAM', message, details);
}

function checkValue(id: number, v: number): void {
  if (!isVarint(v)) throw paramError(`transport parameter ${id}: ${v} is not an integer in [0, 2^53-1]`, { id, value: v });
  if (id === TransportParamId.MAX_DATAGRAM_SIZE && (v < MIN_MAX_DATAGRAM_SIZE || v > MAX_MAX_DATAGRAM_SIZE)) {
    throw paramError(`max_datagram_size ${v} is outside ${MIN_MAX_DATAGRAM_SIZE}..${MAX_MAX_DATAGRAM_SIZE}`, { id, value: v });
  }
  if (id === TransportParamId.CONTROL_WINDOW && v < MIN_CONTROL_WINDOW) {
    throw paramError(`control_window ${v} is below ${MIN_CONTROL_WINDOW}`, { id, value: v });
  }
}

function valueOf(p: TransportParams, key: Key): number | undefined {
  switch (key) {
    case 'maxDatagramSize':
      return p.maxDatagramSize;
    case 'idleTimeoutMs':
      return p.idleTimeoutMs;
    case 'initialWindow':
      return p.initialWindow;
    case 'maxTransfers':
      return p.maxTransfers;
    case 'storedNames':
      return p.storedNames;
    case 'writtenProgress':
      return p.writtenProgress;
    case 'zeroChunks':
      return p.zeroChunks;
    case 'leafRows':
      return p.leafRows;
    case 'controlWindow':
      return p.controlWindow;
  }
}

function setValue(p: TransportParams, key: Key, v: number): void {
  switch (key) {
    case 'maxDatagramSize':
      p.maxDatagramSize = v;
      return;
    case 'idleTimeoutMs':
      p.idleTimeoutMs = v;
      return;
    case 'initialWindow':
      p.initialWindow = v;
      return;
    case 'maxTransfers':
      p.maxTransfers = v;
      return;
    case 'storedNames':
      p.storedNames = v;
      return;
    case 'writtenProgress':
      p.writtenProgress = v;
      return;
    case 'zeroChunks':
      p.zeroChunks = v;
      return;
    case 'leafRows':
      p.leafRows = v;
      return;
    case 'controlWindow':
      p.controlWindow = v;
      return;
  }
}

/** Exact encoded size of `p` (validates it). */
export function transportParamsLength(p: TransportParams): number {
  let n = 0;
  for (const [id, key] of KNOWN) {
    const v = valueOf(p, key);
    if (v === undefined) continue;
    checkValue(id, v);
    n += varintLength(id) + 1 + varintLength(v);
  }
  if (p.sourceCid !== undefined) n += varintLength(TransportParamId.SOURCE_CID) + 1 + checkCid(p.sourceCid).length;
  if (p.statelessResetToken !== undefined) {
    n += varintLength(TransportParamId.STATELESS_RESET_TOKEN) + 1 + checkResetToken(p.statelessResetToken).length;
  }
  return n;
}

function checkResetToken(token: Uint8Array): Uint8Array {
  if (token.length !== STATELESS_RESET_TOKEN_LEN) {
    throw paramError(`stateless_reset_token of ${token.length} bytes is not ${STATELESS_RESET_TOKEN_LEN}`, {
      id: TransportParamId.STATELESS_RESET_TOKEN,
      len: token.length,
    });
  }
  return token;
}

function checkCid(cid: Uint8Array): Uint8Array {
  if (cid.length < 1 || cid.length > MAX_CID_PARAM_LEN) {
    throw paramError(`source_cid of ${cid.length} bytes is outside 1..${MAX_CID_PARAM_LEN}`, { id: TransportParamId.SOURCE_CID, len: cid.length });
  }
  return cid;
}

/** Write `p` at the writer's position, known ids ascending. */
export function writeTransportParams(w: Writer, p: TransportParams): void {
  const size = transportParamsLength(p);
  if (size > w.remaining) {
    throw new WraithError('E_WIRE_TOO_LARGE', `transport parameters of ${size} bytes do not fit in ${w.remaining}`);
  }
  for (const [id, key] of KNOWN) {
    const v = valueOf(p, key);
    if (v === undefined) continue;
    w.varint(id);
    w.varint(varintLength(v));
    w.varint(v);
  }
  if (p.sourceCid !== undefined) {
    w.varint(TransportParamId.SOURCE_CID);
    w.varint(p.sourceCid.length);
    w.bytes(p.sourceCid);
  }
  if (p.statelessResetToken !== undefined) {
    w.varint(TransportParamId.STATELESS_RESET_TOKEN);
    w.varint(p.statelessResetToken.length);
    w.bytes(p.statelessResetToken);
  }
}

/** `p` as a new byte array (the handshake payload; not a per-packet path). */
export function encodeTransportParams(p: TransportParams): Uint8Array {
  const out = new Uint8Array(transportParamsLength(p));
  writeTransportParams(new Writer(out), p);
  return out;
}

/** Decode a whole parameter block. */
export function decodeTransportParams(bytes: Uint8Array): TransportParams {
  const r = new Reader(bytes);
  const seen = new Set<number>();
  const out: TransportParams = {};
  while (!r.atEnd()) {
    const id = r.varint('transport parameter id');
    const len = r.varint('transport parameter length');
    const value = r.sub(len, 'transport parameter value');
    if (seen.has(id)) throw paramError(`transport parameter ${id} appears twice`, { id });
    seen.add(id);
    if (id === TransportParamId.SOURCE_CID) {
      out.sourceCid = checkCid(value.bytes(len, 'source_cid').slice());
      continue;
    }
    if (id === TransportParamId.STATELESS_RESET_TOKEN) {
      out.statelessResetToken = checkResetToken(value.bytes(len, 'stateless_reset_token').slice());
      continue;
    }
    const key = KEY_BY_ID.get(id);
    if (key === undefined) continue;
    const v = value.varint(`transport parameter ${id}`);
    if (!value.atEnd()) throw paramError(`transport parameter ${id}: value does not fill its ${len}-byte length`, { id, len });
    checkValue(id, v);
    setValue(out, key, v);
  }
  return out;
}
