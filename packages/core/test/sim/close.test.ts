/**
 * Closing a session (PROTOCOL.md §4): the closing side sends CLOSE once and lingers up to
 * 3 × PTO; the peer answers with one CLOSE, and the closing side ends when that answer arrives,
 * about one RTT after it closed. Without the answer (lost) it still ends at 3 × PTO. Two sides
 * closing at once do not answer each other.
 */
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import type { Session, SessionEvent } from '../../src/session/index.js';
import { fastBlake3 } from './helpers.js';

/** 10 ms one way: RTT 20 ms. */
const RTT = 20_000;
const link: SimLinkConfig = { bandwidthBps: 100e6, delay: RTT / 2, queueBytes: 512 * 1024 };

type Closed = Extract<SessionEvent, { type: 'closed' }>;

function established(seed: number): { pair: SimPair; sid: number; sb: Session } {
  const pair = new SimPair({ seed, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  const sid = pair.connect();
  const ok = pair.runUntil(
    () => pair.a.events.some((e) => e.type === 'connected' && e.session === sid) && pair.b.events.some((e) => e.type === 'connected'),
    5e6,
  );
  expect(ok).toBe(true);
  const sb = pair.b.endpoint.listSessions()[0] as Session;
  return { pair, sid, sb };
}

const closedOf = (events: readonly SessionEvent[]): Closed[] => events.filter((e): e is Closed => e.type === 'closed');

describe('closing a session', () => {
  it('the peer answers CLOSE with one CLOSE; the closing side ends about one RTT later, long before 3 × PTO', () => {
    const { pair, sid } = established(7101);
    const t0 = pair.now;
    pair.a.endpoint.close(pair.now, sid, null, 'done');
    expect(pair.a.endpoint.sessionCount).toBe(1); // closing: lingers for the answer
    const gone = pair.runUntil(() => pair.a.endpoint.sessionCount === 0 && pair.b.endpoint.sessionCount === 0, t0 + 5e6);
    expect(gone).toBe(true);
    const took = pair.now - t0;
    expect(took).toBeGreaterThanOrEqual(RTT);
    expect(took).toBeLessThan(3 * RTT);
    // One 'closed' each: A's own (not by the peer), B's by the peer (a plain close reads E_PEER_CLOSED).
    expect(closedOf(pair.a.events)).toMatchObject([{ session: sid, code: null, byPeer: false }]);
    expect(closedOf(pair.b.events)).toMatchObject([{ code: 'E_PEER_CLOSED', reason: 'done', byPeer: true }]);
  });

  it('when the answer is lost, the closing side still ends, at 3 × PTO', () => {
    const { pair, sid } = established(7102);
    pair.ba.cfg.lossRate = 1;
    const t0 = pair.now;
    pair.a.endpoint.close(pair.now, sid, null, 'done');
    const gone = pair.runUntil(() => pair.a.endpoint.sessionCount === 0, t0 + 10e6);
    expect(gone).toBe(true);
    expect(pair.now - t0).toBeGreaterThan(3 * RTT);
  });

  it('both sides closing at once: each ends on the other CLOSE, and neither answers', () => {
    const { pair, sid, sb } = established(7103);
    const t0 = pair.now;
    pair.a.endpoint.close(pair.now, sid, null, 'a done');
    pair.b.endpoint.close(pair.now, sb.id, null, 'b done');
    const gone = pair.runUntil(() => pair.a.endpoint.sessionCount === 0 && pair.b.endpoint.sessionCount === 0, t0 + 5e6);
    expect(gone).toBe(true);
    expect(pair.now - t0).toBeLessThan(2 * RTT);
    expect(closedOf(pair.a.events)).toHaveLength(1);
    expect(closedOf(pair.b.events)).toHaveLength(1);
  });
});
