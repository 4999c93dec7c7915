/**
 * Native for bulk data, wasm for small inputs: the native binding costs a few
 * µs per call whatever the size, which dominates 65-byte Merkle nodes, while
 * wasm is ~10× cheaper there but ~3× slower on large chunks. A streaming state
 * buffers (copies of) its first bytes and only opens a native hasher once they
 * exceed SMALL_INPUT.
 */
import type { Blake3, Blake3State } from '@wraith/core';

/** Below this many bytes wasm is faster than the native binding (measured crossover 8-16 KiB). */
export const SMALL_INPUT = 8 * 1024;

class HybridState implements Blake3State {
  private pieces: Uint8Array[] = [];
  private pendingLen = 0;
  private big: Blake3State | null = null;

  constructor(
    private readonly native: Blake3,
    private readonly wasm: Blake3,
  ) {}

  update(d: Uint8Array): Blake3State {
    if (this.big !== null) {
      this.big.update(d);
      return this;
    }
    if (this.pendingLen + d.length < SMALL_INPUT) {
      // Callers may reuse their buffer once update returns: keep a copy.
      this.pieces.push(d.slice());
      this.pendingLen += d.length;
      return this;
    }
    const big = this.native.create();
    for (const p of this.pieces) big.update(p);
    big.update(d);
    this.big = big;
    this.pieces = [];
    return this;
  }

  digest(): Uint8Array {
    if (this.big !== null) return this.big.digest();
    const all = new Uint8Array(this.pendingLen);
    let o = 0;
    for (const p of this.pieces) {
      all.set(p, o);
      o += p.length;
    }
    return this.wasm.hash(all);
  }
}

export function hybrid(native: Blake3, wasm: Blake3): Blake3 {
  return {
    name: 'native+wasm',
    hash: (data) => (data.length < SMALL_INPUT ? wasm.hash(data) : native.hash(data)),
    create: () => new HybridState(native, wasm),
  };
}
