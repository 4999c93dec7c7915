/**
 * PacketProtection over the native addon's batched ChaCha20-Poly1305 (`native.crypto`,
 * native/src/crypto): one call per ProtectBatch, in place on the caller's buffer, with the
 * exact semantics of core's jsPacketProtection (docs/PROTOCOL.md §2.2).
 */
import { createRequire } from 'node:module';
import {
  AEAD_KEY_LEN,
  ERRORS,
  WraithError,
  jsPacketProtection,
  type CryptoBackend,
  type ErrorCode,
  type PacketKey,
  type PacketProtection,
  type ProtectBatch,
} from '@wraith/core';
import type { CryptoNative, NativePacketKeyHandle } from '@wraith/native';

/** What `require('@wraith/native')` gives: the raw addon or the reason it did not load. */
export interface NativeAddonModule {
  native: Record<string, unknown> | null;
  loadError: string | null;
}

export interface NativeProtectionStatus {
  available: boolean;
  /** Why native protection is unavailable; null when it is available. */
  reason: string | null;
  /** OpenSSL version the addon runs on, when the crypto area loaded. */
  openssl: string | null;
  /** 'direct' (OpenSSL's ChaCha20 and Poly1305 primitives) or 'evp', when available. */
  engine: 'direct' | 'evp' | null;
  /** Why the engine is not 'direct' (null when it is, or when unavailable). */
  engineReason: string | null;
}

export type PacketProtectionPreference = 'auto' | 'native' | 'js';

export const NATIVE_PROTECTION_NAME = 'native-openssl';

const CRYPTO_FUNCTIONS = ['createPacketKey', 'destroyPacketKey', 'sealBatch', 'openBatch'] as const;

/** Turns a native error (which carries a registry code) into a WraithError. */
function fromNative(e: unknown): unknown {
  if (e instanceof WraithError) return e;
  const err = e as { code?: unknown; message?: unknown; index?: unknown; end?: unknown; bufLen?: unknown } | null;
  const code = err?.code;
  if (typeof code !== 'string' || !Object.hasOwn(ERRORS, code)) return e;
  const details: Record<string, unknown> = {};
  for (const k of ['index', 'end', 'bufLen'] as const) {
    if (typeof err?.[k] === 'number') details[k] = err[k];
  }
  return new WraithError(code as ErrorCode, String(err?.message ?? code), details);
}

class NativePacketKey implements PacketKey {
  private handle: NativePacketKeyHandle | null;

  constructor(
    private readonly n: CryptoNative,
    key32: Uint8Array,
  ) {
    if (!(key32 instanceof Uint8Array) || key32.length !== AEAD_KEY_LEN) {
      throw new WraithError(
        'E_CRYPTO_KEY',
        `ChaCha20-Poly1305 key must be ${AEAD_KEY_LEN} bytes, got ${key32 instanceof Uint8Array ? key32.length : typeof key32}`,
        { what: 'ChaCha20-Poly1305 key', expected: AEAD_KEY_LEN },
      );
    }
    try {
      this.handle = n.createPacketKey(key32);
    } catch (e) {
      throw fromNative(e);
    }
  }

  seal(b: ProtectBatch): void {
    const h = this.live();
    try {
      if (b.tailSrcCount === 0) this.n.sealBatch(h, b.buf, b.count, b.offsets, b.headerLens, b.payloadLens, b.pns);
      else {
        this.n.sealBatch(h, b.buf, b.count, b.offsets, b.headerLens, b.payloadLens, b.pns,
          b.tailLens, b.tailOffs, b.tailIdx, b.tailSrcs, b.tailSrcCount);
      }
    } catch (e) {
      throw fromNative(e);
    }
  }

  open(b: ProtectBatch): void {
    const h = this.live();
    try {
      this.n.openBatch(h, b.buf, b.count, b.offsets, b.headerLens, b.payloadLens, b.pns, b.status);
    } catch (e) {
      throw fromNative(e);
    }
  }

  destroy(): void {
    if (this.handle !== null) this.n.destroyPacketKey(this.handle);
    this.handle = null;
  }

  private live(): NativePacketKeyHandle {
    if (this.handle === null) throw new WraithError('E_NOISE_STATE', 'PacketKey used after destroy()');
    return this.handle;
  }
}

// Known answer computed with node:crypto: key 00..1f, pn 2^32+7 (both nonce words), a
// 13-byte short header as AAD. Catches an addon linked against a broken or foreign OpenSSL.
const KAT_HEADER = [0x40, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0, 0, 0, 7];
const KAT_PLAINTEXT = 'wraith native-evp self-test';
const KAT_SEALED = 'abed91814150670289ebd37dc08b9852642aaec3ffe3e651661180df0490c9c8a76c452f488a2dd2504126';

