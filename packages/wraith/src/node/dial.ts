/**
 * Which addresses a send dials, and dialling several at once. A peer given by host name is
 * looked up at every round of dials (its address may change while a send re-dials), and every
 * address the node's socket can reach is tried, Happy Eyeballs style (RFC 8305): the first at
 * once, each next one 250 ms later while none has answered; the first session up wins.
 * A host name whose first address is silent (`localhost` as ::1 on a daemon bound to 0.0.0.0)
 * no longer fails the send.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { WraithError, type SocketAddr } from '@wraith/core';

/** RFC 8305's Connection Attempt Delay. */
export const ATTEMPT_DELAY_MS = 250;

export type Lookup = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true });

/** Whether a socket bound to `local` can send to `host`: 0.0.0.0 reaches IPv4 only, [::] both. */
export function reaches(local: SocketAddr, host: string): boolean {
  const localV6 = isIP(local.host) === 6;
  const v6 = isIP(host) === 6;
  if (!localV6) return !v6;
  return v6 || local.host === '::';
}

/**
 * The addresses to dial for `addr`, families alternating (RFC 8305 §4), the resolver's first
 * first. An IP address is itself. Throws E_ADDR_INVALID when the name does not resolve (a
 * temporary failure: `retriable`) or resolves to no address the socket can reach.
 */
export async function peerAddresses(addr: SocketAddr, local: SocketAddr, lookup: Lookup = systemLookup): Promise<SocketAddr[]> {
  if (isIP(addr.host) !== 0) return [addr];
  let found: Array<{ address: string; family: number }>;
  try {
    found = await lookup(addr.host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const gone = code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EAI_NONAME';
    throw new WraithError('E_ADDR_INVALID', `cannot resolve ${addr.host}: ${(e as Error).message}`, { host: addr.host, retriable: !gone },
      gone ? 'check the host name (DNS, /etc/hosts), or give the IP address' : 'the name server did not answer; check the resolver (/etc/resolv.conf)');
  }
  const seen = new Set<string>();
  const usable: string[] = [];
  for (const f of found) {
    if (seen.has(f.address)) continue;
    seen.add(f.address);
    if (reaches(local, f.address)) usable.push(f.address);
  }
  if (usable.length === 0) {
    const all = [...seen].join(', ') || 'nothing';
    throw new WraithError('E_ADDR_INVALID', `${addr.host} resolves to ${all}, which this node's socket (${local.host}) cannot reach`, { host: addr.host },
      isIP(local.host) === 4 ? 'bind to [::]:PORT (network.listen_addr) to reach IPv6 peers, or give an IPv4 address' : 'give an address of the family the node is bound to');
  }
  const first = isIP(usable[0] as string);
  const same = usable.filter((h) => isIP(h) === first);
  const other = usable.filter((h) => isIP(h) !== first);
  const order: string[] = [];
  for (let i = 0; i < Math.max(same.length, other.length); i++) {
    if (i < same.length) order.push(same[i] as string);
    if (i < other.length) order.push(other[i] as string);
  }
  return order.map((host) => ({ host, port: addr.port }));
}

/** Thrown into the dials that lost: another address answered first. */
export class DialAbandoned extends Error {
  constructor() {
    super('another address of the peer answered first');
  }
}

/**
 * Dials `addrs` staggered by `delayMs`; resolves with the first session up and abandons the
 * rest (a late one that still comes up is closed). Rejects with the first address's error when
 * every dial failed, or E_CANCELLED when `signal` aborts.
 */
export function dialFirst(
  addrs: readonly SocketAddr[],
  dial: (addr: SocketAddr, signal: AbortSignal) => Promise<number>,
  abandon: (session: number) => void,
  signal: AbortSignal,
  delayMs = ATTEMPT_DELAY_MS,
): Promise<{ session: number; addr: SocketAddr }> {
  if (addrs.length === 1) return dial(addrs[0] as SocketAddr, signal).then((session) => ({ session, addr: addrs[0] as SocketAddr }));
  return new Promise((resolve, reject) => {
    const controllers: AbortController[] = [];
    const errors: Array<unknown> = new Array(addrs.length);
    let failed = 0;
    let won = false;
    let timer: NodeJS.Timeout | null = null;
    const settle = (): void => {
      if (timer !== null) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      // Each dial sees the abort through its own signal and rejects with E_CANCELLED.
      for (const c of controllers) c.abort(signal.reason);
    };
    const start = (i: number): void => {
      timer = null;
      if (signal.aborted) return; // the dials under way reject with E_CANCELLED
      const addr = addrs[i] as SocketAddr;
      const ac = new AbortController();
      controllers.push(ac);
      dial(addr, ac.signal).then(
        (session) => {
          if (won) return abandon(session);
          won = true;
          settle();
          for (const c of controllers) if (c !== ac) c.abort(new DialAbandoned());
          resolve({ session, addr });
        },
        (e) => {
          if (won) return;
          errors[i] = e;
          failed++;
          if (signal.aborted) {
            settle();
            return reject(e);
          }
          // A failure starts the next address at once rather than after the delay.
          if (controllers.length < addrs.length) {
            if (timer !== null) clearTimeout(timer);
            start(controllers.length);
          } else if (failed === addrs.length) {
            settle();
            reject(errors.find((x) => x !== undefined));
          }
        },
      );
      if (controllers.length < addrs.length) timer = setTimeout(() => start(controllers.length), delayMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    start(0);
  });
}
