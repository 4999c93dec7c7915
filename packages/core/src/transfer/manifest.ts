/**
 * What a transfer carries (the OFFER of PROTOCOL.md §7) and how a file splits
 * into chunks. Chunk i covers [i × chunkSize, min(size, (i+1) × chunkSize));
 * a file always has at least one chunk (an empty file: one empty chunk), a
 * directory none.
 */
import { WraithError } from '../errors.js';
import { HASH_LEN } from './hasher.js';
import { validateName } from './name.js';

export interface FileManifest {
  /** Relative '/'-separated name (validateName). */
  name: string;
  kind: 'file' | 'dir';
  /** Bytes; 0 for directories. */
  size: number;
  /** Power of two in [MIN_CHUNK_SIZE, MAX_CHUNK_SIZE]. */
  chunkSize: number;
  /** Permission bits only (0o777). */
  mode: number;
  mtimeMs: number;
  /** Merkle root of the chunks (32 bytes). */
  root: Uint8Array;
}

/** PROTOCOL.md §7: 14 ≤ chunk_log2 ≤ 24. */
export const MIN_CHUNK_LOG2 = 14;
export const MAX_CHUNK_LOG2 = 24;
export const MIN_CHUNK_SIZE = 2 ** MIN_CHUNK_LOG2;
export const MAX_CHUNK_SIZE = 2 ** MAX_CHUNK_LOG2;
/** Varint ceiling (PROTOCOL.md: values above 2^53−1 are malformed). */
export const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
export const MODE_MASK = 0o777;

/** Throws E_CHUNK_SIZE unless `n` is a power of two in [16 KiB, 16 MiB]. */
export function validateChunkSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < MIN_CHUNK_SIZE || n > MAX_CHUNK_SIZE || (n & (n - 1)) !== 0) {
    throw new WraithError(
      'E_CHUNK_SIZE',
      `chunk size ${n} is not a power of two between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE}`,
      { chunkSize: n },
    );
  }
}

/** chunk_log2 of the OFFER for a valid chunk size. */
export function chunkLog2(chunkSize: number): number {
  validateChunkSize(chunkSize);
  return Math.log2(chunkSize);
}

/** Chunk size from the OFFER's chunk_log2 (E_CHUNK_SIZE outside 14..24). */
export function chunkSizeFromLog2(log2: number): number {
  if (!Number.isInteger(log2) || log2 < MIN_CHUNK_LOG2 || log2 > MAX_CHUNK_LOG2) {
    throw new WraithError('E_CHUNK_SIZE', `chunk_log2 ${log2} is outside ${MIN_CHUNK_LOG2}..${MAX_CHUNK_LOG2}`, {
      chunkLog2: log2,
    });
  }
  return 2 ** log2;
}

/** Chunks of a file of `size` bytes (>= 1). */
export function chunkCountFor(size: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/** Chunks in the transfer: >= 1 for files, 0 for directories. */
export function chunkCount(m: FileManifest): number {
  return m.kind === 'dir' ? 0 : chunkCountFor(m.size, m.chunkSize);
}

/** Byte range of chunk `i`. */
export function chunkRange(m: FileManifest, i: number): { offset: number; length: number } {
  const n = chunkCount(m);
  if (!Number.isSafeInteger(i) || i < 0 || i >= n) {
    throw new WraithError('E_INTERNAL', `chunk index ${i} is outside 0..${n - 1} of ${JSON.stringify(m.name)}`, {
      index: i,
      chunkCount: n,
    });
  }
  const offset = i * m.chunkSize;
  return { offset, length: Math.min(m.chunkSize, m.size - offset) };
}

function bad(m: FileManifest, problem: string, details: Record<string, unknown>): WraithError {
  return new WraithError('E_MANIFEST', `manifest of ${JSON.stringify(m.name)}: ${problem}`, details);
}

const isU53 = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/**
 * Throws unless `m` is a well-formed manifest: E_PATH_INVALID for the name,
 * E_CHUNK_SIZE for the chunk size, E_MANIFEST for anything else.
 */
export function validateManifest(m: FileManifest): void {
  if (typeof m !== 'object' || m === null) {
    throw new WraithError('E_MANIFEST', `a manifest is an object, got ${m === null ? 'null' : typeof m}`);
  }
  validateName(m.name);
  if (m.kind !== 'file' && m.kind !== 'dir') throw bad(m, `kind ${String(m.kind)} is not "file" or "dir"`, { kind: m.kind });
  if (!isU53(m.size)) throw bad(m, `size ${String(m.size)} is not an integer in 0..2^53-1`, { size: m.size });
  if (m.kind === 'dir' && m.size !== 0) throw bad(m, `a directory has size 0, got ${m.size}`, { size: m.size });
  validateChunkSize(m.chunkSize);
  if (!isU53(m.mode) || m.mode > MODE_MASK) {
    throw bad(m, `mode ${String(m.mode)} has bits outside 0o777`, { mode: m.mode });
  }
  if (!isU53(m.mtimeMs)) throw bad(m, `mtimeMs ${String(m.mtimeMs)} is not an integer in 0..2^53-1`, { mtimeMs: m.mtimeMs });
  if (!(m.root instanceof Uint8Array) || m.root.length !== HASH_LEN) {
    throw bad(m, `root must be ${HASH_LEN} bytes`, { rootLength: m.root instanceof Uint8Array ? m.root.length : null });
  }
}
