import { mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { itIf } from '../../../test/support/prereq.js';
import type { Stats } from '../src/stats.js';
import { data, makeStore, offer, ready } from './store-helpers.js';

const TMPFS_MAGIC = 0x01021994;
const isTmpfs = (dir: string): boolean => {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
};

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Receives one file (written, progress saved, completed) and returns the fsyncs the store counted. */
async function fsyncsFor(base: string): Promise<number> {
  let fsyncs = 0;
  const stats = { fileIo: (op: string) => void (op === 'fsync' && fsyncs++) } as unknown as Stats;
  const { store, dir } = await makeStore({ downloadDir: join(base, 'incoming'), stats });
  const content = data(40_000);
  const file = await ready(store, offer('f.bin', content));
  await file.write(content, 0);
  await file.saveProgress([[0, 1]]);
  await file.complete();
  expect(readFileSync(join(dir, 'f.bin')).equals(content)).toBe(true);
  return fsyncs;
}

describe('fsync and memory file systems', () => {
  itIf(isTmpfs('/dev/shm') ? null : '/dev/shm is not a tmpfs', 'a download directory on tmpfs takes no fsync', async () => {
    const base = mkdtempSync('/dev/shm/wraith-test-');
    made.push(base);
    expect(await fsyncsFor(base)).toBe(0);
  });

  itIf(isTmpfs(tmpdir()) ? `${tmpdir()} is a tmpfs` : null, 'a download directory on a disk is synced (progress and completion)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'wraith-test-'));
    made.push(base);
    expect(await fsyncsFor(base)).toBe(2);
  });
});
