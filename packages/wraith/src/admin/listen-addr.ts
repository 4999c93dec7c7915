/**
 * `[admin] listen`: "HOST:PORT", "[v6]:PORT" or "off". HOST is an IP literal or "localhost";
 * loopback means 127.0.0.0/8, ::1 or localhost.
 */
import { isIP } from 'node:net';
import { WraithError } from '@wraith/core';

export interface ListenAddr {
  /** Without brackets. */
  readonly host: string;
  readonly port: number;
  readonly loopback: boolean;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** null for "off". */
export function parseAdminListen(value: string): ListenAddr | null {
  const v = value.trim();
  if (v === 'off') return null;
  const bad = (why: string): WraithError =>
    new WraithError('E_CONFIG', `admin.listen = ${JSON.stringify(value)}: ${why}`, { key: 'admin.listen', value },
      'set admin.listen to "127.0.0.1:40080", "[::1]:40080", "127.0.0.1:0" (any free port) or "off"');
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v) ?? /^([^:[\]]+):(\d{1,5})$/.exec(v);
  if (m === null) throw bad('expected HOST:PORT, [IPv6]:PORT or "off"');
  const host = m[1]!;
  const port = Number(m[2]);
  if (port > 65535) throw bad(`port ${port} is out of range`);
  if (host.toLowerCase() !== 'localhost' && isIP(host) === 0) throw bad(`${host} is not an IP address or "localhost"`);
  if (isIP(host) === 6 && !v.startsWith('[')) throw bad('write IPv6 addresses in brackets');
  return { host, port, loopback: isLoopbackHost(host) };
}

/** "host:port" as a URL authority (IPv6 in brackets). */
export function authority(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A Host value with a port ("name:80", "[::1]:80") is kept; a bare name gets `port`. */
function withPort(name: string, port: number): string {
  if (/^\[[^\]]+\]:\d+$/.test(name) || /^[^:[\]]+:\d+$/.test(name)) return name;
  return authority(name.replace(/^\[|\]$/g, ''), port);
}

/** The Host header values a client may use for a server bound to `addr` on `port`. */
export function hostNames(addr: ListenAddr, port: number, extra: readonly string[] = []): string[] {
  const names = new Set<string>([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, authority(addr.host, port)]);
  for (const name of extra) names.add(withPort(name, port).toLowerCase());
  return [...names];
}
