/**
 * stopPoll() and close() on a bound, polling AF_XDP socket in every order,
 * each called again before the poll handle finished closing. A second
 * uv_close on the same handle is a libuv assertion (the process aborts), so
 * each order runs in its own child inside a namespace with a veth; nothing
 * is attached to the veth and no traffic is sent.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadNativeXdp } from '@wraith/transport-xdp';
import { createVethPair, destroyAllNetns, type VethPair } from '../support/netns.js';
import { describeIf, needRoot, REPO_ROOT } from '../support/prereq.js';

const native = loadNativeXdp();

interface Seen {
  fdProp: number;
  fdOpen: boolean;
}
interface Report {
  fd: number;
  returns: Array<boolean | null>; // stopPoll() returns undefined: null in JSON
  sameTurn: Seen & { closeCbs: number };
  settled: Seen & { closeCbs: number };
  reopened: (Seen & { closeReturned: boolean }) | null;
  closeAgain: boolean;
  closeCbs: Array<Seen & { call: number }>;
}

describeIf(needRoot() ?? (native.xdp ? null : `native addon: ${native.reason}`), 'XskSocket stopPoll()/close() in any order', () => {
  let pair: VethPair;

  beforeAll(async () => {
    pair = await createVethPair();
  });

  afterAll(async () => {
    await pair?.destroy();
    await destroyAllNetns();
  });

  async function run(calls: string[]): Promise<Report> {
    const child = pair.a.spawnNode(join(REPO_ROOT, 'test/xdp/fixtures/poll-close.mjs'), [pair.ifA, ...calls]);
    const exit = await child.exited;
    expect({ exit, stderr: child.stderr }, calls.join(', ')).toEqual({ exit: { code: 0, signal: null }, stderr: '' });
    const r = child.messages.find((m) => Array.isArray(m['returns']));
    expect(r, calls.join(', ')).toBeDefined();
    return r as unknown as Report;
  }

  it('stopPoll() twice: one handle close, the socket stays open and can poll and close again', async () => {
    const r = await run(['stopPoll', 'stopPoll']);
    expect(r.returns).toEqual([null, null]);
    expect(r.sameTurn).toEqual({ fdProp: r.fd, fdOpen: true, closeCbs: 0 });
    expect(r.settled).toEqual({ fdProp: r.fd, fdOpen: true, closeCbs: 0 });
    expect(r.reopened).toEqual({ closeReturned: true, fdProp: -1, fdOpen: false });
    expect(r.closeAgain).toBe(false);
    expect(r.closeCbs).toEqual([{ call: 2, fdProp: -1, fdOpen: false }]);
  });

  // Each order that ends closed: which call returned what, and which call's cb ran (once).
  it.each<[string, string[], Array<boolean | null>, number]>([
    ['stopPoll() then close(cb): close waits for the handle stopPoll started closing, cb runs once', ['stopPoll', 'close'], [null, true], 1],
    ['close(cb) then stopPoll(): stopPoll does nothing, cb runs once', ['close', 'stopPoll'], [true, null], 0],
    ['close(cb) twice: the second returns false and its cb never runs', ['close', 'close'], [true, false], 0],
  ])('%s', async (_name, calls, returns, cbCall) => {
    const r = await run(calls);
    expect(r.returns).toEqual(returns);
    expect(r.sameTurn).toEqual({ fdProp: r.fd, fdOpen: true, closeCbs: 0 });
    expect(r.settled).toEqual({ fdProp: -1, fdOpen: false, closeCbs: 1 });
    expect(r.closeAgain).toBe(false);
    expect(r.closeCbs).toEqual([{ call: cbCall, fdProp: -1, fdOpen: false }]);
  });
});
