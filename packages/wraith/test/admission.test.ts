// Admission's free-space reading: reused for a second for files that are small against it (less
// what our transfers wrote since), read again for anything that could come close.
import { describe, expect, it } from 'vitest';
import { Admission } from '../src/store/admission.js';

const GB = 1e9;

function setup(reuseMs: number): { a: Admission; reads: () => number; setFree: (n: number) => void; advance: (ms: number) => void } {
  let free = 100 * GB;
  let reads = 0;
  let t = 1_000_000;
  const a = new Admission('/x', { maxFileSize: null, maxTotalBytes: null, minFree: 1 * GB }, async () => {
    reads++;
    return free;
  }, reuseMs, () => t);
  return { a, reads: () => reads, setFree: (n) => (free = n), advance: (ms) => (t += ms) };
}

describe('admission free-space reading', () => {
  it('serves small files from one reading for reuseMs, then reads again', async () => {
    const s = setup(1000);
    for (let i = 0; i < 50; i++) await s.a.admit(`k${i}`, `f${i}`, 1000, 1000);
    expect(s.reads()).toBe(1);
    s.advance(1000);
    await s.a.admit('late', 'late', 1000, 1000);
    expect(s.reads()).toBe(2);
  });

  it('subtracts what was written since the reading, and reads again for a file that could come close', async () => {
    const s = setup(1000);
    await s.a.admit('a', 'a', 10 * GB, 10 * GB);
    s.a.consume('a', 10 * GB);
    s.a.release('a');
    // 100 GB read, 10 GB written since: 90 left; 40 GB is under half of it, so no new read...
    s.setFree(20 * GB); // ...even though another writer took space meanwhile (within the second)
    await s.a.admit('b', 'b', 40 * GB, 40 * GB);
    expect(s.reads()).toBe(1);
    // 50 GB more would leave under half: read again, and the truth refuses it.
    await expect(s.a.admit('c', 'c', 50 * GB, 50 * GB)).rejects.toMatchObject({ code: 'E_NO_SPACE' });
    expect(s.reads()).toBe(2);
  });

  it('with reuseMs 0 every admission reads', async () => {
    const s = setup(0);
    for (let i = 0; i < 5; i++) await s.a.admit(`k${i}`, `f${i}`, 1000, 1000);
    expect(s.reads()).toBe(5);
  });
});
