/**
 * Datagrams the kernel dropped for one socket (receive buffer full, mostly):
 * the `drops` column of /proc/net/udp{,6}. node:dgram gives no
 * SO_RXQ_OVFL, and this is where a too-small receive buffer shows.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { SocketAddr } from '@wraith/core';

/** The kernel's text for a bound address: hex of each 32-bit word in host (little-endian) order. */
export function procNetAddr(a: SocketAddr): string {
  const bytes = isIP(a.host) === 4 ? v4Bytes(a.host) : v6Bytes(a.host);
  let out = '';
  for (let w = 0; w < bytes.length; w += 4) {
    for (let j = 3; j >= 0; j--) out += bytes[w + j]!.toString(16).padStart(2, '0');
  }
  return `${out.toUpperCase()}:${a.port.toString(16).toUpperCase().padStart(4, '0')}`;
}

function v4Bytes(host: string): number[] {
  return host.split('.').map(Number);
}

function v6Bytes(host: string): number[] {
  let text = host.split('%')[0]!; // drop a zone id ("fe80::1%eth0")
  if (text.includes('.')) {
    // An embedded IPv4 tail ("::ffff:1.2.3.4") is the last two groups.
    const cut = text.lastIndexOf(':') + 1;
    const b = v4Bytes(text.slice(cut));
    text = `${text.slice(0, cut)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  return out;
}

/**
 * Drops counted by the kernel for the socket bound to `local`, or undefined
 * when it is not found (another network namespace, /proc not mounted).
 */
export function readKernelDrops(local: SocketAddr): number | undefined {
  const file = isIP(local.host) === 4 ? '/proc/net/udp' : '/proc/net/udp6';
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  const want = procNetAddr(local);
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (cols[1] === want && cols.length >= 13) {
      const drops = Number(cols[cols.length - 1]);
      return Number.isFinite(drops) ? drops : undefined;
    }
  }
  return undefined;
}
