/**
 * A receiving node answers handshakes as soon as it is bound, before the daemon
 * has opened its store and set `incomingHandler`. A sender that re-dials at
 * once (a stateless reset from the restarted daemon, docs/PROTOCOL.md §3a)
 * can get its OFFER in during that window: those events are kept and handed to
 * the handler, in order, when it is set (they used to be dropped, and the
 * sender waited for an ACCEPT forever).
 *
 * White-box: the node's dispatch is driven directly, without sockets.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '@wraith/core';
import { WraithNode } from '../src/node/node.js';
import { Stats } from '../src/stats.js';

function bareNode(acceptIncoming: boolean): { node: WraithNode; dispatch: (e: SessionEvent) => void } {
  const node = Object.create(WraithNode.prototype) as WraithNode;
  Object.assign(node, {
    events: new EventEmitter(),
    log: pino({ level: 'silent' }),
    sessionWaiters: new Map(),
    sessionHandlers: new Map(),
    sessionPeers: new Map(),
    refused: new Map(),
    stillborn: new Set(),
    // Every session here is established (a refused one is the refusal test's business).
    endpoint: { hasSession: () => true, session: () => ({ established: true }) },
    incoming: null,
    early: [],
    closed: false,
    opts: { acceptIncoming, stats: new Stats() },
  });
  const dispatch = (node as unknown as { dispatch: (e: SessionEvent) => void }).dispatch.bind(node);
  return { node, dispatch };
}

const addr = { host: '127.0.0.1', port: 4000 };
const connected: SessionEvent = { type: 'connected', session: 1, peerId: 'ab'.repeat(32), addr, initiator: false };
const offer = {
  type: 'offer',
  session: 1,
  peerId: 'ab'.repeat(32),
  transferId: 0,
  manifest: { name: 'a.bin', kind: 'file', size: 1, chunkSize: 65536, mode: 0o644, mtimeMs: 0, root: new Uint8Array(32) },
} as SessionEvent;

describe('events of incoming sessions before the receiver is ready', () => {
  it('are kept and replayed in order when incomingHandler is set; later ones go straight through', () => {
    const { node, dispatch } = bareNode(true);
    dispatch(connected);
    dispatch(offer);
    const seen: string[] = [];
    node.incomingHandler = (e) => seen.push(`${e.type}:${e.session}`);
    expect(seen).toEqual(['connected:1', 'offer:1']);
    dispatch({ type: 'closed', session: 1, code: 'E_PEER_RESET', reason: 'stateless reset', byPeer: true });
    expect(seen).toEqual(['connected:1', 'offer:1', 'closed:1']);
    // Replayed once only.
    node.incomingHandler = (e) => seen.push(`again ${e.type}`);
    expect(seen).toHaveLength(3);
  });

  it('a node that takes no incoming sessions keeps nothing', () => {
    const { node, dispatch } = bareNode(false);
    dispatch(connected);
    const seen: string[] = [];
    node.incomingHandler = (e) => seen.push(e.type);
    expect(seen).toEqual([]);
  });

  it('events of a session with its own handler are never queued', () => {
    const { node, dispatch } = bareNode(true);
    const own: string[] = [];
    node.sessionHandlers.set(1, (e) => own.push(e.type));
    dispatch(connected);
    const seen: string[] = [];
    node.incomingHandler = (e) => seen.push(e.type);
    expect(own).toEqual(['connected']);
    expect(seen).toEqual([]);
  });
});
