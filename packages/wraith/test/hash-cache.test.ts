/**
 * HashCache: leaf rows of big source files remembered across sends. An entry is found only for
 * the same file (device, inode, size, mtime, ctime) and chunk size; a file changed shortly
 * before or during its hashing is not remembered; a damaged entry is missed and deleted; the
 * least recently used entries go past the size bound. SourceHasher uses it for big files.
 */
import { randomFillSync } from 'node:crypto';
import { openSync, closeSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, open, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashChunks } from '@wraith/core';
import { loadBlake3Async } from '@wraith/blake3';
import { createFileIo, type FileIo } from '@wraith/io-uring';
import { CACHE_MIN_BYTES, HashCache, RACY_FINE_MS, RACY_MS, fileKey, racyBoundMs } from '../src/node/hash-cache.js';
import { SourceHasher } from '../src/node/source-hash.js';

const MiB = 1024 * 1024;
const CS = 256 * 1024;
const BIG = CACHE_MIN_BYTES + 3 * CS + 77;
const LEAVES = Math.ceil(BIG / CS) * 32;

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wraith-hash-cache-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A sparse file of `size` bytes with a few random bytes, open read-write. */
async function bigFile(size = BIG): Promise<{ path: string; fd: number }> {
  const path = join(dir, `src-${n++}`);
  await writeFile(path, randomFillSync(Buffer.alloc(4096)));
  await truncate(path, size);
  return { path, fd: openSync(path, 'r+') };
}

const rowFor = (seed: number): Uint8Array => randomFillSync(new Uint8Array(LEAVES)).fill(seed, 0, 1);
/** A clock far enough ahead that files written now count as old. */
const later = (): number => Date.now() + RACY_MS + 1000;

describe('HashCache', () => {
  it('remembers a row for the same file and chunk size only; the entry is private', async () => {
    const cache = new HashCache(join(dir, 'c1'), undefined, later);
    const f = await bigFile();
    try {
      expect(await cache.get(f.fd, CS)).toBeNull();
      expect(cache.has(f.fd, CS)).toBe(false);
      const row = rowFor(1);
      expect(await cache.put(f.fd, fileKey(f.fd), CS, row, cache.now())).toBe(true);
      expect(cache.has(f.fd, CS)).toBe(true);
      expect(Buffer.from((await cache.get(f.fd, CS))!).equals(Buffer.from(row))).toBe(true);
      expect(await cache.get(f.fd, 2 * CS)).toBeNull();
      const [entry] = await readdir(cache.dir);
      expect(statSync(join(cache.dir, entry!)).mode & 0o777).toBe(0o600);
      expect(statSync(cache.dir).mode & 0o777).toBe(0o700);
      // Another file with the same size and times is another inode.
      const g = await bigFile();
      try {
        expect(await cache.get(g.fd, CS)).toBeNull();
      } finally {
        closeSync(g.fd);
      }
      // A write moves mtime and ctime: the entry no longer matches.
      writeSync(f.fd, Buffer.from([0xff]), 0, 1, 100);
      expect(await cache.get(f.fd, CS)).toBeNull();
      expect(cache.counts).toMatchObject({ hits: 1, stored: 1 });
    } finally {
      closeSync(f.fd);
    }
  });

  it('does not remember a file changed shortly before or during its hashing, or a small one', async () => {
    const cache = new HashCache(join(dir, 'c2'));
    const f = await bigFile();
    try {
      // Written just now: a write in the same clock tick would keep these timestamps.
      expect(await cache.put(f.fd, fileKey(f.fd), CS, rowFor(2), Date.now())).toBe(false);
      expect(await cache.put(f.fd, fileKey(f.fd), CS, rowFor(2), Date.now() + RACY_FINE_MS / 2)).toBe(false);
      const old = new HashCache(cache.dir, undefined, later);
      const before = fileKey(f.fd);
      writeSync(f.fd, Buffer.from([1]), 0, 1, 5000); // changed while it was hashed
      expect(await old.put(f.fd, before, CS, rowFor(2), old.now())).toBe(false);
      expect(cache.counts.racy + old.counts.racy).toBe(3);
      expect(await old.get(f.fd, CS)).toBeNull();
      const small = await bigFile(CACHE_MIN_BYTES - 1);
      try {
        expect(await old.put(small.fd, fileKey(small.fd), CS, new Uint8Array(Math.ceil((CACHE_MIN_BYTES - 1) / CS) * 32), old.now())).toBe(false);
      } finally {
        closeSync(small.fd);
      }
      expect(await readdir(cache.dir).catch(() => [])).toEqual([]);
    } finally {
      closeSync(f.fd);
    }
  });

  it('does not store an entry bigger than its whole bound', async () => {
    const cache = new HashCache(join(dir, 'c6'), LEAVES, later); // the header and sum do not fit
    const f = await bigFile();
    try {
      expect(await cache.put(f.fd, fileKey(f.fd), CS, rowFor(7), cache.now())).toBe(false);
      expect(cache.counts.tooBig).toBe(1);
      expect(await readdir(cache.dir).catch(() => [])).toEqual([]);
      const roomy = new HashCache(cache.dir, 2 * LEAVES, later);
      expect(await roomy.put(f.fd, fileKey(f.fd), CS, rowFor(7), roomy.now())).toBe(true);
    } finally {
      closeSync(f.fd);
    }
  });

  it('takes a few clock ticks for sub-second ctimes, 2 s for whole-second ones', async () => {
    const f = await bigFile();
    try {
      const key = fileKey(f.fd);
      const fine = { ...key, ctimeNs: key.ctimeNs - (key.ctimeNs % 1_000_000_000n) + 123_456_789n };
      const whole = { ...key, ctimeNs: key.ctimeNs - (key.ctimeNs % 1_000_000_000n) };
      expect(racyBoundMs(fine)).toBe(RACY_FINE_MS);
      expect(racyBoundMs(whole)).toBe(RACY_MS);
      // A whole-second mtime (as tar and cp -p leave) changes nothing.
      expect(racyBoundMs({ ...fine, mtimeNs: 1_700_000_000_000_000_000n })).toBe(RACY_FINE_MS);
      // So a file written and hashed at once (tar ... && wraith send) is remembered, where its
      // file system stamps sub-second ctimes (ext4, xfs, btrfs, tmpfs do).
      await new Promise((r) => setTimeout(r, 2 * racyBoundMs(key)));
      const cache = new HashCache(join(dir, 'c7'));
      expect(await cache.put(f.fd, key, CS, rowFor(8), Date.now())).toBe(true);
    } finally {
      closeSync(f.fd);
    }
  });

  it('misses and deletes a damaged or cut entry', async () => {
    const cache = new HashCache(join(dir, 'c3'), undefined, later);
    const f = await bigFile();
    try {
      const row = rowFor(3);
      for (const damage of ['flip', 'cut'] as const) {
        expect(await cache.put(f.fd, fileKey(f.fd), CS, row, cache.now())).toBe(true);
        const [name] = await readdir(cache.dir);
        const path = join(cache.dir, name!);
        const data = await readFile(path);
        if (damage === 'flip') data[data.length - 100]! ^= 1;
        await writeFile(path, damage === 'flip' ? data : data.subarray(0, data.length - 1));
        expect(await cache.get(f.fd, CS)).toBeNull();
        expect(await readdir(cache.dir)).toEqual([]);
      }
      expect(cache.counts.damaged).toBe(2);
    } finally {
      closeSync(f.fd);
    }
  });

  it('past its size bound, deletes the least recently used entries', async () => {
    const probe = new HashCache(join(dir, 'probe'), undefined, later);
    const p = await bigFile();
    await probe.put(p.fd, fileKey(p.fd), CS, rowFor(9), probe.now());
    closeSync(p.fd);
    const entryBytes = statSync(join(probe.dir, (await readdir(probe.dir))[0]!)).size;
    let clock = later();
    const cache = new HashCache(join(dir, 'c4'), 2 * entryBytes, () => (clock += 1000));
    const files = [await bigFile(), await bigFile(), await bigFile()];
    try {
      const [a, b, c] = files.map((f) => f.fd) as [number, number, number];
      expect(await cache.put(a, fileKey(a), CS, rowFor(4), cache.now())).toBe(true);
      expect(await cache.put(b, fileKey(b), CS, rowFor(5), cache.now())).toBe(true);
      expect(await cache.get(a, CS)).not.toBeNull(); // a is now the more recently used
      expect(await cache.put(c, fileKey(c), CS, rowFor(6), cache.now())).toBe(true);
      expect(cache.counts.evicted).toBe(1);
      expect(cache.has(a, CS)).toBe(true);
      expect(cache.has(b, CS)).toBe(false);
      expect(cache.has(c, CS)).toBe(true);
    } finally {
      for (const f of files) closeSync(f.fd);
    }
  });
});

