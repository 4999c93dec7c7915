/**
 * The sender's hash cache ([transfer] hash_cache): a big file sent a second time, unchanged, is
 * not read through to hash it (its leaves come from <home>/state/hash-cache) and arrives
 * identical under the same root; once changed in place, it is hashed again and the receiver
 * gets the new content. --no-hash-cache leaves the cache alone. A receiver uses the same cache
 * for the file it already has when it is offered again. (The racy rule, a file changed too
 * shortly before its hashing, is tested in packages/wraith/test/hash-cache.test.ts.)
 */
import { open, readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, sha256File, writeRandomFile, type RunResult, type TestHome } from '../support/procs.js';

const MiB = 1024 * 1024;
const SIZE = 40 * MiB + 4321;

const scope = new Scope('hash-cache');
afterAll(() => scope.dispose());

/** The sender's "source hashed" debug line. */
function hashedLine(r: RunResult): Record<string, unknown> {
  const line = r.stderr.split('\n').find((l) => l.includes('"source hashed"'));
  expect(line, r.stderr).toBeDefined();
  return JSON.parse(line!) as Record<string, unknown>;
}

const entries = async (home: TestHome): Promise<string[]> => (await readdir(join(home.dir, 'state', 'hash-cache')).catch(() => [])).filter((n) => n.endsWith('.leaves'));

describe('hash cache', () => {
  it('a big file sent again unchanged takes its leaves from the cache; changed, it is hashed again', async () => {
    const tx = await scope.home('tx');
    const src = join(await scope.tempDir('src'), 'big.bin');
    await writeRandomFile(src, SIZE);
    const send = async (args: string[] = []): Promise<{ r: RunResult; output: string; root: unknown }> => {
      const daemon = await scope.daemon({ home: await scope.home('rx') });
      const r = await scope.send([src], daemon.peer(), { home: tx, args: ['--log-level', 'debug', '--reconnect-for', '0s', ...args] }).result(60_000);
      expect(r.code, r.stderr).toBe(0);
      await daemon.terminate();
      return { r, output: daemon.output, root: r.events.find((e) => e.type === 'completed')?.['root'] };
    };

    const opted = await send(['--no-hash-cache']);
    expect(hashedLine(opted.r)).toMatchObject({ from_cache: false });
    expect(await entries(tx)).toEqual([]);

    const first = await send();
    // Hashed by the early job's workers: one per spare CPU, up to 4.
    expect(hashedLine(first.r)).toMatchObject({ from_cache: false, hash_workers: Math.min(4, availableParallelism() - 1) });
    expect(await entries(tx)).toHaveLength(1);
    const second = await send();
    // No hash worker is started for a file the cache knows.
    expect(hashedLine(second.r)).toMatchObject({ from_cache: true, hash_workers: 0 });
    expect(second.root).toBe(first.root);
    const want = await sha256File(src);
    expect(await sha256File(join(second.output, 'big.bin'))).toBe(want);

    // One byte rewritten in place: same size and inode, new ctime.
    const fh = await open(src, 'r+');
    try {
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, SIZE - 10);
      b[0] = b[0]! ^ 0xff;
      await fh.write(b, 0, 1, SIZE - 10);
    } finally {
      await fh.close();
    }
    const changed = await send();
    expect(hashedLine(changed.r)).toMatchObject({ from_cache: false });
    expect(changed.root).not.toBe(first.root);
    const now = await sha256File(src);
    expect(now).not.toBe(want);
    expect(await sha256File(join(changed.output, 'big.bin'))).toBe(now);
  }, 120_000);

  it('a receiver offered a file it already has hashes it once, then finds its leaves in its own cache', async () => {
    const tx = await scope.home('tx');
    const rx = await scope.home('rx');
    const daemon = await scope.daemon({ home: rx });
    const src = join(await scope.tempDir('src'), 'kept.bin');
    const want = await writeRandomFile(src, SIZE);
    const send = async (): Promise<string> => {
      const r = await scope.send([src], daemon.peer(), { home: tx, args: ['--reconnect-for', '0s'] }).result(60_000);
      expect(r.code, r.stderr).toBe(0);
      return String(r.events.find((e) => e.type === 'file')?.['status']);
    };
    expect(await send()).toBe('sent');
    expect(await sha256File(join(daemon.output, 'kept.bin'))).toBe(want);
    expect(await entries(rx)).toEqual([]);
    // Installed long enough ago to be remembered, even where stamps are whole seconds.
    await new Promise((r) => setTimeout(r, 2100));
    expect(await send()).toBe('already_present');
    const [entry] = await entries(rx);
    expect(entry).toBeDefined();
    const path = join(rx.dir, 'state', 'hash-cache', entry!);
    const storedAt = (await stat(path)).mtimeMs;
    await new Promise((r) => setTimeout(r, 50));
    expect(await send()).toBe('already_present');
    expect((await stat(path)).mtimeMs).toBeGreaterThan(storedAt); // found and marked used
    expect(await entries(rx)).toEqual([entry]);
    await daemon.terminate();
  }, 120_000);
});
