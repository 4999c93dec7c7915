import { afterEach, describe, expect, it } from 'vitest';
import { CORRUPT_SPAN, ImpairmentRelay, type RelayConfig } from '../support/relay.js';
import { datagram, Endpoint, until } from './endpoint.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function endpoint(host = '127.0.0.1'): Promise<Endpoint> {
  const e = await Endpoint.open(host);
  cleanup.push(() => e.close());
  return e;
}

/** A client, an upstream and a started relay between them. */
async function rig(config: Omit<RelayConfig, 'upstream'>, host = '127.0.0.1') {
  const client = await endpoint(host);
  const server = await endpoint(host);
  const relay = new ImpairmentRelay({ listen: { host, port: 0 }, ...config, upstream: server.addr });
  cleanup.push(() => relay.stop());
  const at = await relay.start();
  return { client, server, relay, at };
}

/** Seqs that reached `e`, in arrival order. */
const seqs = (e: Endpoint): number[] => e.got.map((g) => g.seq);

describe('impairment relay: plumbing', () => {
  it('forwards both ways, tracking the client address', async () => {
    const { client, server, relay, at } = await rig({});
    await client.send(at, 1);
    await until(() => server.got.length === 1, 'the datagram upstream');
    expect(relay.clientAddr).toEqual(client.addr);
    expect(server.got[0]!.from).toEqual(relay.upstreamSourceAddr);
    await server.send(relay.upstreamSourceAddr, 2);
    await until(() => client.got.length === 1, 'the reply');
    expect(client.got[0]!.from).toEqual(at);
    expect(seqs(client)).toEqual([2]);
    const c = relay.counters;
    expect([c.toUpstream.received, c.toUpstream.forwarded, c.toClient.received, c.toClient.forwarded]).toEqual([1, 1, 1, 1]);
    expect(c.toUpstream.bytesIn).toBe(100);
  });

  it('works over IPv6 loopback', async () => {
    const { client, server, relay, at } = await rig({}, '::1');
    await client.send(at, 5);
    await until(() => server.got.length === 1, 'the datagram upstream');
    await server.send(relay.upstreamSourceAddr, 6);
    await until(() => client.got.length === 1, 'the reply');
    expect(relay.clientAddr).toEqual(client.addr);
  });

  it('counts upstream datagrams that arrive before any client as noClient', async () => {
    const { server, relay } = await rig({});
    await server.send(relay.upstreamSourceAddr, 1);
    await until(() => relay.counters.toClient.noClient === 1, 'the noClient count');
  });

  it('applies settings per direction', async () => {
    const { client, server, relay, at } = await rig({ toClient: { loss: 1 } });
    await client.sendRange(at, 0, 10);
    await until(() => server.got.length === 10, '10 datagrams upstream');
    for (let s = 0; s < 10; s++) await server.send(relay.upstreamSourceAddr, s);
    await until(() => relay.counters.toClient.lost === 10, 'all replies lost');
    expect(client.got.length).toBe(0);
  });

  it('stops itself after its max lifetime', async () => {
    const { client, relay, at } = await rig({ maxLifetimeMs: 30 });
    expect(await relay.stopped).toBe('lifetime');
    expect(relay.listenAddr).toEqual(at);
    await client.send(at, 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(relay.counters.toUpstream.received).toBe(0);
  });

  it('rejects impossible settings naming them', () => {
    expect(() => new ImpairmentRelay({ upstream: '127.0.0.1:1', both: { loss: 1.5 } })).toThrow(/toUpstream\.loss/);
    expect(() => new ImpairmentRelay({ upstream: '127.0.0.1:1', toClient: { delayMs: -1 } })).toThrow(/toClient\.delayMs/);
    expect(() => new ImpairmentRelay({ upstream: 'example.org:1' })).toThrow(/example\.org/);
  });

  it('records datagrams in and out through the capture hook', async () => {
    const seen: { stage: string; dir: string; first: number }[] = [];
    const { client, server, at } = await rig({
      both: { corrupt: 1 },
      capture: (d) => seen.push({ stage: d.stage, dir: d.dir, first: d.bytes.readUInt32LE(0) }),
    });
    await client.send(at, 0);
    await until(() => server.got.length === 1, 'the datagram upstream');
    expect(seen.map((s) => `${s.stage}:${s.dir}`)).toEqual(['in:toUpstream', 'out:toUpstream']);
  });
});

describe('impairment relay: loss', () => {
  async function lostSeqs(seed: number, n: number, imp: RelayConfig['both']): Promise<number[]> {
    const { client, server, relay, at } = await rig({ seed, toUpstream: imp });
    await client.sendRange(at, 0, n);
    await until(() => relay.counters.toUpstream.received === n, `${n} datagrams at the relay`);
    await until(() => server.got.length === relay.counters.toUpstream.forwarded, 'the forwarded ones upstream');
    const arrived = new Set(seqs(server));
    return Array.from({ length: n }, (_, i) => i).filter((s) => !arrived.has(s));
  }

  it('loses about the configured fraction, replayably from the seed', async () => {
    const n = 2000;
    const lost = await lostSeqs(7, n, { loss: 0.1 });
    // Binomial(2000, 0.1): mean 200, sd 13.4; these bounds are 5 sd wide.
    expect(lost.length).toBeGreaterThan(133);
    expect(lost.length).toBeLessThan(267);
    expect(await lostSeqs(7, n, { loss: 0.1 })).toEqual(lost);
    expect(await lostSeqs(8, n, { loss: 0.1 })).not.toEqual(lost);
  });

  it('loses in bursts with Gilbert-Elliott', async () => {
    const n = 4000;
    const lost = await lostSeqs(3, n, { burst: { pEnterBad: 0.02, pLeaveBad: 0.25 } });
    // Stationary bad share 0.02 / 0.27 = 7.4 %; mean burst length 1 / 0.25 = 4.
    expect(lost.length / n).toBeGreaterThan(0.04);
    expect(lost.length / n).toBeLessThan(0.11);
    let runs = 0;
    for (let i = 0; i < lost.length; i++) if (i === 0 || lost[i - 1] !== lost[i]! - 1) runs++;
    const meanRun = lost.length / runs;
    // Independent loss at this rate would give runs of ~1.08.
    expect(meanRun).toBeGreaterThan(2.5);
    expect(meanRun).toBeLessThan(6);
  });
});

describe('impairment relay: delay, reordering, duplication, corruption', () => {
  it('delays each datagram by at least the configured delay', async () => {
    const { client, server, relay, at } = await rig({ toUpstream: { delayMs: 60 } });
    const sentAt: number[] = [];
    for (let s = 0; s < 5; s++) {
      sentAt.push(performance.now());
      await client.send(at, s);
    }
    await until(() => server.got.length === 5, '5 delayed datagrams');
    for (const g of server.got) {
      // Node timers may fire up to 1 ms early against performance.now().
      expect(g.atMs - sentAt[g.seq]!).toBeGreaterThanOrEqual(58);
    }
    expect(relay.counters.toUpstream.delayed).toBe(5);
  });

  it('reorders some datagrams and still delivers every one', async () => {
    const n = 300;
    const { client, server, relay, at } = await rig({ seed: 4, toUpstream: { reorder: 0.2, reorderExtraMs: 15 } });
    await client.sendRange(at, 0, n, 100, 10);
    await until(() => server.got.length === n, `${n} datagrams`);
    const order = seqs(server);
    let inversions = 0;
    for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]!) inversions++;
    expect(inversions).toBeGreaterThan(0);
    expect(new Set(order).size).toBe(n);
    const r = relay.counters.toUpstream.reordered;
    expect(r).toBeGreaterThan(30);
    expect(r).toBeLessThan(90);
  });

  it('duplicates about the configured fraction', async () => {
    const n = 400;
    const { client, server, relay, at } = await rig({ seed: 5, toUpstream: { duplicate: 0.25 } });
    await client.sendRange(at, 0, n);
    await until(() => relay.counters.toUpstream.received === n, `${n} datagrams at the relay`);
    const d = relay.counters.toUpstream.duplicated;
    await until(() => server.got.length === n + d, 'originals and duplicates');
    expect(d).toBeGreaterThan(60);
    expect(d).toBeLessThan(140);
    const times = new Map<number, number>();
    for (const s of seqs(server)) times.set(s, (times.get(s) ?? 0) + 1);
    expect([...times.values()].filter((k) => k === 2).length).toBe(d);
    expect(times.size).toBe(n);
  });

  it('corrupts exactly one byte among the first 50', async () => {
    const n = 50;
    const { client, server, relay, at } = await rig({ toUpstream: { corrupt: 1 } });
    // One at a time, so arrival order identifies each datagram even if its seq bytes changed.
    for (let s = 0; s < n; s++) {
      await client.send(at, s, 200);
      await until(() => server.got.length === s + 1, `datagram ${s}`);
    }
    server.got.forEach((g, s) => {
      const orig = datagram(s, 200);
      const diff: number[] = [];
      for (let i = 0; i < orig.length; i++) if (orig[i] !== g.bytes[i]) diff.push(i);
      expect(diff.length).toBe(1);
      expect(diff[0]).toBeLessThan(CORRUPT_SPAN);
    });
    expect(relay.counters.toUpstream.corrupted).toBe(n);
  });

  it('corrupts about the configured fraction', async () => {
    const n = 500;
    const { client, relay, at } = await rig({ seed: 6, toUpstream: { corrupt: 0.2 } });
    await client.sendRange(at, 0, n);
    await until(() => relay.counters.toUpstream.received === n, `${n} datagrams at the relay`);
    const c = relay.counters.toUpstream.corrupted;
    expect(c).toBeGreaterThan(60);
    expect(c).toBeLessThan(140);
  });
});

