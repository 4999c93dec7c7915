import { randomFillSync } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WraithError } from '@wraith/core';
import { ALIGN, allocAligned, createFileIo, type FileIo, type WriteRequest } from '@wraith/io-uring';
import { describeIf, NO_NATIVE_PASS } from '../../../test/support/prereq.js';
import { dropZeroBlocks, openDirect, splitDirect, writeBatch } from '../src/store/direct-writes.js';
import { isAllZero } from '../src/store/zeros.js';
import { DIRECT_MIN_BYTES } from '../src/store/store.js';
import { makeStore, offer, ready, rootOf } from './store-helpers.js';

const w = (offset: number, data: Uint8Array): WriteRequest => ({ offset, data });
const spans = (ws: WriteRequest[]): Array<[number, number]> => ws.map((x) => [x.offset, x.data.length]);

describe('splitDirect', () => {
  const yes = (): boolean => true;
  const no = (): boolean => false;

  it('sends whole aligned blocks of aligned memory direct, the rest through the page cache', () => {
    const s = splitDirect([w(0, new Uint8Array(2 * ALIGN)), w(4 * ALIGN, new Uint8Array(ALIGN + 100)), w(8 * ALIGN, new Uint8Array(100))], yes);
    expect(spans(s.direct)).toEqual([[0, 2 * ALIGN], [4 * ALIGN, ALIGN]]);
    expect(spans(s.buffered)).toEqual([[5 * ALIGN, 100], [8 * ALIGN, 100]]);
  });

  it('keeps a misaligned offset or memory of unknown alignment buffered, whole', () => {
    expect(spans(splitDirect([w(512, new Uint8Array(2 * ALIGN))], yes).buffered)).toEqual([[512, 2 * ALIGN]]);
    const s = splitDirect([w(0, new Uint8Array(2 * ALIGN))], no);
    expect(s.direct).toEqual([]);
    expect(spans(s.buffered)).toEqual([[0, 2 * ALIGN]]);
  });

  it('hands out views of the caller memory, not copies', () => {
    const b = new Uint8Array(ALIGN + 10);
    const s = splitDirect([w(0, b)], yes);
    expect(s.direct[0]!.data.buffer).toBe(b.buffer);
    expect(s.buffered[0]!.data.byteOffset).toBe(ALIGN);
  });
});

describe('writeBatch fallback', () => {
  it('rewrites the direct spans through the page cache when an O_DIRECT write fails, and turns O_DIRECT off', async () => {
    const calls: Array<[number, Array<[number, number]>]> = [];
    const io = {
      writeChunks: async (fd: number, reqs: ReadonlyArray<WriteRequest>) => {
        calls.push([fd, spans([...reqs])]);
        if (fd === 7) throw new Error('EINVAL');
      },
    } as unknown as FileIo;
    const target = { fd: 3, direct: 7 as number | null };
    const failures: unknown[] = [];
    const aligned = allocAligned(2 * ALIGN + 5);
    aligned.fill(1); // all-zero spans are not written at all
    const n = await writeBatch(io, target, [w(0, aligned)], (e) => failures.push(e));
    expect(failures).toHaveLength(1);
    expect(target.direct).toBeNull();
    expect(n).toEqual({ direct: 0, buffered: 2 * ALIGN + 5 });
    const toBuffered = calls.filter(([fd]) => fd === 3).flatMap(([, s]) => s);
    // With the addon the aligned part went direct first; either way every byte reached fd 3.
    expect(toBuffered.reduce((a, [, len]) => a + len, 0)).toBe(2 * ALIGN + 5);
  });
});

