/**
 * What a receiver persists to resume an interrupted transfer: the chunks it
 * has written and fsynced, tied to the peer and to the exact content (root,
 * size, chunk size). Plain JSON; anything read back is validated in full.
 */
import { WraithError } from '../errors.js';
import { ChunkSet, type ChunkRanges } from './chunk-set.js';
import { chunkCountFor, validateChunkSize, type FileManifest } from './manifest.js';
import { validateName } from './name.js';

export interface ResumeState {
  version: 1;
  /** 64 lowercase hex characters (PROTOCOL.md §1). */
  peerId: string;
  /** Merkle root, 64 lowercase hex characters. */
  root: string;
  name: string;
  size: number;
  chunkSize: number;
  /** Chunks written and fsynced: ascending, non-overlapping [first, count]. */
  held: ChunkRanges;
}

const HEX64 = /^[0-9a-f]{64}$/;

function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

function bad(problem: string, details?: Record<string, unknown>): WraithError {
  return new WraithError('E_RESUME_STATE', `resume state: ${problem}`, details);
}

/** Validates untrusted JSON (e.g. JSON.parse of a state file) into a ResumeState; E_RESUME_STATE otherwise. */
export function parseResumeState(json: unknown): ResumeState {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not an object');
  const o = json as Record<string, unknown>;
  if (o.version !== 1) throw bad(`unsupported version ${JSON.stringify(o.version)}`, { version: o.version });
  const { peerId, root, name, size, chunkSize, held } = o;
  if (typeof peerId !== 'string' || !HEX64.test(peerId)) throw bad('peerId is not 64 lowercase hex characters');
  if (typeof root !== 'string' || !HEX64.test(root)) throw bad('root is not 64 lowercase hex characters');
  if (typeof name !== 'string') throw bad('name is not a string');
  try {
    validateName(name);
  } catch (e) {
    throw bad(`name: ${(e as Error).message}`, { name });
  }
  if (!Number.isSafeInteger(size) || (size as number) < 0) throw bad(`size ${JSON.stringify(size)} is not an integer in 0..2^53-1`);
  if (typeof chunkSize !== 'number') throw bad(`chunkSize ${JSON.stringify(chunkSize)} is not a number`);
  try {
    validateChunkSize(chunkSize);
  } catch (e) {
    throw bad((e as Error).message, { chunkSize });
  }
  const set = ChunkSet.fromRanges(chunkCountFor(size as number, chunkSize), held, 'E_RESUME_STATE');
  return { version: 1, peerId, root, name, size: size as number, chunkSize, held: set.toRanges() };
}

/** The state for `held` chunks of a transfer from `peerId`. */
export function makeResumeState(peerId: string, m: FileManifest, held: ChunkSet): ResumeState {
  if (!HEX64.test(peerId)) {
    throw new WraithError('E_PEER_ID_INVALID', `peer id ${JSON.stringify(peerId)} is not 64 lowercase hex characters`);
  }
  return {
    version: 1,
    peerId,
    root: toHex(m.root),
    name: m.name,
    size: m.size,
    chunkSize: m.chunkSize,
    held: held.toRanges(),
  };
}

/** Whether a saved state belongs to this offer from this peer (otherwise start from scratch). */
export function resumeMatches(state: ResumeState, peerId: string, m: FileManifest): boolean {
  return (
    state.peerId === peerId &&
    state.root === toHex(m.root) &&
    state.name === m.name &&
    state.size === m.size &&
    state.chunkSize === m.chunkSize &&
    m.kind === 'file'
  );
}
