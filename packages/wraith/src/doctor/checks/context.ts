/** What the checks share: the system, what was read once (kernel, caps, interface), options. */
import type { IpLink, KernelVersion } from '../parse.js';
import type { Sys } from '../sys.js';
import type { Check, CheckName, CheckStatus } from '../types.js';

export interface DoctorContext {
  readonly sys: Sys;
  readonly debug: boolean;
  readonly release: string;
  readonly kernel: KernelVersion | null;
  /** CapEff; null when /proc/self/status has none. */
  readonly caps: bigint | null;
  /** The interface to check, and how it was chosen; null when none could be. */
  readonly iface: string | null;
  readonly ifaceSource: 'flag' | 'default route' | null;
  /** The UDP address and port the node binds (an IP literal: `::` by default). */
  readonly host: string;
  readonly port: number;
  /** UMEM bytes the transport locks (for the memlock check). */
  readonly umemBytes: number;
}

export function check(name: CheckName, status: CheckStatus, found: string, extra: { remedy?: string; code?: string; debug?: string | null } = {}, debug = false): Check {
  return {
    name,
    status,
    found,
    ...(extra.remedy !== undefined ? { remedy: extra.remedy } : {}),
    ...(extra.code !== undefined ? { code: extra.code } : {}),
    ...(debug && extra.debug != null ? { debug: extra.debug } : {}),
  };
}

/** A `skipped` check: `needs` names the missing prerequisite. */
export function skipped(name: CheckName, needs: string): Check {
  return { name, status: 'skipped', found: `needs ${needs}` };
}
