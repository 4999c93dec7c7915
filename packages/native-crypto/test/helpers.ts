import { createRequire } from 'node:module';
import { ProtectBatch, SeededRng } from '@wraith/core';
import type { CryptoNative } from '@wraith/native';

export const HDR = 13;
export const KEY = new Uint8Array(32).map((_, i) => i * 3 + 1);

/** The raw binding (null when the addon or its crypto area is missing). */
export function rawCrypto(): CryptoNative | null {
  const mod = createRequire(import.meta.url)('@wraith/native') as { native: Record<string, unknown> | null };
  return (mod.native?.['crypto'] as CryptoNative | undefined) ?? null;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function unhex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(s)) throw new Error(`bad hex: ${s.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Nonce per docs/PROTOCOL.md §2.2, written independently of the code under test. */
export function nonceFor(pn: number | bigint): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(pn), true);
  return n;
}

/** Runs fn and returns the thrown WraithError's code; fails when nothing or something else is thrown. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { code?: unknown };
    if (err.name !== 'WraithError') throw new Error(`expected a WraithError, got ${err.name}: ${err.message}`);
    return String(err.code);
  }
  throw new Error('expected a WraithError, nothing was thrown');
}

/** Code of any thrown error (raw binding errors are plain Errors/TypeErrors with a code). */
export function rawCodeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    const c = (e as { code?: unknown }).code;
    if (typeof c !== 'string') throw new Error(`thrown error has no code: ${String(e)}`);
    return c;
  }
  throw new Error('expected an error, nothing was thrown');
}

export interface Layout {
  buf: Uint8Array;
  offsets: number[];
  lens: number[];
  pns: number[];
}

/** Packets with 13-byte headers at irregular offsets, each with room for its tag (random contents). */
export function layout(sizes: number[], firstPn: number, seed: number): Layout {
  const rng = new SeededRng(seed);
  const offsets: number[] = [];
  let off = rng.nextInt(7);
  for (const s of sizes) {
    offsets.push(off);
    off += HDR + s + 16 + rng.nextInt(5);
  }
  const buf = new Uint8Array(off);
  rng.fill(buf);
  return { buf, offsets, lens: sizes.slice(), pns: sizes.map((_, i) => firstPn + i * 3) };
}

export function cloneLayout(l: Layout): Layout {
  return { buf: l.buf.slice(), offsets: l.offsets.slice(), lens: l.lens.slice(), pns: l.pns.slice() };
}

/** Loads a layout into the batch; `sealed` adds the tag to each payload length. */
export function load(b: ProtectBatch, l: Layout, sealed: boolean): void {
  b.buf = l.buf;
  b.count = l.lens.length;
  l.lens.forEach((len, i) => {
    b.offsets[i] = l.offsets[i]!;
    b.headerLens[i] = HDR;
    b.payloadLens[i] = len + (sealed ? 16 : 0);
    b.pns[i] = l.pns[i]!;
    b.status[i] = 7; // must be overwritten by open
  });
}

/** Everything open/seal may change, for comparing two implementations. */
export function snapshot(b: ProtectBatch): { buf: string; payloadLens: number[]; status: number[] } {
  return {
    buf: hex(b.buf),
    payloadLens: Array.from(b.payloadLens.subarray(0, b.count)),
    status: Array.from(b.status.subarray(0, b.count)),
  };
}

export function copyBatch(src: ProtectBatch, buf: Uint8Array): ProtectBatch {
  const b = new ProtectBatch(src.capacity);
  b.buf = buf;
  b.count = src.count;
  b.offsets.set(src.offsets);
  b.headerLens.set(src.headerLens);
  b.payloadLens.set(src.payloadLens);
  b.pns.set(src.pns);
  b.status.set(src.status);
  return b;
}
