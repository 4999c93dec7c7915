/**
 * verifyHeld: a resume reports a claimed chunk as held only if its bytes on disk hash to the
 * leaf saved for it; unclaimed chunks, chunks without a saved leaf and changed bytes are not.
 * More chunks than one read batch, a short last chunk, on both file I/O backends; a check asked
 * to stop (the offer was withdrawn) ends between batches; a chunk saved as zeros in a hole of
 * the partial is held unread.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafHash, type Blake3, type FileManifest } from '@wraith/core';
import { zeroLeaf } from '@wraith/core/merkle';
import { loadBlake3Async } from '@wraith/blake3';
import { createFileIo } from '@wraith/io-uring';
import { verifyHeld } from '../src/node/verify-held.js';

const CS = 256 * 1024;
const N = 41; // 41 chunks, the last one short: more than one 8 MiB batch
const SIZE = (N - 1) * CS + 100;

let dir: string;
let path: string;
/** 20 chunks, the last short: data in 0-4, a hole in 5-14, zeros written in 15, data in 16 (saved as zeros: tampered), a hole in 17-19. */
let sparsePath: string;
let sparseLeaves: Uint8Array;
const SPARSE = 20 * CS - 100;
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

  sparsePath = join(dir, 'sparse-partial');
  const fh = await open(sparsePath, 'w');
  await fh.truncate(SPARSE);
  const head = randomFillSync(new Uint8Array(5 * CS));
  await fh.write(head, 0, head.length, 0);
  await fh.write(new Uint8Array(CS), 0, CS, 15 * CS);
  await fh.write(randomFillSync(new Uint8Array(CS)), 0, CS, 16 * CS);
  await fh.close();
  sparseLeaves = new Uint8Array(20 * 32);
  for (let i = 0; i < 20; i++) {
    const len = Math.min(CS, SPARSE - i * CS);
    sparseLeaves.set(i < 5 ? leafHash(hasher, head.subarray(i * CS, (i + 1) * CS)) : zeroLeaf(hasher, len), i * 32);
  }
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

  it('holds a chunk saved as zeros that lies in a hole without reading it; reads zeros written and a tampered one', async () => {
    const { io } = await createFileIo(backend);
    let read = 0;
    const readChunks = io.readChunks.bind(io);
    io.readChunks = (fd, reqs) => {
      for (const r of reqs) read += r.length;
      return readChunks(fd, reqs);
    };
    const fh = await open(sparsePath, 'r');
    try {
      const sm = { ...m, size: SPARSE };
      const { held, claimed } = await verifyHeld(io, hasher, fh.fd, sm, [[0, 20]], sparseLeaves);
      expect(claimed).toBe(20);
      expect(Array.from({ length: 20 }, (_, i) => i).filter((i) => !held.has(i))).toEqual([16]);
      expect(read).toBe(7 * CS); // chunks 0-4, 15 and 16
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