describe('impairment relay: NAT rebinding', () => {
  it('changes the source port upstream sees, and drops replies to the old one', async () => {
    const { client, server, relay, at } = await rig({});
    await client.send(at, 0);
    await until(() => server.got.length === 1, 'the first datagram');
    const before = server.got[0]!.from;
    await relay.rebind();
    await client.send(at, 1);
    await until(() => server.got.length === 2, 'the second datagram');
    const after = server.got[1]!.from;
    expect(after.port).not.toBe(before.port);
    expect(after).toEqual(relay.upstreamSourceAddr);
    expect(relay.counters.rebinds).toBe(1);
    await server.send(before, 10);
    await server.send(after, 11);
    await until(() => client.got.length === 1 && relay.counters.staleUpstream === 1, 'the reply to the new port');
    expect(seqs(client)).toEqual([11]);
  });

  it('rebinds on a timer', async () => {
    const { client, server, relay, at } = await rig({ rebindEveryMs: 40 });
    await until(() => relay.counters.rebinds >= 2, 'two timed rebinds');
    await client.send(at, 0);
    await until(() => server.got.length === 1, 'a datagram after rebinding');
    expect(server.got[0]!.from).toEqual(relay.upstreamSourceAddr);
  });
});

describe('impairment relay: blackhole', () => {
  it('drops everything during the on-period of its schedule', async () => {
    let t = 0;
    const { client, server, relay, at } = await rig({
      now: () => t,
      both: { blackhole: { onMs: 5000, offMs: 2000 } },
    });
    // The cycle starts passing for offMs, then drops for onMs.
    const phases = [
      { at: 1000, passes: true },
      { at: 2500, passes: false },
      { at: 6900, passes: false },
      { at: 7100, passes: true },
      { at: 9500, passes: false },
    ];
    let expected = 0;
    for (const [i, p] of phases.entries()) {
      t = p.at;
      await client.send(at, i);
      await until(() => relay.counters.toUpstream.received === i + 1, `datagram ${i} at the relay`);
      if (p.passes) expected++;
      await until(() => server.got.length === expected, `datagram ${i} passed or not`);
    }
    expect(seqs(server)).toEqual([0, 3]);
    expect(relay.counters.toUpstream.blackholed).toBe(3);
  });

  it('can start in the on-period, and be forced on or off by hand', async () => {
    let t = 0;
    const { client, server, relay, at } = await rig({
      now: () => t,
      toUpstream: { blackhole: { onMs: 100, offMs: 100, startOn: true } },
    });
    await client.send(at, 0);
    await until(() => relay.counters.toUpstream.blackholed === 1, 'the first datagram blackholed');
    relay.setBlackhole(false);
    await client.send(at, 1);
    await until(() => server.got.length === 1, 'the forced-open datagram');
    relay.setBlackhole(true);
    t = 150; // the schedule says pass; the override wins
    await client.send(at, 2);
    await until(() => relay.counters.toUpstream.blackholed === 2, 'the forced-closed datagram');
    relay.setBlackhole(undefined);
    await client.send(at, 3);
    await until(() => server.got.length === 2, 'back on schedule');
    expect(seqs(server)).toEqual([1, 3]);
  });
});