describe('all-zero spans', () => {
  it('isAllZero: true only when every byte is zero, at any length', () => {
    expect(isAllZero(new Uint8Array(0))).toBe(false);
    for (const n of [1, 4095, 256 * 1024, 1]) {
      const b = new Uint8Array(n);
      expect(isAllZero(b)).toBe(true);
      for (const at of [0, n >> 1, n - 1]) {
        b[at] = 1;
        expect(isAllZero(b)).toBe(false);
        b[at] = 0;
      }
    }
    expect(isAllZero(new Uint8Array(64).subarray(8, 40))).toBe(true); // a view
  });

  it('dropZeroBlocks cuts writes around their all-zero 4 KiB blocks, by file offset, and keeps the rest as it was', () => {
    const blocks = (...marks: number[]): Uint8Array => {
      const b = new Uint8Array(marks.length * ALIGN);
      marks.forEach((m, i) => (b[i * ALIGN + 100] = m));
      return b;
    };
    const full = w(0, blocks(1, 2, 3));
    const kept = dropZeroBlocks([full]);
    expect(kept[0]).toBe(full); // no zero block: the very request
    expect(spans(dropZeroBlocks([w(ALIGN, blocks(0, 1, 1, 0, 0, 1, 0))]))).toEqual([[2 * ALIGN, 2 * ALIGN], [6 * ALIGN, ALIGN]]);
    expect(spans(dropZeroBlocks([w(0, blocks(0, 0))]))).toEqual([]);
    // Not on a block boundary: blocks are the file's, so the first and last pieces are short.
    const odd = new Uint8Array(3 * ALIGN);
    odd[10] = 1; // file offset 522: block 0
    odd[2 * ALIGN + 3000] = 1; // file offset 2 * ALIGN + 3512: block 2; block 3's first 512 bytes are zeros
    expect(spans(dropZeroBlocks([w(512, odd)]))).toEqual([[512, ALIGN - 512], [2 * ALIGN, ALIGN]]);
    odd[3 * ALIGN - 1] = 1; // now block 3's piece too
    expect(spans(dropZeroBlocks([w(512, odd)]))).toEqual([[512, ALIGN - 512], [2 * ALIGN, ALIGN + 512]]);
    // The tail of a file, shorter than a block.
    expect(spans(dropZeroBlocks([w(ALIGN, Uint8Array.of(0, 0, 5))]))).toEqual([[ALIGN, 3]]);
  });

  it('writeBatch leaves them unwritten (holes of the sparse partial) and counts only what it wrote', async () => {
    const calls: Array<[number, number]> = [];
    const io = { writeChunks: async (_fd: number, reqs: ReadonlyArray<WriteRequest>) => void calls.push(...spans([...reqs])) } as unknown as FileIo;
    const data = new Uint8Array(4096);
    data[4095] = 7;
    const n = await writeBatch(io, { fd: 3, direct: null }, [w(0, new Uint8Array(4096)), w(4096, data), w(8192, new Uint8Array(100))], () => undefined);
    expect(calls).toEqual([[4096, 4096]]);
    expect(n).toEqual({ direct: 0, buffered: 4096 });
  });

  it('a sparse file written through the store arrives identical and keeps its holes', async () => {
    const io = (await createFileIo('auto')).io;
    try {
      const chunk = 256 * 1024;
      const size = 64 * chunk + 1000; // 16 MiB of holes with data at both ends and in the middle
      const content = Buffer.alloc(size);
      for (const at of [0, 31 * chunk + 5, size - 1000]) randomFillSync(content, at, 1000);
      const { store } = await makeStore();
      const f = await ready(store, offer('sparse.img', content, { chunkSize: chunk }));
      const writes: WriteRequest[] = [];
      for (let off = 0; off < size; off += chunk) writes.push(w(off, Uint8Array.prototype.slice.call(content, off, Math.min(size, off + chunk))));
      const n = await writeBatch(io, f, writes, (e) => {
        throw e;
      });
      expect(n.direct + n.buffered).toBe(2 * ALIGN + 1000); // the three 4 KiB blocks with data
      const r = await f.complete();
      expect(rootOf(readFileSync(r.path))).toBe(rootOf(content));
      expect(statSync(r.path).blocks * 512).toBeLessThanOrEqual(4 * ALIGN);
    } finally {
      await io.destroy();
    }
  });
});

describe('writeBatch on a full or read-only disk', () => {
  it.each([
    ['E_NO_SPACE', 'ENOSPC'],
    ['E_PERMISSION', 'EROFS'],
  ] as const)('reports %s (%s) from an O_DIRECT write as it is: no fallback, O_DIRECT stays on', async (code, errno) => {
    const buffered: number[] = [];
    const io = {
      writeChunks: async (fd: number) => {
        if (fd === 7) throw new WraithError(code, `write(fd=7): ${errno}`);
        buffered.push(fd);
      },
    } as unknown as FileIo;
    const target = { fd: 3, direct: 7 as number | null };
    const failures: unknown[] = [];
    await expect(writeBatch(io, target, [w(0, allocAligned(ALIGN).fill(1))], (e) => failures.push(e))).rejects.toMatchObject({ code });
    expect(failures).toEqual([]);
    expect(buffered).toEqual([]);
    expect(target.direct).toBe(7);
  });
});

describeIf(NO_NATIVE_PASS ? 'the no-native pass has no aligned memory' : null, 'O_DIRECT writes through the store', () => {
  let io: FileIo;
  beforeAll(async () => {
    io = (await createFileIo('auto')).io;
  });
  afterAll(async () => {
    await io.destroy();
  });

  it('writes a file with an unaligned end byte-identically, mostly direct', async () => {
    const chunk = 256 * 1024;
    const size = 3 * chunk + 1000;
    const content = Buffer.alloc(size);
    randomFillSync(content);
    const { store } = await makeStore({ directWrites: true });
    const f = await ready(store, offer('d.bin', content, { chunkSize: chunk }));
    expect(f.direct).not.toBeNull();
    const writes: WriteRequest[] = [];
    for (let off = 0; off < size; off += chunk) {
      const b = allocAligned(Math.min(chunk, size - off));
      b.set(content.subarray(off, off + b.length));
      writes.push(w(off, b));
    }
    const n = await writeBatch(io, f, writes.reverse(), (e) => {
      throw e;
    });
    expect(n).toEqual({ direct: 3 * chunk, buffered: 1000 });
    const r = await f.complete();
    expect(f.direct).toBeNull();
    expect(rootOf(readFileSync(r.path))).toBe(rootOf(content));
  });

  it('opens no O_DIRECT fd unless asked, nor for a file below DIRECT_MIN_BYTES', async () => {
    const big = Buffer.alloc(DIRECT_MIN_BYTES);
    const { store } = await makeStore();
    const f = await ready(store, offer('b.bin', big));
    expect(f.direct).toBeNull();
    await f.abort();
    const { store: ds } = await makeStore({ directWrites: true });
    const small = await ready(ds, offer('s.bin', big.subarray(1)));
    expect(small.direct).toBeNull();
    const large = await ready(ds, offer('l.bin', big));
    expect(large.direct).not.toBeNull();
    await small.abort();
    await large.abort();
  });

  it('says why a file cannot have one', async () => {
    const r = await openDirect(987_654);
    expect('reason' in r && r.reason).toMatch(/^EBADF|ENOENT/);
  });
});
