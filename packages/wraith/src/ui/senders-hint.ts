/** What a sender should dial when a receiver is bound to a wildcard address. */
import { networkInterfaces } from 'node:os';

/** An address of this host to show in an example: the first non-loopback IPv4, else a placeholder. */
function exampleHost(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '<host>';
}

/** 0.0.0.0 and [::] are not addresses a sender can use: the line that says what is, else null. */
export function sendersHint(peerId: string, addr: string): string | null {
  const wildcard = /^(0\.0\.0\.0|\[::\]):(\d+)$/.exec(addr);
  return wildcard === null ? null : `senders use ${peerId}@${exampleHost()}:${wildcard[2]} (any address of this host)`;
}
