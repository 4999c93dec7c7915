import { describe, expect, it } from 'vitest';
import { NextHopCache, neighGet, routeGet, type HopState, type IpRunner } from '../src/neigh.js';

/** A fake `ip`: answers from tables the test edits; counts calls. */
function fakeIp() {
  const routes = new Map<string, object>();
  const neigh = new Map<string, object[]>();
  const calls: string[][] = [];
  const run: IpRunner = async (args) => {
    calls.push(args);
    if (args[1] === 'route') {
      const r = routes.get(args[3]!);
      if (!r) throw new Error('RTNETLINK answers: Network is unreachable');
      return JSON.stringify([r]);
    }
    if (args[1] === 'neigh') return JSON.stringify(neigh.get(args[4]!) ?? []);
    throw new Error(`unexpected ip ${args.join(' ')}`);
  };
  return { routes, neigh, calls, run };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('routeGet / neighGet', () => {
  it('parse iproute2 JSON and ignore unusable neighbour states', async () => {
    const ip = fakeIp();
    ip.routes.set('10.0.0.2', { dst: '10.0.0.2', dev: 'wa0', prefsrc: '10.0.0.1' });
    expect(await routeGet('10.0.0.2', ip.run)).toEqual({ dev: 'wa0', gateway: null, prefsrc: '10.0.0.1' });
    expect(await routeGet('192.0.2.1', ip.run)).toBeNull();
    ip.neigh.set('10.0.0.2', [{ dst: '10.0.0.2', lladdr: '02:00:00:00:00:02', state: ['STALE'] }]);
    expect(await neighGet('10.0.0.2', 'wa0', ip.run)).toEqual({ mac: '02:00:00:00:00:02', state: ['STALE'] });
    ip.neigh.set('10.0.0.3', [{ dst: '10.0.0.3', state: ['INCOMPLETE'] }]);
    expect(await neighGet('10.0.0.3', 'wa0', ip.run)).toBeNull();
    ip.neigh.set('10.0.0.4', [{ dst: '10.0.0.4', lladdr: '02:00:00:00:00:04', state: ['FAILED'] }]);
    expect(await neighGet('10.0.0.4', 'wa0', ip.run)).toBeNull();
  });
});

describe('NextHopCache', () => {
  it('reports resolving at first, then the neighbour MAC once the kernel has it', async () => {
    const ip = fakeIp();
    let now = 0;
    const changes: Array<[string, HopState]> = [];
    const c = new NextHopCache('wa0', { v4: null, v6: null }, (a, s) => changes.push([a, s]), ip.run, () => now);
    ip.routes.set('10.0.0.2', { dev: 'wa0', prefsrc: '10.0.0.1' });
    expect(c.get('10.0.0.2').kind).toBe('resolving');
    await flush();
    expect(c.get('10.0.0.2').kind).toBe('resolving'); // no neighbour entry yet; retry is not due
    ip.neigh.set('10.0.0.2', [{ lladdr: '02:00:00:00:00:02', state: ['REACHABLE'] }]);
    now += 10; // the first retry backoff
    c.get('10.0.0.2');
    await flush();
    expect(c.get('10.0.0.2')).toEqual({ kind: 'ready', mac: '02:00:00:00:00:02', src: '10.0.0.1' });
    expect(changes.map(([, s]) => s.kind)).toEqual(['ready']);
  });

  it('resolves the gateway for routed destinations and honours a fixed source', async () => {
    const ip = fakeIp();
    const c = new NextHopCache('wa0', { v4: '10.0.0.9', v6: null }, () => {}, ip.run, () => 0);
    ip.routes.set('192.0.2.7', { dev: 'wa0', gateway: '10.0.0.254', prefsrc: '10.0.0.1' });
    ip.neigh.set('10.0.0.254', [{ lladdr: '02:00:00:00:00:fe', state: ['STALE'] }]);
    expect(await c.resolveNow('192.0.2.7')).toEqual({ kind: 'ready', mac: '02:00:00:00:00:fe', src: '10.0.0.9' });
  });

  it('leaves destinations routed through another interface to the kernel', async () => {
    const ip = fakeIp();
    const c = new NextHopCache('wa0', { v4: null, v6: null }, () => {}, ip.run, () => 0);
    ip.routes.set('10.9.9.9', { dev: 'eth7', prefsrc: '10.9.9.1' });
    expect(await c.resolveNow('10.9.9.9')).toEqual({ kind: 'elsewhere', dev: 'eth7' });
    expect(await c.resolveNow('203.0.113.1')).toEqual({ kind: 'unreachable' });
  });

  it('backs off between lookups of an unresolved neighbour', async () => {
    const ip = fakeIp();
    let now = 0;
    const c = new NextHopCache('wa0', { v4: null, v6: null }, () => {}, ip.run, () => now);
    ip.routes.set('10.0.0.2', { dev: 'wa0', prefsrc: '10.0.0.1' });
    for (let i = 0; i < 100; i++) {
      c.get('10.0.0.2');
      await flush();
    }
    expect(ip.calls.filter((a) => a[1] === 'route').length).toBe(1); // clock did not move: no retry
    now += 10;
    c.get('10.0.0.2');
    await flush();
    now += 10; // next backoff is 20 ms: not yet
    c.get('10.0.0.2');
    await flush();
    expect(ip.calls.filter((a) => a[1] === 'route').length).toBe(2);
  });
});
