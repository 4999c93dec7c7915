/**
 * Address strings as users write them ("127.0.0.1:9000", "[::]:0") and the
 * host forms the kernel hands back (IPv4-mapped IPv6 on dual-stack sockets).
 */
import { isIP } from 'node:net';
import { WraithError, type SocketAddr } from '@wraith/core';

/** Prefix the kernel puts on IPv4 sources received by a dual-stack IPv6 socket. */
const V4_MAPPED_PREFIX = '::ffff:';

/**
 * Parse "HOST:PORT" or "[IPV6]:PORT". HOST must be an IP literal (binding to a
 * name would hide which interface is used); PORT is 0..65535 (0: any free port).
 */
export function parseSocketAddr(text: string): SocketAddr {
  const bad = (why: string): WraithError =>
    new WraithError('E_ADDR_INVALID', `invalid address "${text}": ${why}`, { value: text });
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad('expected [IPv6]:PORT');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) throw bad(`"${host}" is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('expected HOST:PORT');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) throw bad('put an IPv6 address in brackets: [IPv6]:PORT');
    if (isIP(host) !== 4) throw bad(`"${host}" is not an IPv4 address`);
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(`port "${portText}" is not a number`);
  const port = Number(portText);
  if (port > 65535) throw bad(`port ${port} is above 65535`);
  return { host, port };
}

/** Validate a SocketAddr given as an object (same rules as the string form). */
export function checkSocketAddr(a: SocketAddr): SocketAddr {
  const shown = `${a.host}:${String(a.port)}`;
  if (isIP(a.host) === 0) {
    throw new WraithError('E_ADDR_INVALID', `invalid address ${shown}: "${a.host}" is not an IP address`, {
      host: a.host,
    });
  }
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
    throw new WraithError('E_ADDR_INVALID', `invalid address ${shown}: port is not an integer in 0..65535`, {
      port: a.port,
    });
  }
  return a;
}

/** "::ffff:1.2.3.4" -> "1.2.3.4"; every other host unchanged. */
export function unmapV4(host: string): string {
  return host.startsWith(V4_MAPPED_PREFIX) && host.includes('.') ? host.slice(V4_MAPPED_PREFIX.length) : host;
}

/** "1.2.3.4" -> "::ffff:1.2.3.4", the form an IPv6 socket sends IPv4 to. */
export function mapV4(host: string): string {
  return V4_MAPPED_PREFIX + host;
}
