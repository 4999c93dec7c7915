/**
 * Buffers whose first byte lies on a 4 KiB boundary, for O_DIRECT writes. The address is known
 * only through the addon; without it buffers are ordinary and isAligned() says false.
 */
import { ALIGN } from './buffer-pool.js';
import { uringNative } from './native.js';

/** byteOffset of the 4 KiB boundary allocAligned started its view at, per ArrayBuffer. */
const boundary = new WeakMap<ArrayBufferLike, number>();

/** A zeroed buffer of `size` bytes, 4 KiB-aligned when the addon can tell addresses. */
export function allocAligned(size: number): Uint8Array {
  const addressMod = uringNative?.bufferAddressMod;
  if (addressMod === undefined) return new Uint8Array(size);
  const raw = new Uint8Array(size + ALIGN);
  const start = (ALIGN - addressMod(raw, ALIGN)) % ALIGN;
  boundary.set(raw.buffer, start);
  return raw.subarray(start, start + size);
}

/** Whether byte 0 of `view` is 4 KiB-aligned: known only for memory from allocAligned. */
export function isAligned(view: Uint8Array): boolean {
  const at = boundary.get(view.buffer);
  return at !== undefined && (view.byteOffset - at) % ALIGN === 0;
}
