/**
 * The FileIo compliance suite: every backend must pass it unchanged
 * (file-io.compliance.test.ts runs it against io_uring and fs).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, fstatSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SeededRng, isWraithError, type WraithError } from '@wraith/core';
import { describeIf, IS_ROOT, needRoot } from '../../../test/support/prereq.js';
import type { FileIo, FileIoOptions } from '../src/index.js';
import { mountTmpfs, tempDir } from './helpers.js';

export type MakeFileIo = (opts?: FileIoOptions) => Promise<FileIo>;

async function codeOf(p: Promise<unknown>): Promise<WraithError> {
  try {
    await p;
  } catch (e) {
    if (!isWraithError(e)) throw new Error(`expected a WraithError, got ${String(e)}`);
    return e;
  }
  throw new Error('expected the operation to fail');
}

function randomBuffer(rng: SeededRng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  rng.fill(b);
  return b;
}

/**
 * `realFallocate`: whether fallocate(2) is reachable (io_uring, or fs with the
 * addon); without it fallocate only extends the file, as documented.
 */
export function fileIoCompliance(backend: 'io_uring' | 'fs', make: MakeFileIo, realFallocate: boolean): void {
  let dir: string;
  let io: FileIo;
  const extra: FileIo[] = [];
  const mk = async (opts?: FileIoOptions): Promise<FileIo> => {
    const x = await make(opts);
    extra.push(x);
    return x;
  };

  beforeAll(async () => {
    dir = tempDir(backend);
    io = await make();
  });
  afterEach(async () => {
    for (const x of extra.splice(0)) await x.destroy();
  });
  afterAll(async () => {
    await io?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports its backend', () => {
    expect(io.backend).toBe(backend);
  });

  it('writes random chunks in random order and reads random ranges back exactly', async () => {
    const rng = new SeededRng(7);
    const size = 3 * 1048576 + 12345;
    const ref = randomBuffer(rng, size);
    const path = join(dir, 'random.bin');
    const fd = await io.open(path, 'w');
    // Cut into random chunks, shuffled, written in batches of up to 17.
    const chunks: Array<{ offset: number; data: Uint8Array }> = [];
    for (let off = 0; off < size; ) {
      const len = Math.min(size - off, 1 + (rng.nextU32() % 300_000));
      chunks.push({ offset: off, data: ref.subarray(off, off + len) });
      off += len;
    }
    for (let i = chunks.length - 1; i > 0; i--) {
      const j = rng.nextU32() % (i + 1);
      [chunks[i], chunks[j]] = [chunks[j]!, chunks[i]!];
    }
    for (let i = 0; i < chunks.length; i += 17) await io.writeChunks(fd, chunks.slice(i, i + 17));
    await io.fsync(fd);
    await io.close(fd);
    expect(Buffer.from(readFileSync(path)).equals(ref)).toBe(true);

    const rfd = await io.open(path, 'r');
    const reqs = Array.from({ length: 64 }, () => {
      const offset = rng.nextU32() % (size + 5000); // some start past EOF
      return { offset, length: rng.nextU32() % 200_000 };
    });
    const got = await io.readChunks(rfd, reqs);
    reqs.forEach((r, i) => {
      const want = ref.subarray(Math.min(r.offset, size), Math.min(r.offset + r.length, size));
      expect(Buffer.from(got[i]!).equals(want)).toBe(true);
    });
    await io.close(rfd);
  });

  it('returns a shorter view at EOF and an empty one past it', async () => {
    const path = join(dir, 'eof.bin');
    const ref = randomBuffer(new SeededRng(3), 10_000);
    writeFileSync(path, ref);
    const fd = await io.open(path, 'r');
    const buf = new Uint8Array(8192);
    const [a, b, c, d] = await io.readChunks(fd, [
      { offset: 9000, length: 4096 },
      { offset: 10_000, length: 100 },
      { offset: 50_000, length: 100 },
      { offset: 0, length: 8192, buf },
    ]);
    expect(Buffer.from(a!).equals(ref.subarray(9000))).toBe(true);
    expect(b!.byteLength).toBe(0);
    expect(c!.byteLength).toBe(0);
    expect(d!.buffer).toBe(buf.buffer); // read in place into the caller's buffer
    expect(Buffer.from(d!).equals(ref.subarray(0, 8192))).toBe(true);
    expect(await io.readChunks(fd, [])).toEqual([]);
    await io.close(fd);
  });

  it('splits reads and writes larger than one pool buffer, also across EOF', async () => {
    const small = await mk({ bufferSize: 65536, bufferCount: 4 });
    const path = join(dir, 'large.bin');
    const ref = randomBuffer(new SeededRng(11), 5 * 65536 + 777);
    const fd = await small.open(path, 'rw');
    await small.writeChunks(fd, [{ offset: 0, data: ref }]);
    const [all, tail] = await small.readChunks(fd, [
      { offset: 0, length: ref.length },
      { offset: 2 * 65536 + 5, length: 10 * 65536 }, // EOF lands in the middle of the split
    ]);
    expect(Buffer.from(all!).equals(ref)).toBe(true);
    expect(Buffer.from(tail!).equals(ref.subarray(2 * 65536 + 5))).toBe(true);
    // Through pool buffers (registered ones on io_uring), one spanning two slots' worth.
    const a = small.acquireBuffer()!;
    const b = small.acquireBuffer()!;
    expect(a.byteLength).toBe(65536);
    const [ra, rb] = await small.readChunks(fd, [
      { offset: 100, length: 65536, buf: a },
      { offset: 70_000, length: 1000, buf: b },
    ]);
    expect(Buffer.from(ra!).equals(ref.subarray(100, 100 + 65536))).toBe(true);
    expect(Buffer.from(rb!).equals(ref.subarray(70_000, 71_000))).toBe(true);
    a.fill(0xab);
    await small.writeChunks(fd, [{ offset: 65536 * 5 + 777, data: a }]); // append from a pool buffer
    small.releaseBuffer(a);
    small.releaseBuffer(b);
    await small.close(fd);
    const disk = readFileSync(path);
    expect(disk.length).toBe(ref.length + 65536);
    expect(disk.subarray(ref.length).every((x) => x === 0xab)).toBe(true);
  });

  it('runs concurrent batches, more ops than the ring holds at once', async () => {
    const tiny = await mk({ entries: 4 }); // io_uring: 8 ops in flight at most
    const path = join(dir, 'concurrent.bin');
    const ref = randomBuffer(new SeededRng(5), 400 * 4096);
    const fd = await tiny.open(path, 'rw');
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 50 }, (_, i) => {
        const off = (b * 50 + i) * 4096;
        return { offset: off, data: ref.subarray(off, off + 4096) };
      }),
    );
    await Promise.all(batches.map((reqs) => tiny.writeChunks(fd, reqs)));
    const reads = await Promise.all(
      batches.map((reqs) => tiny.readChunks(fd, reqs.map((r) => ({ offset: r.offset, length: 4096 })))),
    );
    reads.flat().forEach((v, i) => expect(Buffer.from(v).equals(ref.subarray(i * 4096, (i + 1) * 4096))).toBe(true));
    await tiny.close(fd);
  });

  it('fails with coded errors: EBADF, ENOENT, EEXIST', async () => {
    const path = join(dir, 'coded.bin');
    writeFileSync(path, 'hello');
    const rfd = await io.open(path, 'r');
    const w = await codeOf(io.writeChunks(rfd, [{ offset: 0, data: Buffer.from('x') }]));
    expect(w.code).toBe('E_IO');
    expect(w.details).toMatchObject({ errnoName: 'EBADF', errno: 9 });
    expect(typeof w.details?.syscall).toBe('string');
    await io.close(rfd);
    const r = await codeOf(io.readChunks(rfd, [{ offset: 0, length: 1 }])); // closed fd
    expect(r.code).toBe('E_IO');
    expect(r.details?.errnoName).toBe('EBADF');
    const n = await codeOf(io.open(join(dir, 'missing', 'x'), 'r'));
    expect(n.code).toBe('E_NOT_FOUND');
    expect(n.details?.errnoName).toBe('ENOENT');
    const x = await codeOf(io.open(path, 'wx'));
    expect(x.code).toBe('E_EXISTS');
  });

  it(`refuses writes without permission (${IS_ROOT ? 'root: chattr +i' : 'chmod 000'})`, async () => {
    // Root bypasses mode bits, but not the immutable attribute.
    const path = join(dir, 'locked.bin');
    writeFileSync(path, 'locked');
    if (IS_ROOT) execFileSync('chattr', ['+i', path]);
    else chmodSync(path, 0);
    try {
      const e = await codeOf(io.open(path, 'w'));
      expect(e.code).toBe('E_PERMISSION');
      expect(['EPERM', 'EACCES']).toContain(e.details?.errnoName);
    } finally {
      if (IS_ROOT) execFileSync('chattr', ['-i', path]);
    }
  });

  it('fallocate extends the file; fsync succeeds', async () => {
    const path = join(dir, 'falloc.bin');
    const fd = await io.open(path, 'w');
    await io.fallocate(fd, 0, 3 * 65536);
    await io.fsync(fd);
    const probe = openSync(path, 'r');
    expect(fstatSync(probe).size).toBe(3 * 65536);
    closeSync(probe);
    await io.close(fd);
  });

  it('hands out pool buffers until exhausted and refuses foreign or double releases', async () => {
    const p = await mk({ bufferSize: 4096, bufferCount: 2 });
    const a = p.acquireBuffer();
    const b = p.acquireBuffer();
    expect(a && b && a.byteLength === 4096 && b.byteLength === 4096).toBe(true);
    expect(p.acquireBuffer()).toBeNull();
    p.releaseBuffer(a!);
    expect(() => p.releaseBuffer(a!)).toThrow();
    expect(() => p.releaseBuffer(new Uint8Array(4096))).toThrow();
    expect(p.acquireBuffer()).toBe(a);
  });

  it('rejects calls after destroy and lets pending work finish first', async () => {
    const d = await make();
    const path = join(dir, 'destroy.bin');
    const fd = await d.open(path, 'w');
    const pending = d.writeChunks(fd, [{ offset: 0, data: Buffer.alloc(65536, 1) }]);
    const settled = pending.then(() => 'ok', (e: WraithError) => e.code);
    await d.destroy();
    // Either it finished before the ring closed, or it was cancelled: never left hanging.
    expect(['ok', 'E_IO']).toContain(await settled);
    await expect(d.readChunks(fd, [{ offset: 0, length: 1 }])).rejects.toThrow(/destroyed/);
    await d.destroy(); // idempotent
    closeSync(fd);
  });

  describeIf(needRoot(), `${backend}: on a full filesystem (tmpfs size=1m)`, () => {
    let fsMount: ReturnType<typeof mountTmpfs> | undefined;
    beforeAll(() => {
      fsMount = mountTmpfs('1m');
    });
    afterAll(() => fsMount?.unmount());

    it('fails writes with E_NO_SPACE', async () => {
      const fd = await io.open(join(fsMount!.dir, 'big.bin'), 'w');
      try {
        const e = await codeOf(io.writeChunks(fd, [{ offset: 0, data: Buffer.alloc(2 * 1048576, 7) }]));
        expect(e.code).toBe('E_NO_SPACE');
        expect(e.details?.errnoName).toBe('ENOSPC');
      } finally {
        await io.close(fd);
      }
    });

    it(`fallocate beyond the free space: ${realFallocate ? 'E_NO_SPACE' : 'only extends (no addon: best effort)'}`, async () => {
      const fd = await io.open(join(fsMount!.dir, 'reserve.bin'), 'w');
      try {
        if (realFallocate) {
          const f = await codeOf(io.fallocate(fd, 0, 4 * 1048576));
          expect(f.code).toBe('E_NO_SPACE');
        } else {
          await io.fallocate(fd, 0, 4 * 1048576);
          expect(fstatSync(fd).size).toBe(4 * 1048576);
        }
      } finally {
        await io.close(fd);
      }
    });
  });
}

export { describe };
