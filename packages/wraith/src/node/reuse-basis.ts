/**
 * Chunks of an offered file that the receiver already has, at the same offsets, in an older
 * copy: the file under the offered name (the one an overwrite replaces, or a rename keeps), or
 * the partial of an earlier version of the file that the offer replaces. Each
 * is read, hashed and compared with the sender's leaf row (checked against the offer's root by
 * the engine), and written into the partial when it matches, so it need not cross the wire.
 * The hash is taken of the very bytes written, so a basis that changes meanwhile cannot put
 * anything false into the partial.
 */
import { bytesEqual, chunkCount, type Blake3, type ChunkSet, type FileManifest } from '@wraith/core';
import { leafHash, zeroLeaf } from '@wraith/core/merkle';
import { isHole, type FileIo, type WriteRequest } from '@wraith/io-uring';
import { writeBatch, type WriteTarget } from '../store/direct-writes.js';
import type { Basis } from '../store/store.js';

/** Bytes read per batch (two batches are in memory: one read while the other is hashed). */
const BATCH_BYTES = 8 << 20;

export interface ReuseResult {
  /** Chunks copied from the basis (written, not yet synced). */
  chunks: number[];
  /** Their bytes. */
  bytes: number;
  /** Basis bytes read to find them. */
  read: number;
}

/**
 * The chunks worth reading: not held yet, wholly inside one of the basis's spans, and not all
 * zeros (those come as ZERO_CHUNK frames, which cost nothing).
 */
export function reuseCandidates(hasher: Blake3, m: FileManifest, basis: Pick<Basis, 'spans'>, held: ChunkSet, leaves: Uint8Array | null): number[] {
  const out = new Set<number>();
  const n = chunkCount(m);
  for (const [start, end] of basis.spans) {
    for (let i = Math.ceil(start / m.chunkSize); i < n; i++) {
      const offset = i * m.chunkSize;
      const length = Math.min(m.chunkSize, m.size - offset);
      if (offset + length > end) break;
      if (held.has(i) || length === 0) continue;
      if (leaves !== null && bytesEqual(leaves.subarray(i * 32, i * 32 + 32), zeroLeaf(hasher, length))) continue;
      out.add(i);
    }
  }
  return [...out].sort((a, b) => a - b);
}

export async function copyMatchingChunks(
  io: FileIo,
  hasher: Blake3,
  basis: Basis,
  target: WriteTarget,
  m: FileManifest,
  leaves: Uint8Array,
  todo: readonly number[],
  onDirectFailure: (err: unknown) => void,
): Promise<ReuseResult> {
  const result: ReuseResult = { chunks: [], bytes: 0, read: 0 };
  const lengthOf = (i: number): number => Math.min(m.chunkSize, m.size - i * m.chunkSize);
  // A chunk in a hole of the basis reads as zeros, and candidates are not all zeros.
  const wanted = todo.filter((i) => !isHole(basis.fd, i * m.chunkSize, lengthOf(i)));
  if (wanted.length === 0) return result;
  const per = Math.max(1, Math.floor(BATCH_BYTES / m.chunkSize));
  const size = Math.min(wanted.length, per) * m.chunkSize;
  const bufs = [new Uint8Array(size), new Uint8Array(wanted.length > per ? size : 0)];
  const read = (start: number, buf: Uint8Array): Promise<Uint8Array[]> => {
    let at = 0;
    const reqs = wanted.slice(start, start + per).map((i) => {
      const length = lengthOf(i);
      at += length;
      return { offset: i * m.chunkSize, length, buf: buf.subarray(at - length, at) };
    });
    const p = io.readChunks(basis.fd, reqs);
    p.catch(() => undefined); // awaited below; an early exit must not leave it unhandled
    return p;
  };
  let pending: Promise<Uint8Array[]> | null = read(0, bufs[0] as Uint8Array);
  try {
    for (let start = 0, side = 0; pending !== null; start += per, side ^= 1) {
      const got = await pending;
      // The other buffer's matches were written out last round: read into it meanwhile.
      pending = start + per < wanted.length ? read(start + per, bufs[side ^ 1] as Uint8Array) : null;
      const writes: WriteRequest[] = [];
      for (let k = 0; k < got.length; k++) {
        const i = wanted[start + k] as number;
        const bytes = got[k] as Uint8Array;
        result.read += bytes.length;
        if (bytes.length !== lengthOf(i) || !bytesEqual(leafHash(hasher, bytes), leaves.subarray(i * 32, i * 32 + 32))) continue;
        writes.push({ offset: i * m.chunkSize, data: bytes });
        result.chunks.push(i);
        result.bytes += bytes.length;
      }
      // This buffer is read into again next round.
      if (writes.length > 0) await writeBatch(io, target, writes, onDirectFailure);
    }
  } finally {
    // The buffers must outlive any read still writing into them.
    if (pending) await pending.catch(() => undefined);
  }
  return result;
}
