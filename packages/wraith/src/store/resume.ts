/**
 * Resume state: which chunks of a partial file are verified and on disk. One JSON file per
 * (sender peer id, manifest root) in <home>/state/, replaced atomically (temp, fsync, rename).
 * A state that does not parse or does not match the offer is discarded: the transfer restarts.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fsutil.js';

/** [first chunk, count] runs, sorted, not overlapping. */
export type ChunkRanges = [number, number][];

export interface ResumeState {
  readonly version: 1;
  readonly peer_id: string;
  readonly root: string;
  /** The final relative name. */
  readonly name: string;
  readonly size: number;
  readonly chunk_size: number;
  /** The partial file, relative to the download directory. */
  readonly partial: string;
  readonly have: ChunkRanges;
  readonly updated_ms: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const FILE_RE = /^([0-9a-f]{64})\.([0-9a-f]{64})\.json$/;

export function chunkCount(size: number, chunkSize: number): number {
  return size === 0 ? 1 : Math.ceil(size / chunkSize);
}

/** Checks ranges against the chunk count; null if malformed. */
export function normalizeRanges(v: unknown, chunks: number): ChunkRanges | null {
  if (!Array.isArray(v)) return null;
  const out: ChunkRanges = [];
  let next = 0;
  for (const r of v) {
    if (!Array.isArray(r) || r.length !== 2) return null;
    const [first, count] = r as unknown[];
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count)) return null;
    const f = first as number;
    const c = count as number;
    if (f < next || c <= 0 || f + c > chunks) return null;
    out.push([f, c]);
    next = f + c;
  }
  return out;
}

export function rangesBytes(ranges: ChunkRanges, size: number, chunkSize: number): number {
  let total = 0;
  for (const [first, count] of ranges) {
    const start = first * chunkSize;
    total += Math.min(size, (first + count) * chunkSize) - start;
  }
  return total;
}

const KEY_RE = /^([0-9a-f]{64}\.[0-9a-f]{64})\.(?:json|leaves)$/;

export class ResumeStore {
  /**
   * Keys ("peer.root") that have a state or leaves file: read from the directory once, then
   * kept by save, trackLeaves and delete. The node holding the home lock is the only writer,
   * so a key not in it has no file, and a fresh transfer costs no failed open or unlink.
   */
  private known: Promise<Set<string>> | null = null;

  constructor(readonly dir: string) {}

  private index(): Promise<Set<string>> {
    this.known ??= readdir(this.dir).then(
      (names) => new Set(names.map((n) => KEY_RE.exec(n)?.[1]).filter((k): k is string => k !== undefined)),
      (e: unknown) => {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set<string>();
        this.known = null;
        throw e;
      },
    );
    return this.known;
  }

  /** A leaves file is being created for this key. */
  async trackLeaves(peerId: string, rootHex: string): Promise<void> {
    (await this.index()).add(`${peerId}.${rootHex}`);
  }

  /** Whether a state or leaves file may exist for this key (false: there is none). */
  async has(peerId: string, rootHex: string): Promise<boolean> {
    return (await this.index()).has(`${peerId}.${rootHex}`);
  }

  /** Peer ids with a state or leaves file for `rootHex`. */
  async peersWith(rootHex: string): Promise<string[]> {
    const out: string[] = [];
    for (const k of await this.index()) if (k.endsWith(`.${rootHex}`)) out.push(k.slice(0, 64));
    return out;
  }

  /** Roots this peer has a state or leaves file for. */
  async rootsOf(peerId: string): Promise<string[]> {
    const out: string[] = [];
    for (const k of await this.index()) if (k.startsWith(`${peerId}.`)) out.push(k.slice(65));
    return out;
  }

  path(peerId: string, rootHex: string): string {
    return join(this.dir, `${peerId}.${rootHex}.json`);
  }

  async load(peerId: string, rootHex: string): Promise<ResumeState | null> {
    if (!(await this.has(peerId, rootHex))) return null;
    const file = this.path(peerId, rootHex);
    let v: Partial<ResumeState>;
    try {
      v = JSON.parse(await readFile(file, 'utf8')) as Partial<ResumeState>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      await unlink(file).catch(() => undefined); // torn or foreign: start over
      return null;
    }
    const ok =
      v.version === 1 &&
      v.peer_id === peerId &&
      v.root === rootHex &&
      typeof v.name === 'string' &&
      typeof v.partial === 'string' &&
      Number.isSafeInteger(v.size) &&
      (v.size as number) >= 0 &&
      Number.isSafeInteger(v.chunk_size) &&
      (v.chunk_size as number) > 0 &&
      typeof v.updated_ms === 'number';
    const have = ok ? normalizeRanges(v.have, chunkCount(v.size as number, v.chunk_size as number)) : null;
    if (!ok || have === null) {
      await unlink(file).catch(() => undefined);
      return null;
    }
    return { ...(v as ResumeState), have };
  }

  async save(state: ResumeState): Promise<void> {
    if (!HEX64.test(state.peer_id) || !HEX64.test(state.root)) throw new Error('resume state: peer id and root are 64 hex');
    const known = await this.index();
    known.add(`${state.peer_id}.${state.root}`); // before the file: a delete racing it still unlinks
    await writeFileAtomic(this.path(state.peer_id, state.root), `${JSON.stringify(state)}\n`, 0o600);
  }

  /** Leaf hashes of held chunks (32 bytes at index × 32), re-checked on resume. */
  leavesPath(peerId: string, rootHex: string): string {
    return join(this.dir, `${peerId}.${rootHex}.leaves`);
  }

  async delete(peerId: string, rootHex: string): Promise<void> {
    const known = await this.index();
    const key = `${peerId}.${rootHex}`;
    if (!known.has(key)) return;
    known.delete(key);
    await unlink(this.path(peerId, rootHex)).catch(() => undefined);
    await unlink(this.leavesPath(peerId, rootHex)).catch(() => undefined);
  }

  /** Every state file: its key and modification time. */
  async list(): Promise<{ file: string; peerId: string; root: string; mtimeMs: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: { file: string; peerId: string; root: string; mtimeMs: number }[] = [];
    for (const n of names) {
      const m = FILE_RE.exec(n);
      if (m === null) continue;
      const file = join(this.dir, n);
      const st = await stat(file).catch(() => null);
      if (st !== null) out.push({ file, peerId: m[1]!, root: m[2]!, mtimeMs: st.mtimeMs });
    }
    return out;
  }
}
