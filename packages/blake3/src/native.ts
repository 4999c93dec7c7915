/**
 * @c4312/blake3-native (node-gyp build, ~6 GB/s on large inputs). Its ESM
 * build imports without extensions and cannot load under Node's ESM loader,
 * so the CommonJS entry is required. Each call crosses into C++ and builds a
 * hasher object (a few µs): fast for chunks, slow for 65-byte Merkle nodes.
 */
import { createRequire } from 'node:module';
import type { Blake3, Blake3State } from '@wraith/core';

interface NativeHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}
interface NativeModule {
  createHash(): NativeHash;
}

const require = createRequire(import.meta.url);

class NativeState implements Blake3State {
  constructor(private readonly h: NativeHash) {}
  update(d: Uint8Array): Blake3State {
    this.h.update(d);
    return this;
  }
  digest(): Uint8Array {
    return this.h.digest();
  }
}

/**
 * The package's compiled binding itself: its createHash() gives the C hasher directly, where the
 * package wraps each one in a stream.Transform (~5 µs per hasher, one per chunk). Null when the
 * layout differs; the package entry is used then.
 */
function rawBinding(): NativeModule | null {
  try {
    const raw = require('@c4312/blake3-native/build/Release/blake3.node') as Partial<NativeModule>;
    return typeof raw.createHash === 'function' ? (raw as NativeModule) : null;
  } catch {
    return null;
  }
}

/** The native backend, or the reason it cannot load. */
export function loadNative(): { blake3: Blake3 } | { reason: string } {
  if (process.env.WRAITH_NO_NATIVE === '1') return { reason: 'disabled by WRAITH_NO_NATIVE=1' };
  let mod: NativeModule;
  try {
    mod = rawBinding() ?? (require('@c4312/blake3-native') as NativeModule);
  } catch (e) {
    return { reason: `@c4312/blake3-native does not load: ${(e as Error).message.split('\n')[0] ?? ''}` };
  }
  if (typeof mod.createHash !== 'function') return { reason: '@c4312/blake3-native has no createHash()' };
  const blake3: Blake3 = {
    name: 'native',
    hash: (data) => {
      const h = mod.createHash();
      h.update(data);
      return h.digest();
    },
    create: () => new NativeState(mod.createHash()),
  };
  return { blake3 };
}
