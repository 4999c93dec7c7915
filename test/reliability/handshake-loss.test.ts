/**
 * 50 handshakes at once, each through its own seeded relay losing 30 % of
 * the datagrams in each direction, against a real daemon. The initiators are
 * engine Endpoints on real UDP sockets (one per relay); the daemon is the
 * built CLI. All 50 must be established on both ends within 30 s.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Scope } from '../support/procs.js';
import { EngineClient, adminDaemon, hostPort, median, relayFor, waitUntil } from '../support/hostile.js';

const scope = new Scope('reliability-handshakes');
afterAll(() => scope.dispose());

describe('handshakes under loss', () => {
  it('50 handshakes at once through relays losing 30 % each way all complete within 30 s', async () => {
    const N = 50;
    const LIMIT_MS = 30_000;
    const rx = await scope.home('rx');
    const { daemon, admin } = await adminDaemon(scope, { home: rx });
    const before = await admin.metrics();
    const relays = await Promise.all(
      Array.from({ length: N }, (_, i) => relayFor(scope, daemon.addr, { seed: 3000 + i, both: { loss: 0.3 } })),
    );
    // The initiators give up only after the test's own limit.
    const clients = await Promise.all(Array.from({ length: N }, () => EngineClient.open({ session: { handshakeTimeout: 60_000_000 } })));
    scope.defer(() => Promise.all(clients.map((c) => c.close())));

    const t0 = performance.now();
    const doneAt: Array<number | undefined> = Array.from({ length: N }, () => undefined);
    clients.forEach((c, i) => c.connect(relays[i]!.listenAddr, daemon.peerId));
    let daemonOpened = 0;
    await waitUntil(
      async () => {
        clients.forEach((c, i) => {
          if (doneAt[i] === undefined && c.events.some((e) => e.type === 'connected')) doneAt[i] = performance.now() - t0;
        });
        const failed = clients.flatMap((c) => c.events.filter((e) => e.type === 'closed'));
        if (failed.length > 0) throw new Error(`a handshake failed: ${JSON.stringify(failed[0])}`);
        if (doneAt.filter((d) => d !== undefined).length < N) return false;
        daemonOpened = (await admin.metrics()).get('wraith_sessions_opened_total') - before.get('wraith_sessions_opened_total');
        return daemonOpened >= N;
      },
      LIMIT_MS,
      `all ${N} handshakes established on both ends`,
      100,
    ).catch((e: Error) => {
      const pending = doneAt.map((d, i) => (d === undefined ? i : -1)).filter((i) => i >= 0);
      const detail = pending.map((i) => `#${i} relay seed ${3000 + i}: ${JSON.stringify(relays[i]!.counters.toUpstream)} / ${JSON.stringify(relays[i]!.counters.toClient)}`);
      console.log(`done at (ms): ${doneAt.map((d) => (d === undefined ? '-' : d.toFixed(0))).join(' ')}`);
      throw new Error(`${e.message}: initiators still waiting: [${pending.join(', ')}], daemon opened ${daemonOpened}\n${detail.join('\n')}`);
    });
    const allMs = performance.now() - t0;
    const times = doneAt as number[];
    const lost = relays.reduce((a, r) => a + r.counters.toUpstream.lost + r.counters.toClient.lost, 0);
    const passed = relays.reduce((a, r) => a + r.counters.toUpstream.received + r.counters.toClient.received, 0);
    console.log(
      `50 handshakes at 30 % loss: initiators done median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms; ` +
        `both ends (daemon sessions_opened ${daemonOpened}) by ${allMs.toFixed(0)} ms; relays dropped ${lost} of ${passed} datagrams ` +
        `(${((100 * lost) / passed).toFixed(1)} %); e.g. relay ${hostPort(relays[0]!.listenAddr)} seed 3000`,
    );
    expect(daemonOpened).toBe(N);
    expect(allMs).toBeLessThan(LIMIT_MS);
    expect(lost / passed).toBeGreaterThan(0.2); // the loss really was there
  });
});
