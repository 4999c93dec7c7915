import { describe, expect, it } from 'vitest';
import { WraithError, type SocketAddr } from '@wraith/core';
import { DialAbandoned, dialFirst, peerAddresses, reaches, type Lookup } from '../src/node/dial.js';

const ANY4 = { host: '0.0.0.0', port: 0 };
const ANY6 = { host: '::', port: 0 };
const table = (list: string[]): Lookup => async () => list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const hosts = (a: SocketAddr[]): string[] => a.map((x) => x.host);

describe('peerAddresses', () => {
  it('an IP address is itself, with no lookup', async () => {
    const lookup: Lookup = async () => {
      throw new Error('looked up');
    };
    expect(await peerAddresses({ host: '10.1.2.3', port: 9 }, ANY4, lookup)).toEqual([{ host: '10.1.2.3', port: 9 }]);
  });

  it('every address of a name, duplicates once, families alternating from the first (RFC 8305)', async () => {
    const got = await peerAddresses({ host: 'h', port: 40000 }, ANY6, table(['::1', '2001:db8::2', '127.0.0.1', '::1', '10.0.0.2']));
    expect(hosts(got)).toEqual(['::1', '127.0.0.1', '2001:db8::2', '10.0.0.2']);
    expect(got.every((a) => a.port === 40000)).toBe(true);
  });

  it('an IPv4 socket dials only the IPv4 addresses; a name with only IPv6 ones is refused with a hint', async () => {
    expect(hosts(await peerAddresses({ host: 'h', port: 1 }, ANY4, table(['::1', '127.0.0.1'])))).toEqual(['127.0.0.1']);
    const e = await peerAddresses({ host: 'h6', port: 1 }, ANY4, table(['2001:db8::2'])).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WraithError);
    expect(e).toMatchObject({ code: 'E_ADDR_INVALID', message: "h6 resolves to 2001:db8::2, which this node's socket (0.0.0.0) cannot reach" });
    expect((e as WraithError).hint).toContain('[::]:PORT');
  });

  it('a name that does not exist is not retriable; a resolver that did not answer is', async () => {
    const fail = (code: string): Lookup => async () => {
      throw Object.assign(new Error(`getaddrinfo ${code} h`), { code });
    };
    await expect(peerAddresses({ host: 'h', port: 1 }, ANY4, fail('ENOTFOUND'))).rejects.toMatchObject({ code: 'E_ADDR_INVALID', details: { retriable: false } });
    await expect(peerAddresses({ host: 'h', port: 1 }, ANY4, fail('EAI_AGAIN'))).rejects.toMatchObject({ code: 'E_ADDR_INVALID', details: { retriable: true } });
  });

  it('reaches: 0.0.0.0 and an IPv4 address reach IPv4; [::] both; a specific IPv6 address IPv6 only', () => {
    expect(reaches(ANY4, '10.0.0.1')).toBe(true);
    expect(reaches(ANY4, '::1')).toBe(false);
    expect(reaches({ host: '127.0.0.1', port: 0 }, '::ffff:1.2.3.4')).toBe(false);
    expect(reaches(ANY6, '10.0.0.1')).toBe(true);
    expect(reaches(ANY6, '::1')).toBe(true);
    expect(reaches({ host: '::1', port: 0 }, '127.0.0.1')).toBe(false);
    expect(reaches({ host: '::1', port: 0 }, '::1')).toBe(true);
  });
});

