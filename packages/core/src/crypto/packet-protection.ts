/**
 * Batch-shaped protection of short-header packets (docs/PROTOCOL.md §2.2): AAD = the header
 * bytes, nonce = 4 zero bytes ‖ u64 LE full packet number, ChaCha20-Poly1305, in place.
 * The batch is plain typed arrays so a native implementation can take it in one call.
 */
import { WraithError } from '../errors.js';
import { AEAD_TAG_LEN, type AeadKey, type CryptoBackend } from './backend.js';
import { writeNonce } from './noise/cipher-state.js';

/** Packet numbers are JS numbers: the highest usable one is 2^53−1. */
export const MAX_PACKET_NUMBER = Number.MAX_SAFE_INTEGER;

export class ProtectBatch {
  /** The send/receive buffer the offsets point into; set by the caller. */
  buf: Uint8Array = new Uint8Array(0);
  count = 0;
  readonly capacity: number;
  /** Start of packet i in buf. */
  readonly offsets: Uint32Array;
  /** Header length (= AAD) of packet i. */
  readonly headerLens: Uint32Array;
  /** seal: plaintext length in, +16 out. open: ciphertext+tag length in, plaintext length out. */
  readonly payloadLens: Uint32Array;
  /** Full packet number of packet i (< 2^53). */
  readonly pns: Float64Array;
  /** open: 1 = authentic, 0 = failed. */
  readonly status: Uint8Array;
  /**
   * seal only, optional: the last tailLens[i] payload bytes of packet i are
   * not in buf yet but at tailSrcs[tailIdx[i]][tailOffs[i], +tailLens[i]);
   * sealing reads them from there (a file chunk is encrypted straight into
   * the packet, not copied in first). The result is the same as copying them
   * in and sealing. Callers that use tails set tailLens for every packet.
   */
  readonly tailLens: Uint32Array;
  readonly tailOffs: Uint32Array;
  readonly tailIdx: Uint8Array;
  /** The distinct tail sources of this batch; tailSrcCount of them are in use. */
  readonly tailSrcs: Uint8Array[] = [];
  tailSrcCount = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65536) {
      throw new WraithError('E_INTERNAL', `ProtectBatch capacity must be 1..65536, got ${capacity}`);
    }
    this.capacity = capacity;
    this.offsets = new Uint32Array(capacity);
    this.headerLens = new Uint32Array(capacity);
    this.payloadLens = new Uint32Array(capacity);
    this.pns = new Float64Array(capacity);
    this.status = new Uint8Array(capacity);
    this.tailLens = new Uint32Array(capacity);
    this.tailOffs = new Uint32Array(capacity);
    this.tailIdx = new Uint8Array(capacity);
  }

  /** The tailIdx of `src` in this batch, added if new (a batch spans few chunks). */
  tailSource(src: Uint8Array): number {
    const n = this.tailSrcCount;
    for (let j = 0; j < n; j++) if (this.tailSrcs[j] === src) return j;
    if (n >= MAX_TAIL_SOURCES) throw new WraithError('E_INTERNAL', `a ProtectBatch takes at most ${MAX_TAIL_SOURCES} tail sources`);
    this.tailSrcs[n] = src;
    this.tailSrcCount = n + 1;
    return n;
  }

  /** Forget the tails (and drop the references to their sources). */
  clearTails(): void {
    for (let j = 0; j < this.tailSrcCount; j++) this.tailSrcs[j] = EMPTY;
    this.tailSrcCount = 0;
  }
}

const EMPTY = new Uint8Array(0);
/** tailIdx is a byte. */
export const MAX_TAIL_SOURCES = 255;

/** Throws unless every tail of the batch lies in its source and its packet's payload. */
export function checkTails(b: ProtectBatch): void {
  if (b.tailSrcCount === 0) return;
  for (let i = 0; i < b.count; i++) {
    const t = b.tailLens[i]!;
    if (t === 0) continue;
    const src = b.tailSrcs[b.tailIdx[i]!];
    if (b.tailIdx[i]! >= b.tailSrcCount || src === undefined || b.tailOffs[i]! + t > src.length || t > b.payloadLens[i]!) {
      throw new WraithError('E_INTERNAL', `packet ${i}: tail of ${t} bytes at ${b.tailOffs[i]} is outside its source or payload`, { index: i });
    }
  }
}

