/**
 * The daemon's socket. "[::]:PORT" (the default listen_addr) serves IPv4 and IPv6 on one
 * socket. A host booted with IPv6 off (ipv6.disable=1) cannot open any IPv6 socket: there the
 * node listens on 0.0.0.0:PORT, IPv4 only, and says so, rather than refusing to start.
 */
import { WraithError } from '@wraith/core';
import { formatAddr, parseAddr } from '../peer.js';

export async function startListening<T>(
  bind: string,
  start: (bind: string) => Promise<T>,
  warn: (fields: object, msg: string) => void,
): Promise<T> {
  try {
    return await start(bind);
  } catch (e) {
    const addr = parseAddr(bind, { allowPortZero: true });
    if (addr.host !== '::' || !(e instanceof WraithError) || e.details?.['errno'] !== 'EAFNOSUPPORT') throw e;
    const v4 = formatAddr({ host: '0.0.0.0', port: addr.port });
    warn({ listen: bind, err: e.message }, `IPv6 is not available on this host: listening on ${v4}, IPv4 only`);
    return start(v4);
  }
}