/** A dial that answers after `ms` with `session`, fails after `ms` when session < 0, or never when ms is null. */
function fakeDialer(plan: Record<string, { ms: number | null; session: number }>) {
  const started: Array<[string, number]> = [];
  const abandoned: number[] = [];
  const aborts: string[] = [];
  const t0 = Date.now();
  const dial = (a: SocketAddr, signal: AbortSignal): Promise<number> =>
    new Promise((resolve, reject) => {
      started.push([a.host, Date.now() - t0]);
      const p = plan[a.host]!;
      signal.addEventListener('abort', () => {
        aborts.push(a.host);
        reject(signal.reason instanceof DialAbandoned ? signal.reason : new WraithError('E_CANCELLED', 'cancelled'));
      });
      if (p.ms === null) return;
      setTimeout(() => (p.session >= 0 ? resolve(p.session) : reject(new WraithError('E_HANDSHAKE_TIMEOUT', `${a.host} timed out`))), p.ms);
    });
  return { dial, started, abandoned, aborts, abandon: (s: number) => abandoned.push(s) };
}

const A = (...h: string[]): SocketAddr[] => h.map((host) => ({ host, port: 1 }));

describe('dialFirst', () => {
  it('a silent first address: the second starts after the delay and wins; the first is abandoned', async () => {
    const f = fakeDialer({ '::1': { ms: null, session: 1 }, '127.0.0.1': { ms: 10, session: 2 } });
    const won = await dialFirst(A('::1', '127.0.0.1'), f.dial, f.abandon, new AbortController().signal, 50);
    expect(won).toEqual({ session: 2, addr: { host: '127.0.0.1', port: 1 } });
    expect(f.started.map((s) => s[0])).toEqual(['::1', '127.0.0.1']);
    expect(f.started[1]![1]).toBeGreaterThanOrEqual(45);
    expect(f.aborts).toEqual(['::1']);
  });

  it('a first address that answers within the delay: the second is never dialled', async () => {
    const f = fakeDialer({ '::1': { ms: 5, session: 1 }, '127.0.0.1': { ms: 5, session: 2 } });
    const won = await dialFirst(A('::1', '127.0.0.1'), f.dial, f.abandon, new AbortController().signal, 200);
    expect(won.session).toBe(1);
    expect(f.started.map((s) => s[0])).toEqual(['::1']);
  });

  it('a failure starts the next address at once', async () => {
    const f = fakeDialer({ a: { ms: 5, session: -1 }, b: { ms: 5, session: 2 } });
    const won = await dialFirst(A('a', 'b'), f.dial, f.abandon, new AbortController().signal, 10_000);
    expect(won.session).toBe(2);
    expect(f.started[1]![1]).toBeLessThan(1000);
  });

  it('all fail: the error of one of them; a late session after a win is closed', async () => {
    const f = fakeDialer({ a: { ms: 5, session: -1 }, b: { ms: 5, session: -1 } });
    await expect(dialFirst(A('a', 'b'), f.dial, f.abandon, new AbortController().signal, 1)).rejects.toMatchObject({ code: 'E_HANDSHAKE_TIMEOUT' });
    // Two that both come up: the loser's session is handed to abandon().
    const g = fakeDialer({ a: { ms: 30, session: 7 }, b: { ms: 30, session: 8 } });
    const neverAborted = (a: SocketAddr, s: AbortSignal) => g.dial(a, new AbortController().signal).finally(() => void s);
    const won = await dialFirst(A('a', 'b'), neverAborted, g.abandon, new AbortController().signal, 1);
    await new Promise((r) => setTimeout(r, 60));
    expect(won.session).toBe(7);
    expect(g.abandoned).toEqual([8]);
  });

  it('an abort (Ctrl-C) rejects with E_CANCELLED and starts nothing more', async () => {
    const f = fakeDialer({ a: { ms: null, session: 1 }, b: { ms: null, session: 2 }, c: { ms: null, session: 3 } });
    const ac = new AbortController();
    const p = dialFirst(A('a', 'b', 'c'), f.dial, f.abandon, ac.signal, 30);
    setTimeout(() => ac.abort(new Error('SIGINT')), 45);
    await expect(p).rejects.toMatchObject({ code: 'E_CANCELLED' });
    await new Promise((r) => setTimeout(r, 80));
    expect(f.started.map((s) => s[0])).toEqual(['a', 'b']);
  });
});
