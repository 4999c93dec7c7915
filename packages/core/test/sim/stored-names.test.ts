/**
 * DONE status 2 (PROTOCOL.md §7): a receiver that installs a file under another name than the
 * offered one (on_conflict = "rename") tells a sender that announced stored_names; a sender
 * that did not (an older build) gets the plain "installed" status.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeBackend } from '../../src/crypto/index.js';
import { SimPair } from '../../src/sim/index.js';
import type { SessionEvent } from '../../src/session/events.js';
import { fastBlake3, senderWithout } from './helpers.js';

const link = { bandwidthBps: 100e6, delay: 5_000, queueBytes: 512 * 1024 };

function sendOne(): Extract<SessionEvent, { type: 'transfer_complete' }>[] {
  const pair = new SimPair({ seed: 7707, ab: { ...link }, ba: { ...link }, backend: nodeBackend, hasher: fastBlake3 });
  pair.b.storedName = (name) => (name === 'f.bin' ? 'f (1).bin' : undefined);
  const sid = pair.connect();
  expect(pair.runUntil(() => pair.a.events.some((e) => e.type === 'connected'), 2e6)).toBe(true);
  const data = new Uint8Array(100_000).map((_, i) => (i * 13) & 0xff);
  pair.send(sid, 'f.bin', data, 16 * 1024);
  pair.send(sid, 'g.bin', data.subarray(0, 5000), 16 * 1024);
  const done = () => pair.a.events.filter((e): e is Extract<SessionEvent, { type: 'transfer_complete' }> => e.type === 'transfer_complete');
  expect(pair.runUntil(() => done().length === 2, pair.now + 5e6)).toBe(true);
  expect(pair.b.received.get('f.bin')).toEqual(data);
  return done();
}

describe('stored names', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the sender learns the name the receiver stored a file under, and nothing for a file stored under its own', () => {
    const done = sendOne();
    expect(done.map((e) => [e.status, e.storedAs])).toEqual(expect.arrayContaining([['verified', 'f (1).bin'], ['verified', undefined]]));
  });

  it('a sender that did not announce stored_names gets the plain installed status', () => {
    senderWithout('storedNames');
    const done = sendOne();
    expect(done.map((e) => [e.status, e.storedAs])).toEqual([['verified', undefined], ['verified', undefined]]);
  });
});
