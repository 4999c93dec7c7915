/**
 * The node's side of a session's datagram size: the route asked again (narrower or wider), an
 * ICMP "packet too big", the engine's black hole and probe events; each is logged and counted
 * in wraith_datagram_size_changes_total by cause.
 *
 * White-box: the node's handlers are driven directly, with a fake endpoint and transport.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SessionEvent, SocketAddr } from '@wraith/core';
import { WraithNode } from '../src/node/node.js';
import { Stats } from '../src/stats.js';

const PEER = { host: '10.1.2.3', port: 40000 };

function bareNode(route: number, lowered: number[], raised: number[]) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  const stats = new Stats();
  const node = Object.create(WraithNode.prototype) as WraithNode;
  const calls: string[] = [];
  Object.assign(node, {
    log: pino({ level: 'info' }, sink),
    opts: { stats, acceptIncoming: false },
    sessionHandlers: new Map(),
    sessionPeers: new Map(),
    refused: new Map(),
    incoming: null,
    events: { emit: () => true },
    endpoint: {
      limitDatagramSize: (_a: SocketAddr, size: number) => (calls.push(`limit ${size}`), lowered),
      raiseDatagramSize: (_a: SocketAddr, size: number) => (calls.push(`raise ${size}`), raised),
    },
    driver: { run: () => undefined, transport: { pathDatagram: () => route } },
  });
  const priv = node as unknown as { narrowerPath(p: SocketAddr, cause: 'icmp' | 'route'): void; dispatch(e: SessionEvent): void };
  const count = (change: string) => stats.read('wraith_datagram_size_changes_total', { change });
  return { priv, calls, lines, count };
}

describe('datagram size changes at the node', () => {
  it('an ICMP "packet too big" narrows, and never widens', async () => {
    const n = bareNode(1252, [1, 2], []);
    n.priv.narrowerPath(PEER, 'icmp');
    expect(n.calls).toEqual(['limit 1252']);
    expect(await n.count('icmp_narrowed')).toBe(2);
    const quiet = bareNode(1472, [], [3]);
    quiet.priv.narrowerPath(PEER, 'icmp');
    expect(quiet.calls).toEqual(['limit 1472']); // an ICMP error never raises
    expect(await quiet.count('route_widened')).toBe(0);
  });

  it('the route asked again narrows, or else widens', async () => {
    const narrower = bareNode(1252, [4], []);
    narrower.priv.narrowerPath(PEER, 'route');
    expect(narrower.calls).toEqual(['limit 1252']);
    expect(await narrower.count('route_narrowed')).toBe(1);
    const wider = bareNode(1472, [], [4, 5]);
    wider.priv.narrowerPath(PEER, 'route');
    expect(wider.calls).toEqual(['limit 1472', 'raise 1472']);
    expect(await wider.count('route_widened')).toBe(2);
    expect(wider.lines.find((l) => l['msg'] === 'the route to the peer widened: datagrams grow with it')).toMatchObject({ path_datagram: 1472, sessions: [4, 5] });
    const same = bareNode(1472, [], []);
    same.priv.narrowerPath(PEER, 'route');
    expect(same.lines).toEqual([]);
  });

  it('a black hole is a warning, a probe that got through an info line; both counted', async () => {
    const n = bareNode(1472, [], []);
    n.priv.dispatch({ type: 'black_hole', session: 7, addr: PEER, from: 1452, to: 1200 });
    n.priv.dispatch({ type: 'pmtu_raised', session: 7, addr: PEER, from: 1200, to: 1452 });
    expect(await n.count('black_hole')).toBe(1);
    expect(await n.count('probe_raised')).toBe(1);
    expect(n.lines.map((l) => [l['level'], l['from'], l['to']])).toEqual([[40, 1452, 1200], [30, 1200, 1452]]);
    expect(String(n.lines[1]!['msg'])).toBe('a 1452-byte probe got through: sending 1452-byte datagrams again');
  });
});
