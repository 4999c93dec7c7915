// DirSyncer: directory fsyncs shared between installs (group commit), and never one that began
// before its caller asked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirSyncer, fsyncDir } from '../src/fsutil.js';

/** An fsync that finishes when the test says; records when each began. */
function manual(): { fsync: (dir: string) => Promise<void>; started: string[]; finish: () => void } {
  const started: string[] = [];
  const pending: Array<() => void> = [];
  return {
    started,
    fsync: (dir) =>
      new Promise<void>((resolve) => {
        started.push(dir);
        pending.push(resolve);
      }),
    finish: () => pending.shift()?.(),
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DirSyncer', () => {
  it('callers arriving during an fsync share the next one; each gets one that began after it asked', async () => {
    const m = manual();
    const ds = new DirSyncer(m.fsync);
    const done: number[] = [];
    const first = ds.sync('/d').then(() => done.push(1));
    await tick();
    expect(m.started).toEqual(['/d']);
    // Four more while the first runs: none may ride on it.
    const later = [2, 3, 4, 5].map((n) => ds.sync('/d').then(() => done.push(n)));
    await tick();
    expect(m.started).toEqual(['/d']);
    m.finish();
    await first;
    await tick();
    expect(done).toEqual([1]);
    expect(m.started).toEqual(['/d', '/d']); // one shared second fsync
    m.finish();
    await Promise.all(later);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
    // Idle again: the next caller starts at once.
    const again = ds.sync('/d');
    await tick();
    expect(m.started).toHaveLength(3);
    m.finish();
    await again;
  });

  it('directories do not wait for each other, and a failure reaches the callers sharing it', async () => {
    let calls = 0;
    const ds = new DirSyncer(async (dir) => {
      calls++;
      if (dir === '/bad') throw new Error('EIO');
    });
    await expect(ds.sync('/bad')).rejects.toThrow('EIO');
    await Promise.all([ds.sync('/a'), ds.sync('/b')]);
    expect(calls).toBe(3);
    // The real fsync on a real directory.
    const dir = mkdtempSync(join(tmpdir(), 'wraith-dirsync-'));
    try {
      await new DirSyncer().sync(dir);
      await fsyncDir(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
