/**
 * SourceHasher: the leaf row of a file (a sparse one too) equals hashChunks over its bytes, with the worker thread
 * helping (the built module, whose hash-worker.js exists) or not (the source module, whose worker
 * cannot load: the event loop then hashes every batch), and a file shorter than its snapshot
 * fails with E_SOURCE_CHANGED on either side.
 */
import { randomFillSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fstatSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashChunks, type Blake3 } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { createFileIo, type FileIo } from '@wraith/io-uring';
import * as fromSource from '../src/node/source-hash.js';
import type * as JobsModule from '../src/node/hash-jobs.js';

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
  // Mostly zeros (a sparse file's holes get the zero leaf without a hash): data in chunks 0, 5
  // and 6, one byte at the end of chunk 9, a zero short last chunk.
  const sparse = new Uint8Array(24 * MiB + 4097);
  sparse[60] = 1;
  randomFillSync(sparse.subarray(5 * CS, 7 * CS));
  sparse[10 * CS - 1] = 2;
  const path = join(dir, 'sparse');
  await writeFile(path, sparse);
  files.set(sparse.length, { path, data: sparse });
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
        const kept: Array<[Uint8Array | null, Uint8Array]> = [];
        for (const { path, data } of files.values()) {
          const got = await withFd(path, (fd) => sh.leaves(path, fd, data.length, CS));
          expect(Buffer.from(got).equals(Buffer.from(hashChunks(hasher, data, CS))), `${data.length} bytes`).toBe(true);
          if (data.length < mod.PARALLEL_MIN_BYTES || !worker) expect(sh.workerBatches).toBe(0);
          // A small file's bytes as hashed are kept for its send, once; a bigger one's are not.
          const small = sh.takeSmall();
          if (data.length <= mod.KEEP_SMALL_BYTES) kept.push([small, data]);
          else expect(small, `${data.length} bytes`).toBeNull();
          expect(sh.takeSmall()).toBeNull();
        }
        // Still theirs after the other files were read through the same buffers.
        expect(kept.length).toBe(2);
        for (const [k, data] of kept) expect(k !== null && Buffer.from(k).equals(Buffer.from(data)), `${data.length} bytes kept`).toBe(true);
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
        await sh.close();
      }
    });

    it("a sparse file's holes are skipped, not read: the leaves are the same, the reads only the chunks with data", async () => {
      const mod = await load();
      const hasher = await loadBlake3Async('auto');
      const size = 48 * MiB + 1000;
      const data = new Uint8Array(size);
      randomFillSync(data.subarray(10 * MiB, 11 * MiB));
      randomFillSync(data.subarray(40 * MiB + 5, 40 * MiB + 105));
      const path = join(dir, 'holes');
      const fh = await open(path, 'w');
      await fh.truncate(size);
      await fh.write(data, 10 * MiB, MiB, 10 * MiB);
      await fh.write(data, 40 * MiB + 5, 100, 40 * MiB + 5);
      await fh.close();
      let read = 0;
      const sh = new mod.SourceHasher(io, hasher, (b) => (read += b));
      try {
        sh.prepareFor(size);
        const want = Buffer.from(hashChunks(hasher, data, CS));
        // Twice: the workers are up for the second (the event loop may take every batch of the first).
        for (let k = 0; k < 2; k++) {
          read = 0;
          const got = await withFd(path, (fd) => sh.leaves(path, fd, size, CS));
          expect(Buffer.from(got).equals(want)).toBe(true);
          // The four chunks of [10 MiB, 11 MiB) and the one holding 100 bytes; not the rest of
          // their batches, nor the short last chunk (a hole too).
          expect(read).toBe(5 * CS);
          await new Promise((r) => setTimeout(r, 200));
        }
      } finally {
        await sh.close();
      }
    });

    it('the bytes kept of a small file stay its own while the next files are read', async () => {
      const mod = await load();
      const sh = new mod.SourceHasher(io, await loadBlake3Async('auto'), () => {});
      try {
        const kept: Array<[Uint8Array | null, Uint8Array]> = [];
        for (const size of [1000, 500, 1000]) {
          const data = randomFillSync(new Uint8Array(size));
          const path = join(dir, `kept-${kept.length}`);
          await writeFile(path, data);
          await withFd(path, (fd) => sh.leaves(path, fd, size, CS));
          kept.push([sh.takeSmall(), data]);
        }
        for (const [k, data] of kept) expect(k !== null && Buffer.from(k).equals(Buffer.from(data))).toBe(true);
      } finally {
        await sh.close();
      }
    });

    it('hashedBytes() rises with the batches hashed, while busy, to the sum of the files', async () => {
      const mod = await load();
      const hasher = await loadBlake3Async('auto');
      const sh = new mod.SourceHasher(io, hasher, () => undefined);
      try {
        const small = files.get(3 * MiB + 5)!;
        await withFd(small.path, (fd) => sh.leaves(small.path, fd, small.data.length, CS));
        expect(sh.busy).toBe(false);
        expect(sh.hashedBytes()).toBe(small.data.length);
        const big = files.get(40 * MiB + 12345)!;
        const samples: Array<[boolean, number]> = [];
        await withFd(big.path, async (fd) => {
          let finished = false;
          const p = sh.leaves(big.path, fd, big.data.length, CS).finally(() => (finished = true));
          while (!finished) {
            samples.push([sh.busy, sh.hashedBytes()]);
            await new Promise((r) => setImmediate(r));
          }
          await p;
        });
        const during = samples.slice(1); // the first is taken before the job starts
        expect(during.length).toBeGreaterThan(2);
        expect(during.every(([busy]) => busy)).toBe(true);
        const bytes = during.map(([, n]) => n);
        expect(bytes.every((n, i) => n >= small.data.length && n <= small.data.length + big.data.length && (i === 0 || n >= bytes[i - 1]!))).toBe(true);
        expect(new Set(bytes).size).toBeGreaterThan(1); // it moved while hashing
        expect(sh.busy).toBe(false);
        expect(sh.hashedBytes()).toBe(small.data.length + big.data.length);
      } finally {
        await sh.close();
      }
    });

    /** A hasher of the module under test, prepared for the 40 MiB file, closed after `fn`. */
    async function withBigFile(fn: (sh: fromSource.SourceHasher, hasher: Blake3, big: { path: string; data: Uint8Array }) => Promise<void>): Promise<void> {
      const mod = await load();
      const hasher = await loadBlake3Async('auto');
      const sh = new mod.SourceHasher(io, hasher, () => undefined);
      try {
        sh.prepareFor(40 * MiB);
        await fn(sh, hasher, files.get(40 * MiB + 12345)!);
      } finally {
        await sh.close();
      }
    }

    it('a hash asked to stop ends between batches with E_TRANSFER_CANCELLED, nothing left running, and the hasher works after', async () => {
      await withBigFile(async (sh, hasher, big) => {
        let asked = 0;
        await expect(withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS, () => ++asked >= 2))).rejects.toMatchObject({
          code: 'E_TRANSFER_CANCELLED',
          message: expect.stringContaining(big.path),
        });
        expect(asked).toBe(2);
        expect(sh.busy).toBe(false);
        const ok = await withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS, () => false));
        expect(Buffer.from(ok).equals(Buffer.from(hashChunks(hasher, big.data, CS)))).toBe(true);
      });
    });

    it('a file shorter than its snapshot is E_SOURCE_CHANGED, and the hasher still works after', async () => {
      await withBigFile(async (sh, hasher, big) => {
        for (const claimed of [big.data.length + 1, big.data.length + 20 * MiB]) {
          await expect(withFd(big.path, (fd) => sh.leaves(big.path, fd, claimed, CS))).rejects.toMatchObject({
            code: 'E_SOURCE_CHANGED',
            message: expect.stringContaining(big.path),
          });
        }
        const ok = await withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS));
        expect(Buffer.from(ok).equals(Buffer.from(hashChunks(hasher, big.data, CS)))).toBe(true);
      });
    });
  });
}

