/**
 * blake3-wasm (~2 GB/s, ~0.4 µs per small input). It must be initialised
 * asynchronously once (`load()`), so the sync loader can only use it after
 * initWasm() has resolved.
 *
 * Two limits of blake3-wasm 3.0.0 are worked around here: a single update()
 * of more than its 1 MiB scratch buffer hashes the wrong bytes, and a
 * one-shot hash of a large input can exhaust the fixed WebAssembly heap
 * (Aborted(OOM)). So large inputs are fed in slices of at most 1 MiB.
 */
import { createRequire } from 'node:module';
import type { Blake3, Blake3State } from '@wraith/core';

/** blake3-wasm's scratch size: updates up to this size are correct. */
const MAX_UPDATE = 1024 * 1024;
/** Up to this size a one-shot hash is used (it copies into wasm memory once). */
const ONE_SHOT_MAX = 256 * 1024;

interface WasmHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
  dispose(): void;
}
interface WasmModule {
  load(): Promise<void>;
  hash(data: Uint8Array): Uint8Array;
  createHash(): WasmHash;
}

const require = createRequire(import.meta.url);

let state: { ready: WasmModule } | { reason: string } | null = null;
let pending: Promise<void> | null = null;

class WasmState implements Blake3State {
  private readonly h: WasmHash;
  constructor(mod: WasmModule) {
    this.h = mod.createHash();
  }
  update(d: Uint8Array): Blake3State {
    for (let o = 0; o < d.length; o += MAX_UPDATE) this.h.update(d.subarray(o, Math.min(d.length, o + MAX_UPDATE)));
    return this;
  }
  digest(): Uint8Array {
    const out = this.h.digest();
    // Frees the hasher's wasm memory now rather than at garbage collection.
    this.h.dispose();
    return out;
  }
}

function wrap(mod: WasmModule): Blake3 {
  return {
    name: 'wasm',
    hash: (data) => (data.length <= ONE_SHOT_MAX ? mod.hash(data) : new WasmState(mod).update(data).digest()),
    create: () => new WasmState(mod),
  };
}

// Its Emscripten glue adds process handlers that rethrow: an uncaught error anywhere in the
// process then exits 7 (Node's code for a failing handler) instead of 1.
const PROCESS_HOOKS = ['uncaughtException', 'unhandledRejection'];
type Listener = (...args: unknown[]) => void;
const hooks = (ev: string): Listener[] => process.listeners(ev as 'exit') as Listener[];

/** Initialise blake3-wasm once; never rejects (a failure is kept as the reason). */
export function initWasm(): Promise<void> {
  pending ??= (async () => {
    const before = PROCESS_HOOKS.map((ev) => new Set(hooks(ev)));
    try {
      const mod = require('blake3-wasm') as WasmModule;
      await mod.load();
      state = { ready: mod };
    } catch (e) {
      state = { reason: `blake3-wasm does not load: ${(e as Error).message.split('\n')[0] ?? ''}` };
    } finally {
      PROCESS_HOOKS.forEach((ev, i) => {
        for (const l of hooks(ev)) if (!before[i]!.has(l)) process.removeListener(ev, l);
      });
    }
  })();
  return pending;
}

/** The wasm backend if initialised, or the reason it is not available. */
export function loadWasm(): { blake3: Blake3 } | { reason: string } {
  if (state === null) return { reason: 'blake3-wasm is not initialised: use loadBlake3Async()' };
  if ('reason' in state) return state;
  return { blake3: wrap(state.ready) };
}
