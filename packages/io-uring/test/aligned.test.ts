import { expect, it } from 'vitest';
import { uringNative } from '../src/native.js';
import { ALIGN, allocAligned, isAligned } from '../src/index.js';
import { describeNative } from './helpers.js';

describeNative('allocAligned', () => {
  const mod = (v: Uint8Array): number => uringNative!.bufferAddressMod(v, ALIGN);

  it('starts every buffer on a 4 KiB boundary, zeroed and of the size asked', () => {
    for (const size of [1, 4096, 4097, 262144, 1 << 20]) {
      const b = allocAligned(size);
      expect(b.length).toBe(size);
      expect(mod(b)).toBe(0);
      expect(isAligned(b)).toBe(true);
      expect(b.every((x) => x === 0)).toBe(true);
    }
  });

  it('knows which views of such a buffer are aligned, and knows nothing of other memory', () => {
    const b = allocAligned(3 * ALIGN);
    expect(isAligned(b.subarray(ALIGN))).toBe(true);
    expect(isAligned(b.subarray(2 * ALIGN, 2 * ALIGN + 10))).toBe(true);
    expect(isAligned(b.subarray(1))).toBe(false);
    expect(isAligned(b.subarray(ALIGN + 512))).toBe(false);
    const plain = new Uint8Array(ALIGN);
    expect(isAligned(plain)).toBe(false);
  });
}, false);
