/**
 * SourceHasher: the leaf row of a file equals hashChunks over its bytes, with the worker thread
 * helping (the built module, whose hash-worker.js exists) or not (the source module, whose worker
 * cannot load: the event loop then hashes every batch), and a file shorter than its snapshot
 * fails with E_SOURCE_CHANGED on either side.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashChunks } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { createFileIo, type FileIo } from '@wraith/io-uring';
import * as fromSource from '../src/node/source-hash.js';

const MiB = 1024 * 1024;
const CS = 256 * 1024;
type Module = typeof fromSource;

let dir: string;
let io: FileIo;
const files = new Map<number, { path: string; data: Uint8Array }>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wraith-source-hash-'));
  io = (await createFileIo('auto')).io;
  for (const size of [0, 1000, 3 * MiB + 5, 40 * MiB + 12345]) {
    const data = randomFillSync(new Uint8Array(size));
    const path = join(dir, `f${size}`);
    await writeFile(path, data);
    files.set(size, { path, data });
  }
});
afterAll(async () => {
  await io?.destroy();
  await rm(dir, { recursive: true, force: true });
});

async function withFd<T>(path: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  try {
    return await fn(fh.fd);
  } finally {
    await fh.close();
  }
}

for (const [label, load, worker] of [
  ['the event loop alone (source module: no worker to load)', async (): Promise<Module> => fromSource, false],
  ['with the worker thread (built module)', async (): Promise<Module> => (await import('../dist/node/source-hash.js')) as Module, true],
] as const) {
  describe(`SourceHasher, ${label}`, () => {
    it('leaves equal hashChunks for empty, small, one-batch and many-batch files; reads are counted once', async () => {
      const mod = await load();
      const hasher = await loadBlake3Async('auto');
      let read = 0;
      const sh = new mod.SourceHasher(io, hasher, (b) => (read += b));
      try {
        sh.prepareFor(40 * MiB);
        for (const { path, data } of files.values()) {
          const got = await withFd(path, (fd) => sh.leaves(path, fd, data.length, CS));
          expect(Buffer.from(got).equals(Buffer.from(hashChunks(hasher, data, CS))), `${data.length} bytes`).toBe(true);
          if (data.length < mod.PARALLEL_MIN_BYTES || !worker) expect(sh.workerBatches).toBe(0);
        }
        expect(read).toBe([...files.keys()].reduce((a, b) => a + b, 0));
        // The worker takes ~70 ms to load; once it is up it takes a share of a big file.
        const big = files.get(40 * MiB + 12345)!;
        const want = Buffer.from(hashChunks(hasher, big.data, CS));
        const until = Date.now() + 5000;
        let shared = 0;
        do {
          const again = await withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS));
          expect(Buffer.from(again).equals(want)).toBe(true);
          shared = Math.max(shared, sh.workerBatches);
        } while (Date.now() < until && (worker ? shared === 0 : Date.now() < until - 4800));
        expect(shared > 0).toBe(worker);
      } finally {
        sh.close();
      }
    });

    it('a file shorter than its snapshot is E_SOURCE_CHANGED, and the hasher still works after', async () => {
      const mod = await load();
      const hasher = await loadBlake3Async('auto');
      const sh = new mod.SourceHasher(io, hasher, () => undefined);
      try {
        sh.prepareFor(40 * MiB);
        const big = files.get(40 * MiB + 12345)!;
        for (const claimed of [big.data.length + 1, big.data.length + 20 * MiB]) {
          await expect(withFd(big.path, (fd) => sh.leaves(big.path, fd, claimed, CS))).rejects.toMatchObject({
            code: 'E_SOURCE_CHANGED',
            message: expect.stringContaining(big.path),
          });
        }
        const ok = await withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS));
        expect(Buffer.from(ok).equals(Buffer.from(hashChunks(hasher, big.data, CS)))).toBe(true);
      } finally {
        sh.close();
      }
    });
  });
}