describe('SourceHasher with a HashCache', () => {
  let io: FileIo;
  beforeAll(async () => {
    io = (await createFileIo('auto')).io;
  });
  afterAll(async () => {
    await io?.destroy();
  });

  it('hashes a big file once, then takes its leaves from the cache without reading it; a changed file is hashed again', async () => {
    const hasher = await loadBlake3Async('auto');
    const path = join(dir, 'real');
    const data = randomFillSync(new Uint8Array(40 * MiB + 5));
    await writeFile(path, data);
    const cache = new HashCache(join(dir, 'c5'), undefined, later);
    let read = 0;
    const sh = new SourceHasher(io, hasher, (b) => (read += b), { cache, workers: 0 });
    const fh = await open(path, 'r+');
    try {
      const want = Buffer.from(hashChunks(hasher, data, CS));
      const first = await sh.leaves(path, fh.fd, data.length, CS);
      expect(sh.fromCache).toBe(false);
      expect(read).toBe(data.length);
      expect(Buffer.from(first).equals(want)).toBe(true);
      const second = await sh.leaves(path, fh.fd, data.length, CS);
      expect(sh.fromCache).toBe(true);
      expect(read).toBe(data.length); // not read again
      expect(Buffer.from(second).equals(want)).toBe(true);
      expect(sh.hashedBytes()).toBe(2 * data.length);
      data[7] = data[7]! ^ 0x80;
      await fh.write(data.subarray(7, 8), 0, 1, 7);
      const third = await sh.leaves(path, fh.fd, data.length, CS);
      expect(sh.fromCache).toBe(false);
      expect(Buffer.from(third).equals(Buffer.from(hashChunks(hasher, data, CS)))).toBe(true);
      expect(cache.counts).toMatchObject({ hits: 1, stored: 2 });
    } finally {
      await fh.close();
      await sh.close();
    }
  });
});
