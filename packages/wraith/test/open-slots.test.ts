import { describe, expect, it } from 'vitest';
import { OpenSlots, openFilesLimit, slotsFor } from '../src/store/open-slots.js';

const LIMITS = (soft: string): string =>
  `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 524288               files\n`;

describe('open slots', () => {
  it('reads the soft open-files limit; unlimited or unreadable is Infinity', () => {
    expect(openFilesLimit(() => LIMITS('1024'))).toBe(1024);
    expect(openFilesLimit(() => LIMITS('unlimited'))).toBe(Infinity);
    expect(openFilesLimit(() => 'nothing here')).toBe(Infinity);
    expect(
      openFilesLimit(() => {
        throw new Error('no /proc');
      }),
    ).toBe(Infinity);
    expect(openFilesLimit()).toBeGreaterThan(0); // this process's own
  });

  it('leaves descriptors for the rest of the node, three per file, within bounds', () => {
    expect(slotsFor(1024)).toBe(256);
    expect(slotsFor(96)).toBe(16);
    expect(slotsFor(1_048_576)).toBe(8192);
    expect(slotsFor(Infinity)).toBe(8192);
  });

  it('hands slots to waiters first come, first served', async () => {
    const s = new OpenSlots(1);
    expect(s.acquire()).toBeNull();
    const got: number[] = [];
    const w1 = s.acquire()!.then(() => got.push(1));
    const w2 = s.acquire()!.then(() => got.push(2));
    expect(s.queued).toBe(2);
    s.release();
    await w1;
    expect(got).toEqual([1]);
    expect(s.inUse).toBe(1);
    s.release();
    await w2;
    s.release();
    expect(s.inUse).toBe(0);
    expect(s.acquire()).toBeNull();
  });
});