describe('impairment relay: rate limit', () => {
  it('admits only what the backlog holds, then releases it at the rate', async () => {
    let t = 0;
    const { client, server, relay, at } = await rig({
      now: () => t,
      toUpstream: { rateBytesPerSec: 100_000, rateQueueBytes: 10_000 },
    });
    // A frozen clock: 100 x 1000 B arrive at once; 10 ms of serialisation each.
    await client.sendRange(at, 0, 100, 1000, 100);
    await until(() => relay.counters.toUpstream.received === 100, '100 datagrams at the relay');
    expect(relay.counters.toUpstream.rateDropped).toBe(90);
    expect(server.got.length).toBe(0);
    t = 55; // 5 have finished serialising
    await until(() => server.got.length === 5, 'the first 5');
    t = 1000;
    await until(() => server.got.length === 10, 'the rest');
    expect(seqs(server)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('caps throughput on the real clock', async () => {
    const rate = 200_000;
    const { client, server, relay, at } = await rig({ toUpstream: { rateBytesPerSec: rate, rateQueueBytes: 20_000 } });
    const t0 = performance.now();
    await client.sendRange(at, 0, 200, 1000, 200);
    await until(() => relay.counters.toUpstream.received === 200, '200 datagrams at the relay');
    const admitted = 200 - relay.counters.toUpstream.rateDropped;
    // The backlog holds 20 datagrams; a few more drain while the burst arrives.
    expect(admitted).toBeGreaterThanOrEqual(20);
    expect(admitted).toBeLessThan(50);
    await until(() => server.got.length === admitted, 'the admitted ones');
    // Whatever the scheduling lag, the last one cannot leave before all were
    // serialised; timers fire at most ~1 ms early, hence the 5 % slack.
    const elapsedMs = server.got[admitted - 1]!.atMs - t0;
    const measured = (admitted * 1000 * 1000) / elapsedMs;
    expect(measured).toBeLessThan(rate * 1.05);
  });
});
