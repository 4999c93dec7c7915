/**
 * copyMatchingChunks: the chunks of an older copy that match the offer's leaf row are written
 * into the partial at their offsets, and nothing else is; a chunk is judged by the bytes that
 * are written. More chunks than one read batch, a short last chunk, a hole, on both backends.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkSet, leafHash, type Blake3, type FileManifest } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { createFileIo } from '@wraith/io-uring';
import { copyMatchingChunks, reuseCandidates } from '../src/node/reuse-basis.js';

const CS = 256 * 1024;
const N = 45; // more than one 8 MiB batch; the last chunk short
const SIZE = (N - 1) * CS + 1000;

let dir: string;
let hasher: Blake3;
let next: Uint8Array;
let leaves: Uint8Array;
const m = { name: 'f', kind: 'file', size: SIZE, chunkSize: CS, mode: 0o644, mtimeMs: 0, root: new Uint8Array(32) } satisfies FileManifest;

beforeAll(async () => {
  hasher = await loadBlake3Async('auto');
  dir = await mkdtemp(join(tmpdir(), 'wraith-reuse-'));
  next = randomFillSync(new Uint8Array(SIZE));
  next.fill(0, 20 * CS, 21 * CS); // chunk 20: zeros, which come as ZERO_CHUNK
  leaves = new Uint8Array(N * 32);
  for (let i = 0; i < N; i++) leaves.set(leafHash(hasher, next.subarray(i * CS, Math.min(SIZE, (i + 1) * CS))), i * 32);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, k) => a + k);

describe('reuseCandidates', () => {
  it('leaves out held chunks, all-zero chunks and chunks past the end of the old copy', () => {
    const held = ChunkSet.fromRanges(N, [[2, 3]]);
    const whole = (size: number) => ({ spans: [[0, size]] as Array<[number, number]> });
    expect(reuseCandidates(hasher, m, whole(10 * CS + 5), held, leaves)).toEqual([0, 1, 5, 6, 7, 8, 9]);
    expect(reuseCandidates(hasher, m, whole(SIZE), held, leaves)).toEqual([0, 1, ...range(5, 20), ...range(21, N)]);
    // Without the row, zero chunks cannot be told: they count.
    expect(reuseCandidates(hasher, m, whole(SIZE), held, null)).toHaveLength(N - 3);
    expect(reuseCandidates(hasher, m, whole(CS - 1), held, leaves)).toEqual([]);
    // An earlier partial's spans, in its own chunk size (64 KiB): only chunks wholly inside one.
    const spans: Array<[number, number]> = [[CS / 4, 3 * CS], [6 * CS, 8 * CS + CS / 2], [7 * CS, 9 * CS], [(N - 1) * CS, SIZE]];
    expect(reuseCandidates(hasher, m, { spans }, held, leaves)).toEqual([1, 6, 7, 8, N - 1]);
  });
});

describe.each(['auto', 'fs'] as const)('copyMatchingChunks (%s backend)', (backend) => {
  it('copies exactly the chunks whose bytes match the row, at their offsets', async () => {
    const { io } = await createFileIo(backend);
    const oldPath = join(dir, `old-${backend}`);
    const partPath = join(dir, `part-${backend}`);
    // The old copy: chunks 3 and 31 differ by a byte, 10..12 are a hole, and it goes on past
    // the offer's end (the file shrank): its short last chunk is compared over its own length.
    const old = new Uint8Array(SIZE + 5000);
    old.set(next);
    randomFillSync(old.subarray(SIZE));
    (old[3 * CS + 9] as number) ^= 1;
    (old[31 * CS] as number) ^= 0x80;
    await writeFile(oldPath, old);
    const fh0 = await open(oldPath, 'r+');
    try {
      // Punch chunks 10..12 out: rewrite as a file with a hole there.
      await fh0.truncate(10 * CS);
      await fh0.write(old.subarray(13 * CS), 0, old.length - 13 * CS, 13 * CS);
    } finally {
      await fh0.close();
    }
    await writeFile(partPath, new Uint8Array(0));
    await truncate(partPath, SIZE);
    const basis = await open(oldPath, 'r');
    const part = await open(partPath, 'r+');
    try {
      const todo = reuseCandidates(hasher, m, { spans: [[0, old.length]] }, new ChunkSet(N), leaves);
      const got = await copyMatchingChunks(io, hasher, { fd: basis.fd, size: old.length, spans: [[0, old.length]] }, { fd: part.fd, direct: null }, m, leaves, todo, () => undefined);
      const want = range(0, N).filter((i) => ![3, 10, 11, 12, 20, 31].includes(i));
      expect(got.chunks).toEqual(want);
      expect(got.bytes).toBe((want.length - 1) * CS + 1000);
      // The hole is not read (with the addon's SEEK_DATA; without it, read as zeros).
      const holeRead = (await import('@wraith/io-uring')).isHole(basis.fd, 10 * CS, 3 * CS) ? 0 : 3 * CS;
      expect(got.read).toBe(40 * CS + 1000 + holeRead);
      const written = await readFile(partPath);
      for (let i = 0; i < N; i++) {
        const at = i * CS;
        const end = Math.min(SIZE, at + CS);
        const expected = want.includes(i) ? next.subarray(at, end) : new Uint8Array(end - at);
        expect(Buffer.compare(written.subarray(at, end), expected), `chunk ${i}`).toBe(0);
      }
    } finally {
      await basis.close();
      await part.close();
      await io.destroy();
    }
  });
});
