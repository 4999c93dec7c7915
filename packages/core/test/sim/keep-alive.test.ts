/**
 * idle_timeout and keep-alive: a session closes after the lower of the two sides' idle
 * timeouts with nothing heard; a sender that holds it open (walking, hashing a big file before
 * its first offer) keeps it alive with pings, a third of that timeout apart at most.
 */
import { describe, expect, it } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair, type SimLinkConfig } from '../../src/sim/index.js';
import type { SessionEvent } from '../../src/session/index.js';
import { fastBlake3 } from './helpers.js';

const link: SimLinkConfig = { bandwidthBps: 100e6, delay: 5_000, queueBytes: 512 * 1024 };
type Closed = Extract<SessionEvent, { type: 'closed' }>;
const closedOf = (events: readonly SessionEvent[]): Closed[] => events.filter((e): e is Closed => e.type === 'closed');

/** A (initiator) idles out after 30 s, B after 3 s. */
function pair(seed: number): { p: SimPair; sid: number } {
  const p = new SimPair({
    seed,
    ab: { ...link },
    ba: { ...link },
    backend: nodeBackend,
    hasher: fastBlake3,
    endpointA: { session: { idleTimeout: 30e6 } },
    endpointB: { session: { idleTimeout: 3e6 } },
  });
  const sid = p.connect();
  expect(p.runUntil(() => p.a.events.some((e) => e.type === 'connected') && p.b.events.some((e) => e.type === 'connected'), 5e6)).toBe(true);
  return { p, sid };
}

describe('idle timeout and keep-alive', () => {
  it('nothing to send: both sides close at the lower idle timeout (3 s), A too though its own is 30 s', () => {
    const { p } = pair(8101);
    const t0 = p.now;
    expect(p.runUntil(() => closedOf(p.a.events).length > 0 && closedOf(p.b.events).length > 0, t0 + 10e6)).toBe(true);
    expect(closedOf(p.a.events)[0]!.code).toBe('E_IDLE_TIMEOUT');
    expect(closedOf(p.b.events)[0]!.code).toBe('E_IDLE_TIMEOUT');
    expect(p.now - t0).toBeLessThan(4e6);
  });

  it('held open by A: alive after 20 s of nothing to transfer; closes at the idle timeout once let go', () => {
    const { p, sid } = pair(8102);
    p.a.endpoint.holdOpen(sid, true);
    const t0 = p.now;
    p.runUntil(() => closedOf(p.a.events).length > 0 || closedOf(p.b.events).length > 0, t0 + 20e6);
    expect(closedOf(p.a.events)).toEqual([]);
    expect(closedOf(p.b.events)).toEqual([]);
    p.a.endpoint.holdOpen(sid, false);
    const t1 = p.now;
    expect(p.runUntil(() => closedOf(p.a.events).length > 0, t1 + 10e6)).toBe(true);
    expect(closedOf(p.a.events)[0]!.code).toBe('E_IDLE_TIMEOUT');
  });
});
