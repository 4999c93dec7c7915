/**
 * The check every backend passes before it is used. No runtime import of @wraith/core, so a
 * worker thread can load the native backend without the engine (see ./native-only.ts).
 */
import type { Blake3 } from '@wraith/core';

/**
 * Known answers (computed with @noble/hashes, the core reference; a test recomputes them) on
 * lengths that cross BLAKE3's 1 KiB chunk boundary and our 8 KiB hybrid threshold. Constants,
 * not the reference itself: hashing ~80 KB in JS cost every start-up ~20 ms.
 */
export const SELF_TEST: ReadonlyArray<readonly [number, string]> = [
  [3, 'c2343edb8fd0f4327103eb52d65fb0588b6c27d546908500b4e32a6f9c329ee8'],
  [65, '0bc6e22b399b318c710ae1829dd6f6cda4636ba4b001bf2a4542c52be2ea6865'],
  [1025, 'd430e3aeddbe0369dd2113e1268ad385aa98a5881298987b5f16de60fe33e57f'],
  [9000, '2b76569d98b91217abe69d82c9b93b0c62e31ea6dd9b157431d813381015db0d'],
  [70000, '2a25f0dd520277b9811a8ad4b2dda1b51bcf435a63fba04ba5133298b4841d2a'],
];

/** One period (256 bytes) of the self-test pattern: byte i is (7i + 1) mod 256. */
const PERIOD = Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + 1) & 255);

/** The self-test input of `len` bytes (filled natively: a JS loop cost each start-up ~8 ms). */
export function selfTestInput(len: number): Uint8Array {
  return Buffer.alloc(len).fill(PERIOD);
}

/** A backend gives the known answers, one-shot and streamed in two parts, or it is not used. */
export function selfTest(b: Blake3): string | null {
  for (const [len, want] of SELF_TEST) {
    const data = selfTestInput(len);
    const got = Buffer.from(b.hash(data)).toString('hex');
    const stream = Buffer.from(b.create().update(data.subarray(0, len >> 1)).update(data.subarray(len >> 1)).digest()).toString('hex');
    if (got !== want || stream !== want) return `self-test failed on ${len} bytes`;
  }
  return null;
}