/** Copies every tail into place (what a protection without tail support does first). */
export function copyTails(b: ProtectBatch): void {
  if (b.tailSrcCount === 0) return;
  for (let i = 0; i < b.count; i++) {
    const t = b.tailLens[i]!;
    if (t === 0) continue;
    const src = b.tailSrcs[b.tailIdx[i]!] as Uint8Array;
    const o = b.tailOffs[i]!;
    b.buf.set(src.subarray(o, o + t), b.offsets[i]! + b.headerLens[i]! + b.payloadLens[i]! - t);
  }
}

export interface PacketKey {
  /**
   * Seal packets 0..count-1 in place, reading any tails from their sources
   * (copyTails() first does it for an implementation that cannot). Throws
   * (before touching any packet) on a bad layout.
   */
  seal(b: ProtectBatch): void;
  /** Open packets 0..count-1 in place; never throws for bad packets: see status. */
  open(b: ProtectBatch): void;
  /** Wipe the key; the PacketKey must not be used afterwards. */
  destroy(): void;
}

export interface PacketProtection {
  readonly name: string;
  newKey(key32: Uint8Array): PacketKey;
}

function validPn(pn: number): boolean {
  return Number.isInteger(pn) && pn >= 0 && pn <= MAX_PACKET_NUMBER;
}

function checkCount(b: ProtectBatch): void {
  if (!Number.isInteger(b.count) || b.count < 0 || b.count > b.capacity) {
    throw new WraithError('E_INTERNAL', `ProtectBatch count ${b.count} outside 0..${b.capacity}`);
  }
}

class JsPacketKey implements PacketKey {
  // One nonce buffer per key, rewritten per packet: no per-packet nonce allocation.
  private readonly nonce = new Uint8Array(12);
  private key: AeadKey | null;

  constructor(key: AeadKey) {
    this.key = key;
  }

  seal(b: ProtectBatch): void {
    const key = this.live();
    checkCount(b);
    const { buf, offsets, headerLens, payloadLens, pns } = b;
    // Validate the whole batch first so a bad entry cannot leave it half sealed.
    for (let i = 0; i < b.count; i++) {
      const pn = pns[i]!;
      if (!validPn(pn)) {
        throw new WraithError(
          pn > MAX_PACKET_NUMBER ? 'E_NONCE_EXHAUSTED' : 'E_INTERNAL',
          `packet ${i}: packet number ${pn} is not an integer in [0, 2^53-1]`,
          { index: i, pn },
        );
      }
      const end = offsets[i]! + headerLens[i]! + payloadLens[i]! + AEAD_TAG_LEN;
      if (end > buf.length) {
        throw new WraithError('E_WIRE_TOO_LARGE', `packet ${i}: sealing needs ${end} bytes, buffer has ${buf.length}`, {
          index: i,
          end,
          bufLen: buf.length,
        });
      }
    }
    checkTails(b);
    copyTails(b);
    for (let i = 0; i < b.count; i++) {
      const off = offsets[i]!;
      const hl = headerLens[i]!;
      const len = payloadLens[i]!;
      writeNonce(this.nonce, pns[i]!);
      key.sealInPlace(this.nonce, buf, off, hl, off + hl, len);
      payloadLens[i] = len + AEAD_TAG_LEN;
    }
  }

  open(b: ProtectBatch): void {
    const key = this.live();
    checkCount(b);
    const { buf, offsets, headerLens, payloadLens, pns, status } = b;
    for (let i = 0; i < b.count; i++) {
      status[i] = 0;
      const off = offsets[i]!;
      const hl = headerLens[i]!;
      const len = payloadLens[i]!;
      const pn = pns[i]!;
      if (len < AEAD_TAG_LEN || off + hl + len > buf.length || !validPn(pn)) continue;
      writeNonce(this.nonce, pn);
      if (key.openInPlace(this.nonce, buf, off, hl, off + hl, len)) {
        payloadLens[i] = len - AEAD_TAG_LEN;
        status[i] = 1;
      }
    }
  }

  destroy(): void {
    this.key?.destroy();
    this.key = null;
  }

  private live(): AeadKey {
    if (this.key === null) throw new WraithError('E_NOISE_STATE', 'PacketKey used after destroy()');
    return this.key;
  }
}

/** Packet protection in JS over a CryptoBackend (node:crypto per packet, or noble). */
export function jsPacketProtection(backend: CryptoBackend): PacketProtection {
  return {
    name: `js-${backend.name}`,
    newKey: (key32) => new JsPacketKey(backend.aeadKey(key32)),
  };
}
