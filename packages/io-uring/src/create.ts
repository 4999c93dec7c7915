/** Picks the FileIo backend: io_uring when the addon loads and the probe passes, else fs. */
import { WraithError } from '@wraith/core';
import type { UringProbeResult } from '@wraith/native';
import { FsFileIo } from './fs-file-io.js';
import { nativeStatus, uringNative } from './native.js';
import { UringFileIo } from './uring-file-io.js';
import type { FileIo, FileIoOptions, Logger } from './types.js';

export type BackendPreference = 'auto' | 'io_uring' | 'fs';

export interface CreateOptions extends FileIoOptions {
  /** Replaces the kernel probe (tests of the selection logic). */
  probe?: () => UringProbeResult;
}

/** Whether io_uring can run here, and why not. */
export function probeIoUring(): { ok: boolean; code?: string; reason?: string } {
  const st = nativeStatus();
  if (!st.available || uringNative === null) {
    return { ok: false, code: 'E_NATIVE_UNAVAILABLE', reason: st.reason ?? 'native addon unavailable' };
  }
  const r = uringNative.uringProbe();
  return r.ok ? { ok: true } : { ok: false, code: r.code ?? 'E_IO_URING_UNAVAILABLE', reason: r.reason ?? 'io_uring probe failed' };
}

/**
 * 'io_uring' fails (E_NATIVE_UNAVAILABLE / E_IO_URING_UNAVAILABLE) when it
 * cannot run; 'auto' then falls back to fs and returns the reason.
 */
export async function createFileIo(
  pref: BackendPreference,
  log: Logger = () => {},
  opts: CreateOptions = {},
): Promise<{ io: FileIo; reason?: string }> {
  if (pref === 'fs') return { io: new FsFileIo(opts) };
  if (pref !== 'io_uring' && pref !== 'auto') {
    throw new WraithError('E_USAGE', `the io backend is 'auto', 'io_uring' or 'fs', not ${JSON.stringify(pref)}`);
  }
  let reason: string | undefined;
  let code: 'E_NATIVE_UNAVAILABLE' | 'E_IO_URING_UNAVAILABLE' = 'E_IO_URING_UNAVAILABLE';
  if (uringNative === null) {
    code = 'E_NATIVE_UNAVAILABLE';
    reason = nativeStatus().reason ?? 'native addon unavailable';
  } else {
    const probe = opts.probe ? opts.probe() : uringNative.uringProbe();
    if (probe.ok) {
      try {
        return { io: UringFileIo.create(uringNative, opts, log) };
      } catch (e) {
        if (pref === 'io_uring' || !(e instanceof WraithError)) throw e;
        reason = e.message;
      }
    } else {
      reason = probe.reason ?? 'io_uring probe failed';
    }
  }
  if (pref === 'io_uring') throw new WraithError(code, `io_uring requested but unavailable: ${reason}`, { reason });
  log(`io: using the fs backend: ${reason}`);
  return { io: new FsFileIo(opts), reason };
}
