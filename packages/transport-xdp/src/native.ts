/**
 * The AF_XDP part of @wraith/native, typed, and the conversion of its errors
 * (which carry code, syscall, errno and hint) into WraithError.
 */
import { createRequire } from 'node:module';
import { WraithError, type ErrorCode } from '@wraith/core';
import type { XdpNative, XdpQueryResult, XskSocketInstance } from '@wraith/native';

// The binding's types live with the addon (native/index.d.ts, AF_XDP section).
export type { XskInfo, XskSocketOptions } from '@wraith/native';
export type NativeXdp = XdpNative;
export type XskSocket = XskSocketInstance;
export type XdpQuery = XdpQueryResult;

const require = createRequire(import.meta.url);

let cached: { xdp: NativeXdp | null; reason: string | null } | undefined;

/** The native AF_XDP bindings, or null with the reason they are missing. */
export function loadNativeXdp(): { xdp: NativeXdp | null; reason: string | null } {
  if (cached) return cached;
  try {
    const mod = require('@wraith/native') as { native: Record<string, unknown> | null; loadError: string | null };
    const xdp = (mod.native?.['xdp'] as NativeXdp | undefined) ?? null;
    cached = { xdp, reason: xdp ? null : (mod.loadError ?? 'the native addon was built without the AF_XDP area') };
  } catch (e) {
    cached = { xdp: null, reason: `@wraith/native does not load: ${(e as Error).message}` };
  }
  return cached;
}

/** The bindings, or a WraithError E_XDP_UNAVAILABLE naming why not. */
export function nativeXdp(): NativeXdp {
  const { xdp, reason } = loadNativeXdp();
  if (!xdp) throw new WraithError('E_XDP_UNAVAILABLE', `AF_XDP needs the native addon: ${reason}`, { reason });
  return xdp;
}

/** The errno a native error carries, or undefined. */
export function errnoOf(e: unknown): number | undefined {
  const n = (e as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' ? n : undefined;
}

/** Wraps a native error as a WraithError, keeping syscall, errno and verifier log in details. */
export function toWraithError(e: unknown, fallback: ErrorCode = 'E_XDP_UNAVAILABLE', extra?: Record<string, unknown>): WraithError {
  if (e instanceof WraithError) return e;
  const err = e as { code?: unknown; message?: unknown; syscall?: unknown; errno?: unknown; hint?: unknown; verifierLog?: unknown };
  const code: ErrorCode = err?.code === 'E_XDP_BUSY' || err?.code === 'E_XDP_UNAVAILABLE' ? err.code : fallback;
  const details: Record<string, unknown> = { ...extra };
  if (typeof err?.syscall === 'string') details['syscall'] = err.syscall;
  if (typeof err?.errno === 'number') details['errno'] = err.errno;
  if (typeof err?.verifierLog === 'string') details['verifierLog'] = err.verifierLog;
  const hint = typeof err?.hint === 'string' && err.hint !== '' ? err.hint : undefined;
  return new WraithError(code, String(err?.message ?? e), details, hint);
}

export const ERRNO = { EPERM: 1, ENOENT: 2, EAGAIN: 11, ENOMEM: 12, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, EOPNOTSUPP: 95 } as const;
