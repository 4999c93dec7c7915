/**
 * The UDP part of @wraith/native, typed (the types live with the addon, in
 * native/index.d.ts, UDP section), or the reason it cannot be used.
 */
import { createRequire } from 'node:module';
import type { UdpNative } from '@wraith/native';

export type {
  UdpNative,
  UdpPollOptions,
  UdpSocketInfo,
  UdpSocketInstance,
  UdpSocketOptions,
} from '@wraith/native';

const require = createRequire(import.meta.url);

let cached: { udp: UdpNative | null; reason: string | null } | undefined;

/**
 * The native UDP binding, or null with why: WRAITH_NO_NATIVE=1, the addon not
 * built or not loadable, or built without the UDP area. Loaded once.
 */
export function loadNativeUdp(): { udp: UdpNative | null; reason: string | null } {
  if (cached !== undefined) return cached;
  if (process.env['WRAITH_NO_NATIVE'] === '1') {
    cached = { udp: null, reason: 'disabled by WRAITH_NO_NATIVE=1' };
    return cached;
  }
  try {
    const mod = require('@wraith/native') as { native: Record<string, unknown> | null; loadError: string | null };
    const udp = (mod.native?.['udp'] as UdpNative | undefined) ?? null;
    cached = {
      udp,
      reason: udp !== null ? null : (mod.loadError ?? 'the native addon was built without the UDP area'),
    };
  } catch (e) {
    cached = { udp: null, reason: `@wraith/native does not load: ${(e as Error).message}` };
  }
  return cached;
}
