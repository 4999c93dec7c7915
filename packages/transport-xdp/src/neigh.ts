/**
 * Next-hop MAC addresses for AF_XDP TX, from the kernel's routing and
 * neighbour tables. First version: it runs `ip -j route get` and
 * `ip -j neigh show` (iproute2) off the hot path; a netlink implementation in
 * native code can replace runIp() without changing the cache.
 *
 * A peer whose next hop is not resolved yet is sent to through the kernel
 * UDP socket, which makes the kernel resolve it (ARP / neighbour discovery);
 * the cache polls the neighbour table with backoff until the MAC appears.
 */
import { execFile } from 'node:child_process';

export interface Route {
  dev: string;
  gateway: string | null;
  prefsrc: string | null;
}

export interface Neighbour {
  mac: string;
  state: string[];
}

export type IpRunner = (args: string[]) => Promise<string>;

/** Runs `ip` with a short timeout and returns stdout. */
export const runIp: IpRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 2000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });

export async function routeGet(dst: string, ip: IpRunner = runIp): Promise<Route | null> {
  let out: string;
  try {
    out = await ip(['-j', 'route', 'get', dst]);
  } catch {
    return null; // unreachable, no route
  }
  const r = (JSON.parse(out) as Array<{ dev?: string; gateway?: string; prefsrc?: string }>)[0];
  if (!r?.dev) return null;
  return { dev: r.dev, gateway: r.gateway ?? null, prefsrc: r.prefsrc ?? null };
}

export async function neighGet(addr: string, dev: string, ip: IpRunner = runIp): Promise<Neighbour | null> {
  const out = await ip(['-j', 'neigh', 'show', 'to', addr, 'dev', dev]);
  const list = JSON.parse(out || '[]') as Array<{ dst?: string; lladdr?: string; state?: string[] }>;
  const n = list.find((e) => e.lladdr);
  if (!n?.lladdr) return null;
  const state = n.state ?? [];
  if (state.includes('FAILED') || state.includes('INCOMPLETE')) return null;
  return { mac: n.lladdr, state };
}

/** Local IPv4 and IPv6 addresses of an interface (global scope first). */
export async function interfaceAddrs(dev: string, ip: IpRunner = runIp): Promise<{ v4: string[]; v6: string[] }> {
  const out = await ip(['-j', 'addr', 'show', 'dev', dev]);
  const info = (JSON.parse(out) as Array<{ addr_info?: Array<{ family: string; local: string; scope: string }> }>)[0];
  const v4: string[] = [];
  const v6: string[] = [];
  for (const a of info?.addr_info ?? []) {
    if (a.family === 'inet') v4.push(a.local);
    else if (a.family === 'inet6' && a.scope !== 'link') v6.push(a.local);
  }
  return { v4, v6 };
}

export type HopState =
  | { kind: 'resolving' }
  | { kind: 'ready'; mac: string; src: string }
  /** The route leaves through another interface: always the kernel socket. */
  | { kind: 'elsewhere'; dev: string }
  | { kind: 'unreachable' };

interface Entry {
  state: HopState;
  nextCheck: number;
  backoff: number;
  /** The lookup in flight, if any. */
  busy: Promise<void> | null;
}

const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 1000;
/** How often a resolved or routed-elsewhere entry is checked again. */
const REFRESH_MS = 30_000;

/**
 * Per destination IP: where to send it. get() never blocks: a miss starts a
 * background resolution and reports 'resolving' meanwhile.
 */
export class NextHopCache {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(
    private readonly dev: string,
    private readonly srcOverride: { v4: string | null; v6: string | null },
    private readonly onChange: (ip: string, state: HopState) => void,
    private readonly ip: IpRunner = runIp,
    private readonly now: () => number = Date.now,
  ) {}

  get(dst: string): HopState {
    let e = this.entries.get(dst);
    if (!e) {
      e = { state: { kind: 'resolving' }, nextCheck: 0, backoff: RETRY_MIN_MS, busy: null };
      this.entries.set(dst, e);
    }
    if (!e.busy && this.now() >= e.nextCheck) e.busy = this.resolve(dst, e);
    return e.state;
  }

  /** Looks up now, or waits for the lookup in flight; returns the resulting state. */
  async resolveNow(dst: string): Promise<HopState> {
    this.get(dst);
    const e = this.entries.get(dst)!;
    await (e.busy ?? (e.busy = this.resolve(dst, e)));
    return e.state;
  }

  close(): void {
    this.closed = true;
    this.entries.clear();
  }

  private async resolve(dst: string, e: Entry): Promise<void> {
    let next: HopState;
    try {
      next = await this.lookup(dst);
    } catch {
      next = { kind: 'resolving' };
    }
    e.busy = null;
    if (this.closed) return;
    const changed = JSON.stringify(next) !== JSON.stringify(e.state);
    e.state = next;
    if (next.kind === 'ready' || next.kind === 'elsewhere') {
      e.nextCheck = this.now() + REFRESH_MS;
      e.backoff = RETRY_MIN_MS;
    } else {
      e.nextCheck = this.now() + e.backoff;
      e.backoff = Math.min(e.backoff * 2, RETRY_MAX_MS);
    }
    if (changed) this.onChange(dst, next);
  }

  private async lookup(dst: string): Promise<HopState> {
    const r = await routeGet(dst, this.ip);
    if (!r) return { kind: 'unreachable' };
    if (r.dev !== this.dev) return { kind: 'elsewhere', dev: r.dev };
    const src = (dst.includes(':') ? this.srcOverride.v6 : this.srcOverride.v4) ?? r.prefsrc;
    if (!src) return { kind: 'unreachable' };
    const n = await neighGet(r.gateway ?? dst, this.dev, this.ip);
    if (!n) return { kind: 'resolving' };
    return { kind: 'ready', mac: n.mac, src };
  }
}