function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Seals and opens the known answer through the raw binding; returns a failure or null. */
function selfTest(n: CryptoNative): string | null {
  const pt = new TextEncoder().encode(KAT_PLAINTEXT);
  const hl = KAT_HEADER.length;
  const buf = new Uint8Array(hl + pt.length + 16);
  buf.set(KAT_HEADER);
  buf.set(pt, hl);
  const offsets = new Uint32Array([0]);
  const headerLens = new Uint32Array([hl]);
  const payloadLens = new Uint32Array([pt.length]);
  const pns = new Float64Array([2 ** 32 + 7]);
  const status = new Uint8Array(1);
  const key = n.createPacketKey(Uint8Array.from({ length: 32 }, (_, i) => i));
  try {
    n.sealBatch(key, buf, 1, offsets, headerLens, payloadLens, pns);
    if (toHex(buf.subarray(hl)) !== KAT_SEALED || payloadLens[0] !== pt.length + 16) {
      return 'self-test: sealed bytes differ from the ChaCha20-Poly1305 known answer';
    }
    buf[hl + 3] = buf[hl + 3]! ^ 0x80;
    if (n.openBatch(key, buf, 1, offsets, headerLens, payloadLens, pns, status) !== 0 || status[0] !== 0) {
      return 'self-test: a tampered packet authenticated';
    }
    buf[hl + 3] = buf[hl + 3]! ^ 0x80;
    const opened = n.openBatch(key, buf, 1, offsets, headerLens, payloadLens, pns, status);
    if (opened !== 1 || status.at(0) !== 1 || new TextDecoder().decode(buf.subarray(hl, hl + payloadLens[0]!)) !== KAT_PLAINTEXT) {
      return 'self-test: the known answer did not open back to its plaintext';
    }
    return null;
  } finally {
    n.destroyPacketKey(key);
  }
}

/**
 * Native protection from a loaded addon module, or null with the reason. Exposed so tools
 * (`wraith doctor`) and tests can probe a given module; most callers want
 * nativePacketProtection().
 */
export function probeNativeProtection(mod: NativeAddonModule): {
  protection: PacketProtection | null;
  status: NativeProtectionStatus;
} {
  const unavailable = (reason: string, openssl: string | null = null) => ({
    protection: null,
    status: { available: false, reason, openssl, engine: null, engineReason: null },
  });
  if (mod.native === null) return unavailable(mod.loadError ?? 'the native addon did not load');
  const n = mod.native['crypto'] as CryptoNative | undefined;
  if (n === undefined || n === null || typeof n !== 'object') {
    return unavailable('the native addon was built without the crypto area (rebuild: cd native && node scripts/install.mjs)');
  }
  const missing = CRYPTO_FUNCTIONS.filter((f) => typeof n[f] !== 'function');
  if (missing.length > 0) return unavailable(`the native crypto area lacks ${missing.join(', ')} (stale build?)`);
  const openssl = typeof n.opensslVersion === 'string' ? n.opensslVersion : null;
  let failure: string | null;
  try {
    failure = selfTest(n);
  } catch (e) {
    failure = `self-test threw: ${(e as Error).message}`;
  }
  if (failure !== null) return unavailable(failure, openssl);
  // An addon older than the engine choice runs EVP.
  const engine = typeof n.aeadEngine === 'function' ? n.aeadEngine() : { engine: 'evp' as const, reason: 'the addon predates the direct engine' };
  return {
    protection: { name: NATIVE_PROTECTION_NAME, newKey: (key32) => new NativePacketKey(n, key32) },
    status: { available: true, reason: null, openssl, engine: engine.engine, engineReason: engine.reason },
  };
}

let cached: ReturnType<typeof probeNativeProtection> | undefined;

function load(): ReturnType<typeof probeNativeProtection> {
  if (cached !== undefined) return cached;
  let mod: NativeAddonModule;
  try {
    mod = createRequire(import.meta.url)('@wraith/native') as NativeAddonModule;
  } catch (e) {
    mod = { native: null, loadError: `@wraith/native does not load: ${(e as Error).message}` };
  }
  cached = probeNativeProtection(mod);
  return cached;
}

/** Batched native packet protection ('native-openssl'), or null when the addon or its crypto area is unavailable. */
export function nativePacketProtection(): PacketProtection | null {
  return load().protection;
}

/** Whether native protection is available, and why not. */
export function nativeProtectionStatus(): NativeProtectionStatus {
  return { ...load().status };
}

/**
 * Packet protection by preference: 'auto' is native when available, else JS over `backend`;
 * 'native' throws E_CRYPTO_BACKEND when it is unavailable; 'js' is always JS.
 */
export function bestPacketProtection(backend: CryptoBackend, pref: PacketProtectionPreference = 'auto'): PacketProtection {
  switch (pref) {
    case 'auto':
      return nativePacketProtection() ?? jsPacketProtection(backend);
    case 'native': {
      const p = nativePacketProtection();
      if (p === null) {
        const reason = nativeProtectionStatus().reason;
        throw new WraithError('E_CRYPTO_BACKEND', `native packet protection is unavailable: ${reason}`, { pref, reason });
      }
      return p;
    }
    case 'js':
      return jsPacketProtection(backend);
    default:
      throw new WraithError('E_CRYPTO_BACKEND', `unknown packet protection preference ${JSON.stringify(pref)}`, {
        pref: pref as unknown,
      });
  }
}
