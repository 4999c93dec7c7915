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
import { forEachChunkBatch } from './chunk-reads.js';
import type { Basis } from '../store/store.js';

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

/**
 * Marks held the chunks the leaf row says are all zeros (not yet held), telling `note` each
 * one's leaf; returns their bytes. The partial reads them as zeros already: it is created sparse,
 * and nothing writes a zero chunk (of this content) or copies one into it.
 */
export function holdZeros(hasher: Blake3, m: FileManifest, leaves: Uint8Array, held: ChunkSet, note: (i: number, leaf: Uint8Array) => void): number {
  let bytes = 0;
  const n = chunkCount(m);
  for (let i = 0; i < n; i++) {
    if (held.has(i)) continue;
    const length = Math.min(m.chunkSize, m.size - i * m.chunkSize);
    const zero = zeroLeaf(hasher, length);
    if (length === 0 || !bytesEqual(leaves.subarray(i * 32, i * 32 + 32), zero)) continue;
    held.add(i);
    note(i, zero);
    bytes += length;
  }
  return bytes;
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
  stop: () => boolean = () => false,
): Promise<ReuseResult> {
  const result: ReuseResult = { chunks: [], bytes: 0, read: 0 };
  const lengthOf = (i: number): number => Math.min(m.chunkSize, m.size - i * m.chunkSize);
  // A chunk in a hole of the basis reads as zeros, and candidates are not all zeros.
  const wanted = todo.filter((i) => !isHole(basis.fd, i * m.chunkSize, lengthOf(i)));
  if (wanted.length === 0) return result;
  await forEachChunkBatch(io, basis.fd, wanted, m.chunkSize, lengthOf, async (batch, got) => {
    if (stop()) return false; // the offer ended meanwhile: no use reading on
    const writes: WriteRequest[] = [];
    for (let k = 0; k < got.length; k++) {
      const i = batch[k] as number;
      const bytes = got[k] as Uint8Array;
      result.read += bytes.length;
      if (bytes.length !== lengthOf(i) || !bytesEqual(leafHash(hasher, bytes), leaves.subarray(i * 32, i * 32 + 32))) continue;
      writes.push({ offset: i * m.chunkSize, data: bytes });
      result.chunks.push(i);
      result.bytes += bytes.length;
    }
    // This buffer is read into again once this returns.
    if (writes.length > 0) await writeBatch(io, target, writes, onDirectFailure);
  });
  return result;
}
