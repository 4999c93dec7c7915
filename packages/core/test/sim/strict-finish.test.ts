/**
 * A FINISH without transport parameters (PROTOCOL.md §3), end to end: A dials B
 * but writes its FINISH with an empty payload. B refuses it: the handshake fails
 * with E_HANDSHAKE_NO_PARAMS, the FINISH is counted as a drop, B never reports
 * the session connected, and A's retransmitted copies are ordinary drops.
 */
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import type { SessionEvent } from '../../src/session/index.js';
import { fastBlake3 } from './helpers.js';

const link: SimLinkConfig = { bandwidthBps: 100e6, delay: 10_000, queueBytes: 512 * 1024 };

type Closed = Extract<SessionEvent, { type: 'closed' }>;
const closedOf = (events: readonly SessionEvent[]): Closed[] => events.filter((e): e is Closed => e.type === 'closed');

function dial(seed: number, bareFinish: boolean): { pair: SimPair; sid: number } {
  const pair = new SimPair({ seed, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  const sid = pair.connect();
  // The INITIATION is already written (with parameters); only what FINISH carries changes.
  if (bareFinish) pair.a.endpoint.session(sid).localParams = () => ({});
  return { pair, sid };
}

describe('a FINISH without transport parameters', () => {
  it('control: the same dial with parameters connects', () => {
    const { pair } = dial(8101, false);
    expect(pair.runUntil(() => pair.b.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
    expect(pair.b.endpoint.drops.get('finish_without_params')).toBe(0);
  });

  it('fails the handshake at the responder with E_HANDSHAKE_NO_PARAMS, counted once, never connected', () => {
    const { pair, sid } = dial(8102, true);
    const b = pair.b.endpoint;
    const failed = pair.runUntil(() => closedOf(pair.b.events).length > 0, 2e6);
    expect(failed).toBe(true);
    expect(closedOf(pair.b.events)).toMatchObject([{ code: 'E_HANDSHAKE_NO_PARAMS', byPeer: false }]);
    expect(b.drops.get('finish_without_params')).toBe(1);
    expect(b.drops.get('handshake_auth')).toBe(0);
    expect(b.counters.handshakesFailed).toBe(1);
    expect(b.counters.handshakesCompleted).toBe(0);

    // A thinks it is connected and offers a file; B has no session for it any more, so the
    // first protected packet draws a stateless reset, and A's FINISH copies are plain drops.
    expect(pair.a.events.some((e) => e.type === 'connected' && e.session === sid)).toBe(true);
    const t0 = pair.now;
    pair.send(sid, 'f', new Uint8Array(64 * 1024), 16 * 1024);
    const aEnded = pair.runUntil(() => closedOf(pair.a.events).length > 0, t0 + 2e6);
    pair.runUntil(() => false, pair.now + 2e6);
    console.log('A closed after', pair.now - t0, 'µs:', closedOf(pair.a.events), 'B drops', b.drops.snapshot());
    expect(aEnded).toBe(true);
    expect(closedOf(pair.a.events)).toMatchObject([{ session: sid, code: 'E_PEER_RESET' }]);
    expect(pair.a.events.some((e) => e.type === 'transfer_failed' && e.session === sid)).toBe(true);
    expect(b.drops.get('unexpected_handshake')).toBeGreaterThan(0);
    expect(pair.b.events.some((e) => e.type === 'connected')).toBe(false);
    expect(b.drops.get('finish_without_params')).toBe(1);
    expect(b.counters.handshakesFailed).toBe(1);
    expect(b.sessionCount).toBe(0);
  });
});
