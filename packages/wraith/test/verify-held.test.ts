/**
 * verifyHeld: a resume reports a claimed chunk as held only if its bytes on disk hash to the
 * leaf saved for it; unclaimed chunks, chunks without a saved leaf and changed bytes are not.
 * More chunks than one read batch, a short last chunk, on both file I/O backends; a check asked
 * to stop (the offer was withdrawn) ends between batches.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafHash, type Blake3, type FileManifest } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { createFileIo } from '@wraith/io-uring';
import { verifyHeld } from '../src/node/verify-held.js';

const CS = 256 * 1024;
const N = 41; // 41 chunks, the last one short: more than one 8 MiB batch
const SIZE = (N - 1) * CS + 100;

let dir: string;
let path: string;
let hasher: Blake3;
let leaves: Uint8Array;
const m = { name: 'f', kind: 'file', size: SIZE, chunkSize: CS, mode: 0o644, mtimeMs: 0, root: new Uint8Array(32) } satisfies FileManifest;

beforeAll(async () => {
  hasher = await loadBlake3Async('auto');
  dir = await mkdtemp(join(tmpdir(), 'wraith-verify-held-'));
  path = join(dir, 'partial');
  const data = randomFillSync(new Uint8Array(SIZE));
  leaves = new Uint8Array(N * 32);
  for (let i = 0; i < N; i++) leaves.set(leafHash(hasher, data.subarray(i * CS, Math.min(SIZE, (i + 1) * CS))), i * 32);
  leaves.fill(0, 3 * 32, 4 * 32); // chunk 3: no leaf saved
  data[5 * CS + 17] = (data[5 * CS + 17] as number) ^ 1; // chunk 5: changed on disk
  await writeFile(path, data);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each(['auto', 'fs'] as const)('verifyHeld (%s backend)', (backend) => {
  it('holds exactly the claimed chunks whose bytes match their saved leaf', async () => {
    const { io } = await createFileIo(backend);
    const fh = await open(path, 'r');
    try {
      const { held, claimed } = await verifyHeld(io, hasher, fh.fd, m, [[0, 10], [30, 11]], leaves);
      expect(claimed).toBe(21);
      const want = [0, 1, 2, 4, 6, 7, 8, 9, ...Array.from({ length: 11 }, (_, k) => 30 + k)];
      expect(Array.from({ length: N }, (_, i) => i).filter((i) => held.has(i))).toEqual(want);
      const none = await verifyHeld(io, hasher, fh.fd, m, [[0, 10]], null);
      expect([none.held.count, none.claimed]).toEqual([0, 10]);
      // Only the short last chunk: one 100-byte read.
      const last = await verifyHeld(io, hasher, fh.fd, m, [[N - 1, 1]], leaves);
      expect([last.held.has(N - 1), last.claimed]).toEqual([true, 1]);
      expect(last.stopped).toBe(false);
    } finally {
      await fh.close();
      await io.destroy();
    }
  });

  it('stops between batches when asked: held is what was checked by then', async () => {
    const { io } = await createFileIo(backend);
    const fh = await open(path, 'r');
    try {
      let asked = 0;
      const { held, claimed, stopped } = await verifyHeld(io, hasher, fh.fd, m, [[0, N]], leaves, () => ++asked > 1);
      // The first batch (32 chunks of 256 KiB: 0-32 but 3, which has no leaf) was checked; the second was not.
      expect([stopped, claimed, asked]).toEqual([true, N, 2]);
      expect(Array.from({ length: N }, (_, i) => i).filter((i) => held.has(i))).toEqual(Array.from({ length: 33 }, (_, i) => i).filter((i) => i !== 3 && i !== 5));
    } finally {
      await fh.close();
      await io.destroy();
    }
  });
});
