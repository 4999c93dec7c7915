/**
 * The transport's ICMP errors at the node: a dial whose port refuses ends at once, and an
 * established session ends only after its peer's port has refused for REFUSED_FOR_MS with
 * nothing heard from the peer meanwhile, so that a forged ICMP message cannot end a session
 * whose peer still talks (RFC 5927).
 *
 * White-box: the node's ICMP handler is driven directly, with a fake endpoint and clock.
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SocketAddr } from '@wraith/core';
import { nowMicros } from '../src/node/driver.js';
import { REFUSED_FOR_MS, WraithNode } from '../src/node/node.js';

interface Fake {
  unreachable: (peer: SocketAddr, error: string) => void;
  closed: Array<{ id: number; code: string | null; reason: string }>;
  heard: Map<number, number>;
  node: WraithNode;
}

function bareNode(): Fake {
  const closed: Fake['closed'] = [];
  const heard = new Map<number, number>();
  const node = Object.create(WraithNode.prototype) as WraithNode;
  Object.assign(node, {
    log: pino({ level: 'silent' }),
    sessionWaiters: new Map(),
    sessionPeers: new Map(),
    refused: new Map(),
    endpoint: {
      lastHeard: (id: number) => heard.get(id) ?? null,
      close: (_now: number, id: number, code: string | null, reason: string) => {
        closed.push({ id, code, reason });
        heard.delete(id);
      },
    },
    driver: { run: () => undefined },
  });
  const unreachable = (node as unknown as { unreachable: Fake['unreachable'] }).unreachable.bind(node);
  return { unreachable, closed, heard, node };
}

const A = { host: '127.0.0.1', port: 40000 };
const B = { host: '127.0.0.1', port: 40001 };

// The node's clock (driver.ts nowMicros) reads node:perf_hooks.
let clockMs = 1000;
const advance = (ms: number): void => {
  clockMs += ms;
};
beforeEach(() => {
  vi.spyOn(performance, 'now').mockImplementation(() => clockMs);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('ICMP port unreachable at the node', () => {
  it('ends the dials to that address at once with E_PEER_UNREACHABLE; other addresses and other errors change nothing', () => {
    const f = bareNode();
    const waiters = (f.node as unknown as { sessionWaiters: Map<number, { addr: SocketAddr }> }).sessionWaiters;
    waiters.set(1, { addr: A }).set(2, { addr: B }).set(3, { addr: { host: '0:0::1', port: 7 } });
    f.unreachable(A, 'EHOSTUNREACH');
    expect(f.closed).toEqual([]);
    f.unreachable(A, 'ECONNREFUSED');
    expect(f.closed).toEqual([{ id: 1, code: 'E_PEER_UNREACHABLE', reason: 'nothing listens on UDP port 40000 at 127.0.0.1 (ICMP port unreachable)' }]);
    // IPv6 text in another form is the same address.
    f.unreachable({ host: '::1', port: 7 }, 'ECONNREFUSED');
    expect(f.closed.map((c) => c.id)).toEqual([1, 3]);
  });

  it('ends an established session once its port has refused for REFUSED_FOR_MS with the peer unheard', () => {
    const f = bareNode();
    f.node.sessionPeers.set(5, { peerId: 'ab'.repeat(32), addr: A, since: 0 });
    f.node.sessionPeers.set(6, { peerId: 'cd'.repeat(32), addr: B, since: 0 });
    f.heard.set(5, nowMicros());
    f.heard.set(6, nowMicros());
    advance(100);
    for (let t = 0; t < REFUSED_FOR_MS; t += 500) {
      f.unreachable(A, 'ECONNREFUSED');
      expect(f.closed).toEqual([]);
      advance(500);
    }
    f.unreachable(A, 'ECONNREFUSED');
    expect(f.closed).toEqual([{ id: 5, code: 'E_PEER_UNREACHABLE', reason: 'nothing listens on UDP port 40000 at 127.0.0.1 (ICMP port unreachable): the peer stopped' }]);
  });

  it('keeps a session whose peer is still heard, however long the refusals (a forged ICMP message)', () => {
    const f = bareNode();
    f.node.sessionPeers.set(5, { peerId: 'ab'.repeat(32), addr: A, since: 0 });
    for (let t = 0; t < 4 * REFUSED_FOR_MS; t += 500) {
      f.heard.set(5, nowMicros());
      advance(100);
      f.unreachable(A, 'ECONNREFUSED');
      advance(400);
    }
    expect(f.closed).toEqual([]);
  });
});
