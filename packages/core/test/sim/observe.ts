/**
 * Small helpers the adversarial sim tests share: what an outsider can see of a
 * session (public fields and metrics only), and draining an endpoint by hand
 * while the simulated clock stands still.
 */
import type { Endpoint } from '../../src/endpoint.js';
import type { Session } from '../../src/session/index.js';
import type { Instant } from '../../src/time.js';
import { DatagramBatch, addrKey, type SocketAddr } from '../../src/transport.js';

/**
 * The receive-side state of a session an attacker must not be able to move:
 * its life-cycle state, what it counted as received, its key phase (number of
 * key updates), its path, and the progress of each of its transfers (the held
 * chunk ranges a receiver would persist).
 */
export function snapshot(s: Session): string {
  const m = s.metrics();
  const transfers = s.transfers
    .openTransfers()
    .sort((x, y) => x - y)
    .map((id) => ({ id, progress: s.transfers.resumeState(id) }));
  return JSON.stringify({
    state: s.state.kind,
    packetsReceived: s.stats.packetsReceived,
    bytesReceived: s.stats.bytesReceived,
    keyUpdates: m.key_updates,
    path: addrKey(s.path.addr),
    pathValidated: s.path.validated,
    candidate: s.path.candidate ? addrKey(s.path.candidate.addr) : null,
    pathValidations: s.path.validations,
    transfers,
  });
}

export interface Sent {
  to: SocketAddr;
  bytes: Uint8Array;
}

const scratch = new DatagramBatch(64, 2048);

/** Everything `ep` wants to send at `now`, copied out. */
export function drain(ep: Endpoint, now: Instant): Sent[] {
  const out: Sent[] = [];
  for (;;) {
    scratch.clear();
    if (ep.pollTransmit(now, scratch) === 0) break;
    for (let i = 0; i < scratch.count; i++) out.push({ to: scratch.addrs[i] as SocketAddr, bytes: scratch.datagram(i).slice() });
  }
  return out;
}

/** Drain the endpoint's events; returns how many there were. */
export function drainEvents(ep: Endpoint): number {
  let n = 0;
  while (ep.pollEvent()) n++;
  return n;
}

export function hexKey(b: Uint8Array, n = b.length): string {
  let s = `${b.length}:`;
  for (let i = 0; i < Math.min(n, b.length); i++) s += (b[i] as number).toString(16).padStart(2, '0');
  return s;
}

/** Long-header packet type name from the first byte (PROTOCOL.md §2.1), or 'short'. */
export function packetKind(b: Uint8Array): string {
  const first = b[0] ?? 0;
  if ((first & 0x80) === 0) return 'short';
  const version = ((b[1] ?? 0) << 24) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 8) | (b[4] ?? 0);
  if (version === 0) return 'version_negotiation';
  return ['initiation', 'response', 'finish', 'cookie_reply', 'version_negotiation'][first & 0x0f] ?? 'long?';
}