describe('EarlyHash: the first big file hashed before the node is up (built modules: the worker loads)', () => {
  const built = async (): Promise<{ mod: Module; jobs: typeof JobsModule }> => ({
    mod: (await import('../dist/node/source-hash.js')) as Module,
    jobs: (await import('../dist/node/hash-jobs.js')) as typeof JobsModule,
  });
  /** The early job's descriptor is closed (its number may since name something else). */
  const closedOn = (fd: number, path: string): boolean => {
    try {
      return fstatSync(fd).ino !== statSync(path).ino;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EBADF';
    }
  };

  it('starts only for a regular file of at least PARALLEL_MIN_BYTES named first (a symlink only when followed)', async () => {
    const { jobs } = await built();
    const big = files.get(40 * MiB + 12345)!;
    const link = join(dir, 'link-to-big');
    symlinkSync(big.path, link);
    expect(jobs.EarlyHash.start([files.get(3 * MiB + 5)!.path], CS, false)).toBeNull();
    expect(jobs.EarlyHash.start([dir], CS, false)).toBeNull();
    expect(jobs.EarlyHash.start([join(dir, 'missing')], CS, false)).toBeNull();
    expect(jobs.EarlyHash.start([link], CS, false)).toBeNull();
    expect(jobs.EarlyHash.start([], CS, false)).toBeNull();
    // A FIFO is never opened (an open would block until a writer came).
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(jobs.EarlyHash.start([fifo], CS, true)).toBeNull();
    const followed = jobs.EarlyHash.start([link, files.get(0)!.path], CS, true);
    expect(followed).not.toBeNull();
    expect(closedOn(followed!.fd, big.path)).toBe(false);
    await followed!.dispose();
    expect(closedOn(followed!.fd, big.path)).toBe(true);
  });

  it('is adopted for the same file: the worker alone hashed it, and the leaves are right', async () => {
    const { mod, jobs } = await built();
    const hasher = await loadBlake3Async('auto');
    const big = files.get(40 * MiB + 12345)!;
    const early = jobs.EarlyHash.start([big.path], CS, false, 1)!;
    expect(early).not.toBeNull();
    expect(await early.replies).toEqual([{ id: early.job.id }]); // every batch taken by the worker
    const sh = new mod.SourceHasher(io, hasher, () => undefined, { early });
    try {
      const got = await withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS));
      expect(Buffer.from(got).equals(Buffer.from(hashChunks(hasher, big.data, CS)))).toBe(true);
      expect(sh.workerBatches).toBe(early.job.batches);
      expect(sh.workerShares).toEqual([early.job.batches]);
      // The adopted worker serves the next file too.
      const again = await withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS));
      expect(Buffer.from(again).equals(Buffer.from(got))).toBe(true);
    } finally {
      await sh.close();
    }
    expect(closedOn(early.fd, big.path)).toBe(true);
  });

  it('is not adopted for another chunk size or a file changed since, and the leaves are those of what is read', async () => {
    const { mod, jobs } = await built();
    const hasher = await loadBlake3Async('auto');
    const data = randomFillSync(new Uint8Array(40 * MiB));
    const path = join(dir, 'changes');
    await writeFile(path, data);
    // Another chunk size: hashed afresh at the asked size.
    const e1 = jobs.EarlyHash.start([path], CS, false)!;
    await e1.replies;
    const sh1 = new mod.SourceHasher(io, hasher, () => undefined, { early: e1 });
    try {
      const got = await withFd(path, (fd) => sh1.leaves(path, fd, data.length, 2 * CS));
      expect(Buffer.from(got).equals(Buffer.from(hashChunks(hasher, data, 2 * CS)))).toBe(true);
    } finally {
      await sh1.close();
    }
    expect(closedOn(e1.fd, path)).toBe(true);
    // Rewritten in place (same inode, same size) after the early job hashed it: with a new
    // mtime, then with the mtime put back (only the ctime shows it).
    for (const mtime of ['new', 'put back'] as const) {
      const e2 = jobs.EarlyHash.start([path], CS, false)!;
      await e2.replies;
      const st = statSync(path);
      data[12345] = data[12345]! ^ 1;
      const fh = await open(path, 'r+');
      await fh.write(data.subarray(12345, 12346), 0, 1, 12345);
      await fh.close();
      utimesSync(path, new Date(), mtime === 'new' ? new Date(Date.now() + 5000) : st.mtime);
      expect(statSync(path).mtimeMs === st.mtimeMs).toBe(mtime === 'put back');
      const sh2 = new mod.SourceHasher(io, hasher, () => undefined, { early: e2 });
      try {
        const got = await withFd(path, (fd) => sh2.leaves(path, fd, data.length, CS));
        expect(Buffer.from(got).equals(Buffer.from(hashChunks(hasher, data, CS))), `mtime ${mtime}`).toBe(true);
      } finally {
        await sh2.close();
      }
      expect(closedOn(e2.fd, path)).toBe(true);
    }
    // An early job nobody asked for ends with the hasher.
    const e3 = jobs.EarlyHash.start([path], CS, false)!;
    await new mod.SourceHasher(io, hasher, () => undefined, { early: e3 }).close();
    expect(closedOn(e3.fd, path)).toBe(true);
  });

  it('with several workers, all of them take batches and none is left running', async () => {
    const { mod, jobs } = await built();
    const hasher = await loadBlake3Async('auto');
    const big = files.get(40 * MiB + 12345)!;
    const want = Buffer.from(hashChunks(hasher, big.data, CS));
    const early = jobs.EarlyHash.start([big.path], CS, false, 3)!;
    expect(early.workers.length).toBe(3);
    const replies = await early.replies;
    expect(replies.map((r) => r.id)).toEqual([early.job.id, early.job.id, early.job.id]);
    const sh = new mod.SourceHasher(io, hasher, () => undefined, { early, workers: 3 });
    try {
      const first = await withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS));
      expect(Buffer.from(first).equals(want)).toBe(true);
      expect(sh.workerBatches).toBe(early.job.batches);
      expect(sh.workerShares.reduce((a, n) => a + n, 0)).toBe(early.job.batches);
      // Adopted, the three serve later files: each takes a share of some run (the loop races them).
      const took = [0, 0, 0];
      const until = Date.now() + 10_000;
      do {
        const again = await withFd(big.path, (fd) => sh.leaves(big.path, fd, big.data.length, CS));
        expect(Buffer.from(again).equals(want)).toBe(true);
        expect(sh.workerShares.length).toBeLessThanOrEqual(3);
        expect(sh.workerShares.reduce((a, n) => a + n, 0)).toBe(sh.workerBatches);
        sh.workerShares.forEach((n, i) => (took[i]! += n));
      } while (Date.now() < until && took.some((n) => n === 0));
      expect(took.every((n) => n > 0), `batches by worker: ${took.join(', ')}`).toBe(true);
    } finally {
      await sh.close();
    }
    expect(closedOn(early.fd, big.path)).toBe(true);
    // None: the event loop alone, even for a big file.
    const alone = new mod.SourceHasher(io, hasher, () => undefined, { workers: 0 });
    try {
      alone.prepareFor(big.data.length);
      const got = await withFd(big.path, (fd) => alone.leaves(big.path, fd, big.data.length, CS));
      expect(Buffer.from(got).equals(want)).toBe(true);
      expect(alone.workerBatches).toBe(0);
      expect(alone.workerShares).toEqual([]);
    } finally {
      await alone.close();
    }
  });

  it('leaves nothing running: a process that sends its early-hashed file exits by itself once the hasher is closed', async () => {
    const big = files.get(40 * MiB + 12345)!;
    // The order of `wraith send`: the early job (two workers), then prepareFor (which must not
    // start more workers that nobody ends), the leaves, close.
    const script = `
      import { loadBlake3Async } from '@wraith/blake3';
      import { createFileIo } from '@wraith/io-uring';
      import { openSync, closeSync } from 'node:fs';
      import { EarlyHash } from './dist/node/hash-jobs.js';
      import { SourceHasher } from './dist/node/source-hash.js';
      const early = EarlyHash.start([process.argv[1]], ${CS}, false, 2);
      const io = (await createFileIo('auto')).io;
      const sh = new SourceHasher(io, await loadBlake3Async('auto'), () => {}, { early, workers: 2 });
      sh.prepareFor(${big.data.length});
      const fd = openSync(process.argv[1], 'r');
      await sh.leaves(process.argv[1], fd, ${big.data.length}, ${CS});
      closeSync(fd);
      await sh.close();
      await io.destroy();
      process.stdout.write(String(early !== null) + ' ' + Date.now());
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, big.path], { cwd: join(__dirname, '..'), encoding: 'utf8', timeout: 20_000 });
    const exitedAt = Date.now();
    expect(r.status, r.stderr).toBe(0);
    const [started, doneAt] = r.stdout.split(' ');
    expect(started).toBe('true');
    expect(exitedAt - Number(doneAt)).toBeLessThan(1000); // a live worker would hold it until killed
  });

  it('a worker stopped at any point of its start-up never aborts the process (its native hasher may still be loading)', () => {
    const script = `
      import { HashWorker } from './dist/node/hash-jobs.js';
      for (let i = 0; i < 100; i++) {
        const w = HashWorker.spawn(2);
        await new Promise((r) => setTimeout(r, (i * 7) % 30));
        w.terminate();
      }
      process.stdout.write('survived');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(__dirname, '..'), encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toContain('FATAL ERROR');
    expect([r.status, r.stdout]).toEqual([0, 'survived']);
  });
});
