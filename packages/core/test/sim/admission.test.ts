/**
 * A responder's endpoint decides whether a peer may in once the handshake completes (authorize,
 * max_sessions_per_peer). A refused peer never was a session: its responder emits 'closed' with
 * the refusal and no 'connected', and the initiator hears the refusal.
 */
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair } from '../../src/sim/index.js';
import type { SessionEvent } from '../../src/session/events.js';
import { fastBlake3 } from './helpers.js';

const link = { bandwidthBps: 100e6, delay: 5_000, queueBytes: 256 * 1024 };
const ofType = <T extends SessionEvent['type']>(evs: SessionEvent[], t: T) => evs.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === t);

describe('admission of a responder session', () => {
  it('an unauthorised peer: closed with E_PEER_NOT_AUTHORIZED, never connected', () => {
    let asked = 0;
    const pair = new SimPair({ seed: 31, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3, endpointB: { authorize: () => (asked++, false) } });
    pair.connect();
    expect(pair.runUntil(() => ofType(pair.a.events, 'closed').length > 0, 5e6)).toBe(true);
    expect(asked).toBe(1);
    expect(ofType(pair.b.events, 'connected')).toEqual([]);
    expect(ofType(pair.b.events, 'closed').map((e) => e.code)).toEqual(['E_PEER_NOT_AUTHORIZED']);
    expect(ofType(pair.a.events, 'closed').map((e) => [e.code, e.byPeer])).toEqual([['E_PEER_NOT_AUTHORIZED', true]]);
    expect(pair.b.endpoint.counters.handshakesCompleted).toBe(0);
  });

  it('one session over max_sessions_per_peer: refused without connected; the ones let in are announced', () => {
    const pair = new SimPair({ seed: 32, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3, endpointB: { maxSessionsPerPeer: 2 } });
    for (let i = 0; i < 3; i++) pair.connect();
    expect(pair.runUntil(() => ofType(pair.b.events, 'closed').length === 1 && ofType(pair.b.events, 'connected').length === 2, 5e6)).toBe(true);
    pair.runUntil(() => false, pair.now + 200_000);
    const refused = ofType(pair.b.events, 'closed')[0]!;
    expect(refused.code).toBe('E_TOO_MANY_SESSIONS');
    expect(ofType(pair.b.events, 'connected').map((e) => e.session)).not.toContain(refused.session);
    expect(ofType(pair.b.events, 'connected').every((e) => !e.initiator)).toBe(true);
  });
});
