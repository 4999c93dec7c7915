// `wraith hash` (runHash): roots of files read from disk, checked against a Merkle tree built
// here from the protocol's definition, not through the sender's hashing code.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';
import { WraithError } from '@wraith/core';
import { runHash } from '../src/node/hash-files.js';
import { tmpDir } from './helpers.js';

/** docs/PROTOCOL.md: leaf = BLAKE3(0x00 ‖ chunk), node = BLAKE3(0x01 ‖ l ‖ r), row padded with zeros. */
function refRoot(data: Uint8Array, chunk: number): string {
  const n = Math.max(1, Math.ceil(data.length / chunk));
  let row: Uint8Array[] = [];
  for (let i = 0; i < n; i++) row.push(blake3(Buffer.concat([Buffer.from([0]), data.subarray(i * chunk, (i + 1) * chunk)])));
  while (row.length & (row.length - 1)) row.push(new Uint8Array(32));
  while (row.length > 1) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) up.push(blake3(Buffer.concat([Buffer.from([1]), row[i]!, row[i + 1]!])));
    row = up;
  }
  return Buffer.from(row[0]!).toString('hex');
}

async function hashAll(paths: string[], chunkSize = 256 * 1024, followSymlinks = false) {
  const files: Array<{ name: string; root: string; bytes: number }> = [];
  const warnings: string[] = [];
  const errors: WraithError[] = [];
  await runHash(
    { paths, chunkSize, followSymlinks, ioBackend: 'auto', signal: new AbortController().signal },
    { file: (e) => files.push({ name: e.name, root: e.root, bytes: e.bytes }), warning: (m) => warnings.push(m), error: (e) => errors.push(e) },
  );
  return { files, warnings, errors };
}

describe('runHash', () => {
  it('a tree: every file named as a send names it, with the root of its content at the chunk size asked', async () => {
    const base = tmpDir();
    const d = join(base, 'd');
    mkdirSync(join(d, 'sub'), { recursive: true });
    const big = randomBytes(1_000_000);
    writeFileSync(join(d, 'big'), big);
    writeFileSync(join(d, 'sub', 'small'), 'hello');
    writeFileSync(join(d, 'empty'), '');
    symlinkSync('big', join(d, 'link'));
    for (const chunk of [16 * 1024, 256 * 1024]) {
      const r = await hashAll([d], chunk);
      expect(r.errors).toEqual([]);
      expect(r.files).toEqual([
        { name: 'd/big', root: refRoot(big, chunk), bytes: big.length },
        { name: 'd/empty', root: refRoot(new Uint8Array(0), chunk), bytes: 0 },
        { name: 'd/sub/small', root: refRoot(Buffer.from('hello'), chunk), bytes: 5 },
      ]);
      expect(r.warnings.join('\n')).toMatch(/link is a symlink: skipped/);
    }
    const followed = await hashAll([d], 256 * 1024, true);
    expect(followed.files.find((f) => f.name === 'd/link')?.root).toBe(refRoot(big, 256 * 1024));
  });

  it('a sparse file (holes are hashed as the zeros they read as) and one big enough for the worker threads', async () => {
    const dir = tmpDir();
    const sparse = join(dir, 'sparse');
    const fd = openSync(sparse, 'w');
    writeSync(fd, Buffer.from('data at 5 MiB'), 0, 13, 5 * 1024 * 1024);
    closeSync(fd);
    truncateSync(sparse, 9 * 1024 * 1024 + 77);
    const large = join(dir, 'large');
    writeFileSync(large, randomBytes(40 * 1024 * 1024));
    const r = await hashAll([sparse, large]);
    expect(r.errors).toEqual([]);
    expect(r.files.map((f) => [f.name, f.root])).toEqual([
      ['sparse', refRoot(readFileSync(sparse), 256 * 1024)],
      ['large', refRoot(readFileSync(large), 256 * 1024)],
    ]);
  });

  it('inside a tree, a name the receiver would refuse fails alone (E_PATH_INVALID) and a FIFO is skipped with a warning; the rest is hashed', async () => {
    const d = join(tmpDir(), 'd');
    mkdirSync(d);
    writeFileSync(join(d, 'ok'), 'ok');
    writeFileSync(join(d, 'bad\u0001name'), 'x');
    execFileSync('mkfifo', [join(d, 'pipe')]);
    const r = await hashAll([d]);
    expect(r.files.map((f) => f.name)).toEqual(['d/ok']);
    expect(r.errors.map((e) => e.code)).toEqual(['E_PATH_INVALID']);
    expect(r.warnings.join('\n')).toMatch(/pipe is a FIFO/);
  });
});
