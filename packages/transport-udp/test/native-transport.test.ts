/**
 * The native UDP path: GSO sends and GRO splitting checked by content and by
 * the socket's counters, the GSO-refused fallbacks (through the test hook),
 * address handling (IPv4-mapped, many peers, the destination table starting
 * over), bind errors and teardown. Loopback only.
 */
import dgram from 'node:dgram';
import { afterEach, expect, it } from 'vitest';
import { addrKey, DatagramBatch, isWraithError, type SocketAddr, type Transport } from '@wraith/core';
import { describeIf } from '../../../test/support/prereq.js';
import {
  createNativeUdpTransport,
  createUdpTransport,
  NativeUdpTransport,
  udpBackend,
  type NativeUdpTransportInit,
} from '../src/index.js';
import { extra, nativeMissing, offloadMissing, payload, sameBytes, sendAll, Sink, turn, until } from './native-support.js';

/** The kernel's GSO limits as the native code applies them (native/src/udp). */
const MAX_SEGS = 64;
const MAX_GSO_BYTES = 65507;
const EIO = 5;
const EINVAL = 22;

const open: Transport[] = [];
const sockets: dgram.Socket[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  await Promise.all(sockets.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function nat(init: Partial<NativeUdpTransportInit> = {}): Promise<NativeUdpTransport> {
  const t = await createNativeUdpTransport({ bind: '127.0.0.1:0', ...init });
  open.push(t);
  return t;
}

async function udpSock(type: 'udp4' | 'udp6', host: string): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  return s;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/**
 * GSO sends and the datagrams in them for one send() of `sizes` to `peers`,
 * by the documented rule: a run of equal sizes (> 0) to one peer, plus one
 * shorter last datagram, up to 64 segments and 65507 bytes.
 */
function gsoModel(sizes: number[], peers: string[]): { sends: number; segments: number } {
  let sends = 0;
  let segments = 0;
  for (let i = 0; i < sizes.length; ) {
    const len = sizes[i]!;
    let segs = 1;
    let total = len;
    let k = i + 1;
    if (len > 0) {
      while (k < sizes.length && segs < MAX_SEGS && peers[k] === peers[i] && sizes[k] === len && total + len <= MAX_GSO_BYTES) {
        segs++;
        total += len;
        k++;
      }
      const tail = sizes[k];
      if (tail !== undefined && segs < MAX_SEGS && peers[k] === peers[i] && tail > 0 && tail < len && total + tail <= MAX_GSO_BYTES) {
        segs++;
        k++;
      }
    }
    if (segs > 1) {
      sends++;
      segments += segs;
    }
    i = k;
  }
  return { sends, segments };
}

/** Every datagram seq in `seqs` arrived at `sink`, in this order, byte for byte, from `from`. */
function expectDelivered(sink: Sink, seqs: number[], sizes: number[], from: SocketAddr): void {
  expect(sink.got.length).toBe(seqs.length);
  sink.got.forEach((g, i) => {
    const seq = seqs[i]!;
    expect(g.bytes.length, `datagram ${seq}: length`).toBe(sizes[seq]);
    expect(sameBytes(g.bytes, payload(seq, sizes[seq]!)), `datagram ${seq}: bytes`).toBe(true);
    expect(g.from).toEqual(from);
  });
}

describeIf(offloadMissing(), 'native UDP: selection', () => {
  it('is what createUdpTransport picks when the addon is present, and dgram on request', async () => {
    expect(udpBackend()).toEqual({ backend: 'native', reason: null });
    const t = await createUdpTransport({ bind: '127.0.0.1:0' });
    open.push(t);
    expect(t).toBeInstanceOf(NativeUdpTransport);
    expect(t.caps).toEqual({ gso: true, gro: true, xdp: false });
    expect(udpBackend({ backend: 'dgram' }).backend).toBe('dgram');
    const d = await createUdpTransport({ bind: '127.0.0.1:0', backend: 'dgram' });
    open.push(d);
    expect(d).not.toBeInstanceOf(NativeUdpTransport);
    expect(d.caps.gso).toBe(false);
  });

  it('rejects an unknown backend with E_CONFIG naming it', async () => {
    const err = await rejection(createUdpTransport({ bind: '127.0.0.1:0', backend: 'fast' as 'native' }));
    expect(isWraithError(err, 'E_CONFIG'), String(err)).toBe(true);
    expect((err as Error).message).toContain('"fast"');
  });

  it('reports what was not asked for in caps and offloadNotes', async () => {
    const t = await nat({ gso: false, gro: false });
    expect(t.caps).toEqual({ gso: false, gro: false, xdp: false });
    expect(t.offloadNotes()).toEqual({ gso: 'not requested', gro: 'not requested' });
  });
});

describeIf(offloadMissing(), 'native UDP: GSO and GRO', () => {
  it('sends 64 equal datagrams to one peer as GSO sends, and the receiver splits them back exactly', async () => {
    const a = await nat();
    const b = await nat();
    const sink = new Sink(b);
    const n = 64;
    const size = 1200;
    const sizes = new Array<number>(n).fill(size);
    await sendAll(a, sizes, new Array<SocketAddr>(n).fill(b.localAddr()));
    await until(() => sink.got.length >= n, `${n} datagrams`);
    expectDelivered(sink, [...Array(n).keys()], sizes, a.localAddr());
    const tx = extra(a);
    // 54 segments of 1200 fit 65507 bytes: two GSO sends, in one sendmmsg.
    expect(tx['gsoSends']).toBe(Math.ceil(n / Math.floor(MAX_GSO_BYTES / size)));
    expect(tx['gsoSegments']).toBe(n);
    expect(tx['gsoSegments']! / tx['gsoSends']!).toBeGreaterThan(1);
    expect(tx['sendCalls']).toBe(1);
    const rx = extra(b);
    expect(rx['groBuffers']).toBeGreaterThan(0);
    expect(rx['rxMessages']).toBeLessThan(n);
    expect(rx['groSegments']! + (rx['rxMessages']! - rx['groBuffers']!)).toBe(n);
    expect(a.stats().txPackets).toBe(n);
    expect(b.stats().rxPackets).toBe(n);
    expect(b.stats().rxBytes).toBe(n * size);
  });

  it('caps GSO sends at 64 segments and 65507 bytes', async () => {
    const a = await nat();
    const b = await nat();
    const sink = new Sink(b);
    // 200 small datagrams: the segment cap; 200 of 1400 bytes: the byte cap.
    const sizes = [...new Array<number>(200).fill(100), ...new Array<number>(200).fill(1400)];
    await sendAll(a, sizes, new Array<SocketAddr>(sizes.length).fill(b.localAddr()), 400);
    await until(() => sink.got.length >= sizes.length, `${sizes.length} datagrams`);
    expectDelivered(sink, [...sizes.keys()], sizes, a.localAddr());
    const want = Math.ceil(200 / MAX_SEGS) + Math.ceil(200 / Math.floor(MAX_GSO_BYTES / 1400));
    expect(extra(a)['gsoSends']).toBe(want);
    expect(extra(a)['gsoSegments']).toBe(400);
  });

  it('groups mixed sizes and destinations as the rule says, and every datagram arrives intact in order', async () => {
    const a = await nat();
    const b = await nat();
    const c = await nat();
    const sb = new Sink(b);
    const sc = new Sink(c);
    const B = b.localAddr();
    const C = c.localAddr();
    const sizes: number[] = [];
    const dsts: SocketAddr[] = [];
    const add = (n: number, size: number, dst: SocketAddr): void => {
      for (let i = 0; i < n; i++) {
        sizes.push(size);
        dsts.push(dst);
      }
    };
    // Runs with shorter tails, a zero-length datagram, singletons, runs broken
    // by another destination, a longer datagram after a run (no tail), runs
    // across batch boundaries, and maxDatagram-size runs.
    add(7, 1000, B); add(1, 400, B); add(3, 1000, B); add(1, 0, B); add(1, 1, B);
    add(50, 1452, B); add(2, 700, C); add(3, 700, B); add(2, 37, C); add(1, 38, C);
    add(1, 5, B); add(1, 5, C); add(1, 5, B); add(70, 333, C); add(1, 332, C); add(1, 333, C);
    add(30, 64, B); add(1, 1452, B); add(40, 1452, C); add(1, 1451, C); add(1, 2, C);
    const batchSize = 64;
    await sendAll(a, sizes, dsts, batchSize);
    const forB = [...sizes.keys()].filter((i) => dsts[i] === B);
    const forC = [...sizes.keys()].filter((i) => dsts[i] === C);
    await until(() => sb.got.length >= forB.length && sc.got.length >= forC.length, 'every datagram');
    expectDelivered(sb, forB, sizes, a.localAddr());
    expectDelivered(sc, forC, sizes, a.localAddr());
    // Groups never span send() calls: apply the rule per batch.
    let sends = 0;
    let segments = 0;
    for (let at = 0; at < sizes.length; at += batchSize) {
      const m = gsoModel(sizes.slice(at, at + batchSize), dsts.slice(at, at + batchSize).map(addrKey));
      sends += m.sends;
      segments += m.segments;
    }
    expect(sends).toBeGreaterThan(5);
    expect(extra(a)['gsoSends']).toBe(sends);
    expect(extra(a)['gsoSegments']).toBe(segments);
    expect(extra(b)['groBuffers']).toBeGreaterThan(0);
    expect(extra(c)['groBuffers']).toBeGreaterThan(0);
    expect(a.stats().txDropped).toBe(0);
  });

  it('receives plain datagrams from a node:dgram sender intact and in order (no GRO buffers to split)', async () => {
    const b = await nat();
    const sink = new Sink(b);
    const s = await udpSock('udp4', '127.0.0.1');
    const sizes = [...Array(300).keys()].map((i) => [1, 17, 600, 1452, 0, 1300][i % 6]!);
    let sent = 0;
    for (let i = 0; i < sizes.length; i++) s.send(payload(i, sizes[i]!), b.localAddr().port, '127.0.0.1', () => sent++);
    await until(() => sink.got.length >= sizes.length, `${sizes.length} datagrams`);
    expectDelivered(sink, [...sizes.keys()], sizes, { host: '127.0.0.1', port: s.address().port });
    expect(extra(b)['groSegments']).toBe(0);
  });

  it('a receiver without GRO gets GSO sends split by the kernel', async () => {
    const a = await nat();
    const b = await nat({ gro: false });
    expect(b.caps.gro).toBe(false);
    const sink = new Sink(b);
    const sizes = [...new Array<number>(100).fill(1200), 77];
    await sendAll(a, sizes, new Array<SocketAddr>(sizes.length).fill(b.localAddr()), 128);
    await until(() => sink.got.length >= sizes.length, 'every datagram');
    expectDelivered(sink, [...sizes.keys()], sizes, a.localAddr());
    expect(extra(a)['gsoSends']).toBeGreaterThan(0);
    expect(extra(b)['groBuffers']).toBe(0);
    expect(extra(b)['rxMessages']).toBe(sizes.length);
  });

  it('delivers a GRO buffer in recvBatch-sized callbacks', async () => {
    const a = await nat();
    const b = await nat({ recvBatch: 8 });
    const sink = new Sink(b);
    const sizes = new Array<number>(30).fill(500);
    await sendAll(a, sizes, new Array<SocketAddr>(30).fill(b.localAddr()));
    await until(() => sink.got.length >= 30, '30 datagrams');
    expectDelivered(sink, [...sizes.keys()], sizes, a.localAddr());
    expect(Math.max(...sink.batches)).toBeLessThanOrEqual(8);
    expect(extra(a)['gsoSends']).toBe(1);
  });
});

describeIf(offloadMissing(), 'native UDP: GSO refused by the kernel', () => {
  function logSpy(): { warn: (obj: Record<string, unknown>, msg: string) => void; calls: { obj: Record<string, unknown>; msg: string }[] } {
    const calls: { obj: Record<string, unknown>; msg: string }[] = [];
    return { warn: (obj, msg) => calls.push({ obj, msg }), calls };
  }

  for (const errno of [EIO, EINVAL]) {
    it(`turns GSO off on the first refusal (errno ${errno}), logs once, and delivers everything exactly once`, async () => {
      const log = logSpy();
      const a = await nat({ testFailGso: errno, log });
      const b = await nat();
      const sink = new Sink(b);
      expect(a.caps.gso).toBe(true);
      // A plain datagram first (sent before the refused GSO entry), then a run.
      const sizes = [10, ...new Array<number>(20).fill(500), ...new Array<number>(64).fill(900)];
      const dst = new Array<SocketAddr>(sizes.length).fill(b.localAddr());
      await sendAll(a, sizes.slice(0, 21), dst);
      expect(a.caps.gso).toBe(false);
      expect(log.calls.length).toBe(1);
      expect(log.calls[0]!.obj['errno']).toBe(errno);
      expect(log.calls[0]!.msg).toContain('GSO');
      // Later batches keep going out, without GSO and without another log line.
      const later = new DatagramBatch(64, 900);
      for (let i = 21; i < sizes.length; i++) later.push(payload(i, 900), b.localAddr());
      expect(a.send(later)).toBe(64);
      await until(() => sink.got.length >= sizes.length, 'every datagram');
      expectDelivered(sink, [...sizes.keys()], sizes, a.localAddr());
      const x = extra(a);
      expect(x['gsoDisabled']).toBe(1);
      expect(x['gsoDisableErrno']).toBe(errno);
      expect(x['gsoSends']).toBe(0);
      expect(x['gso']).toBe(0);
      expect(a.stats().txPackets).toBe(sizes.length);
      expect(a.stats().txDropped).toBe(0);
      expect(log.calls.length).toBe(1);
      expect(a.offloadNotes().gso).toContain(`errno ${errno}`);
    });
  }

  it('after GSO has worked, an EINVAL resends that group plain and keeps GSO on', async () => {
    const log = logSpy();
    const a = await nat({ testFailGso: EINVAL, testFailGsoAfter: 1, log });
    const b = await nat();
    const sink = new Sink(b);
    const sizes = new Array<number>(60).fill(700);
    const dst = new Array<SocketAddr>(20).fill(b.localAddr());
    for (let k = 0; k < 3; k++) await sendAll(a, sizes.slice(20 * k, 20 * k + 20), dst);
    await until(() => sink.got.length >= 60, '60 datagrams');
    // Sequence numbers restart per sendAll call: check batch by batch.
    sink.got.forEach((g, i) => expect(sameBytes(g.bytes, payload(i % 20, 700)), `datagram ${i}`).toBe(true));
    const x = extra(a);
    expect(x['gsoFallbacks']).toBe(1);
    expect(x['gsoDisabled']).toBe(0);
    expect(x['gsoSends']).toBe(2);
    expect(a.caps.gso).toBe(true);
    expect(log.calls.length).toBe(0);
  });

  it('an EIO after GSO has worked still turns it off', async () => {
    const a = await nat({ testFailGso: EIO, testFailGsoAfter: 1, log: logSpy() });
    const b = await nat();
    const sink = new Sink(b);
    const dst = new Array<SocketAddr>(20).fill(b.localAddr());
    for (let k = 0; k < 2; k++) await sendAll(a, new Array<number>(20).fill(300), dst);
    await until(() => sink.got.length >= 40, '40 datagrams');
    expect(extra(a)['gsoDisabled']).toBe(1);
    expect(extra(a)['gsoSends']).toBe(1);
    expect(a.caps.gso).toBe(false);
  });
});

describeIf(nativeMissing(), 'native UDP: addresses', () => {
  it('reports IPv4 sources of a dual-stack socket as IPv4, and reaches IPv4 and IPv4-mapped destinations', async () => {
    const dual = await nat({ bind: '[::]:0' });
    expect(dual.localAddr().host).toBe('::');
    const v4 = await nat();
    const d4 = await udpSock('udp4', '127.0.0.1');
    const sDual = new Sink(dual);
    const sV4 = new Sink(v4);
    const port = dual.localAddr().port;
    // From a native IPv4 socket, to the plain and the IPv4-mapped form.
    await sendAll(v4, [10, 11], [{ host: '127.0.0.1', port }, { host: '::ffff:127.0.0.1', port }]);
    // From node:dgram.
    d4.send(payload(2, 12), port, '127.0.0.1');
    await until(() => sDual.got.length >= 3, '3 datagrams at the dual-stack socket');
    expect(sDual.got.map((g) => g.from)).toEqual([v4.localAddr(), v4.localAddr(), { host: '127.0.0.1', port: d4.address().port }]);
    expect(sDual.got[0]!.from).toBe(sDual.got[1]!.from); // one cached object per peer
    // Back from the dual-stack socket, to the decoded source and to its mapped form.
    await sendAll(dual, [20, 21], [sDual.got[0]!.from, { host: '::ffff:127.0.0.1', port: v4.localAddr().port }]);
    await until(() => sV4.got.length >= 2, '2 replies');
    for (const g of sV4.got) expect(g.from).toEqual({ host: '127.0.0.1', port });
  });

  it('keeps IPv6 sources as IPv6', async () => {
    const dual = await nat({ bind: '[::]:0' });
    const v6 = await nat({ bind: '[::1]:0' });
    const sink = new Sink(dual);
    await sendAll(v6, [5], [{ host: '::1', port: dual.localAddr().port }]);
    await until(() => sink.got.length >= 1, 'one datagram');
    expect(sink.got[0]!.from).toEqual({ host: '::1', port: v6.localAddr().port });
  });

  it('decodes the source of every datagram from 64 IPv4 and 32 IPv6 peers, and replies reach each', async () => {
    const rx4 = await nat({ bind: '0.0.0.0:0' });
    const rx6 = await nat({ bind: '[::1]:0' });
    const peers: dgram.Socket[] = [];
    for (let i = 0; i < 64; i++) peers.push(await udpSock('udp4', `127.0.0.${2 + i}`));
    for (let i = 0; i < 32; i++) peers.push(await udpSock('udp6', '::1'));
    const replies = new Map<dgram.Socket, number>();
    for (const s of peers) {
      s.on('message', (msg, rinfo) => {
        const want = s.address().family === 'IPv4' ? rx4.localAddr().port : rx6.localAddr().port;
        if (rinfo.port === want && msg.toString() === `${s.address().address}|${s.address().port}`) {
          replies.set(s, (replies.get(s) ?? 0) + 1);
        }
      });
    }
    const seen = new Map<string, SocketAddr>();
    let count = 0;
    let mismatches = 0;
    let copies = 0;
    for (const rx of [rx4, rx6]) {
      rx.onRecv((b) => {
        for (let i = 0; i < b.count; i++) {
          const from = b.addrs[i]!;
          const text = Buffer.from(b.datagram(i)).toString();
          if (text !== `${from.host}|${from.port}`) mismatches++;
          const prev = seen.get(text);
          if (prev !== undefined && prev !== from) copies++;
          seen.set(text, from);
          count++;
        }
        rx.send(b); // echo each datagram to its source
      });
    }
    for (let round = 0; round < 3; round++) {
      for (const s of peers) {
        const a = s.address();
        const dst = a.family === 'IPv4' ? rx4.localAddr().port : rx6.localAddr().port;
        s.send(`${a.address}|${a.port}`, dst, a.family === 'IPv4' ? '127.0.0.1' : '::1');
      }
      await turn();
    }
    await until(() => count >= 3 * peers.length && [...replies.values()].reduce((x, y) => x + y, 0) >= 3 * peers.length, 'all datagrams and replies');
    expect(mismatches).toBe(0);
    expect(copies).toBe(0);
    expect(seen.size).toBe(peers.length);
    for (const s of peers) expect(replies.get(s)).toBe(3);
  });

  it('starts its destination table over past 4096 peers without sending to a wrong one', async () => {
    // 5000 distinct destinations: 100 loopback hosts x 50 wildcard receivers.
    // Datagram i goes to host 127.1.0.(i % 100 + 1) at receiver floor(i / 100).
    const rxs: dgram.Socket[] = [];
    for (let r = 0; r < 50; r++) rxs.push(await udpSock('udp4', '0.0.0.0'));
    const n = 5000;
    const dsts = [...Array(n).keys()].map((i) => ({ host: `127.1.0.${(i % 100) + 1}`, port: rxs[Math.floor(i / 100)]!.address().port }));
    const seen = new Set<number>();
    let wrong = 0;
    let corrupt = 0;
    rxs.forEach((s, r) =>
      s.on('message', (msg) => {
        const seq = msg[0]! | (msg[1]! << 8);
        if (Math.floor(seq / 100) !== r) wrong++;
        if (!sameBytes(msg, payload(seq, 40))) corrupt++;
        seen.add(seq);
      }),
    );
    const tx = await nat();
    // Equal sizes to distinct peers: nothing for GSO to group.
    await sendAll(tx, new Array<number>(n).fill(40), dsts, 256);
    await until(() => seen.size >= n, `${n} datagrams`, 10_000);
    expect(wrong).toBe(0);
    expect(corrupt).toBe(0);
    expect(extra(tx)['peerTableResets']).toBeGreaterThanOrEqual(1);
    expect(extra(tx)['gsoSends']).toBe(0);
    expect(tx.stats().txPackets).toBe(n);
  });

  it('drops (and counts) IPv6 destinations on an IPv4 socket and port 0, sending the rest', async () => {
    const a = await nat();
    const b = await nat();
    const sink = new Sink(b);
    const B = b.localAddr();
    const sizes = [8, 8, 8, 8, 8, 8];
    const dsts = [B, { host: '::1', port: 9 }, B, { host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }, B];
    await sendAll(a, sizes, dsts);
    await until(() => sink.got.length >= 3, '3 datagrams');
    expectDelivered(sink, [0, 2, 5], sizes, a.localAddr());
    expect(a.stats().txDropped).toBe(3);
    expect(extra(a)['unroutable']).toBe(1);
    expect(extra(a)['sendErrors']).toBe(2); // port 0: refused by the kernel, never as GSO
    expect(extra(a)['gsoDisabled']).toBe(0);
  });
});

describeIf(nativeMissing(), 'native UDP: path datagram size', () => {
  // Loopback's MTU is 65536 (IPv4 routes cap it at 65535); the headers are IPv4 20 + UDP 8, IPv6 40 + 8.
  it('is the route MTU less the headers: IPv4, IPv4-mapped from a dual-stack socket, IPv6', async () => {
    const v4 = await nat();
    expect(v4.pathDatagram({ host: '127.0.0.1', port: 9 })).toBe(65535 - 28);
    const dual = await nat({ bind: '[::]:0' });
    expect(dual.pathDatagram({ host: '127.0.0.1', port: 9 })).toBe(65535 - 28);
    expect(dual.pathDatagram({ host: '::ffff:127.0.0.1', port: 9 })).toBe(65535 - 28);
    expect(dual.pathDatagram({ host: '::1', port: 9 })).toBe(65536 - 48);
  });

  it('is null where the socket cannot reach the peer, and once closed', async () => {
    const v4 = await nat();
    expect(v4.pathDatagram({ host: '::1', port: 9 })).toBeNull();
    await v4.close();
    expect(v4.pathDatagram({ host: '127.0.0.1', port: 9 })).toBeNull();
  });
});

describeIf(nativeMissing(), 'native UDP: ICMP errors', () => {
  /** A port nothing listens on: bound, then closed again. */
  async function closedPort(type: 'udp4' | 'udp6', host: string): Promise<number> {
    const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  it('reports ECONNREFUSED for a closed port with the address sent to, and keeps receiving afterwards', async () => {
    const t = await nat();
    const heard: Array<{ peer: SocketAddr; error: string }> = [];
    t.onUnreachable((peer, error) => heard.push({ peer, error }));
    const sink = new Sink(t);
    const port = await closedPort('udp4', '127.0.0.1');
    // More errors than one wakeup reads (64): the rest come on the next.
    await sendAll(t, new Array<number>(200).fill(40), new Array<SocketAddr>(200).fill({ host: '127.0.0.1', port }));
    await until(() => heard.length >= 1, 'an ICMP error');
    expect(heard[0]).toEqual({ peer: { host: '127.0.0.1', port }, error: 'ECONNREFUSED' });
    expect(extra(t)['icmpRefused']).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 50));
    // The error stopped libuv's poll handle: without a restart the socket would be deaf now.
    const peer = await nat();
    await sendAll(peer, new Array<number>(50).fill(100), new Array<SocketAddr>(50).fill(t.localAddr()));
    await until(() => sink.got.length >= 50, '50 datagrams after the errors');
    expect(sink.got.every((g, i) => sameBytes(g.bytes, payload(i, 100)))).toBe(true);
  });

  it('a pending ICMP error does not cost a datagram to another peer (a send reports it once: it is sent again)', async () => {
    const t = await nat();
    const peer = await nat();
    const sink = new Sink(peer);
    const port = await closedPort('udp4', '127.0.0.1');
    for (let round = 0; round < 5; round++) {
      // On loopback the port unreachable comes back within the send: the next send meets it.
      await sendAll(t, [40], [{ host: '127.0.0.1', port }]);
      await sendAll(t, new Array<number>(10).fill(100), new Array<SocketAddr>(10).fill(peer.localAddr()));
    }
    await until(() => sink.got.length >= 50, '50 datagrams to the live peer');
    expect(extra(t)['sendErrors']).toBe(0);
    expect(t.stats().txDropped).toBe(0);
  });

  it('reports errors on a dual-stack socket as the address sent to: IPv4 as IPv4, IPv6 as IPv6', async () => {
    const dual = await nat({ bind: '[::]:0' });
    const heard: string[] = [];
    dual.onUnreachable((peer, error) => heard.push(`${addrKey(peer)} ${error}`));
    const p4 = await closedPort('udp4', '127.0.0.1');
    const p6 = await closedPort('udp6', '::1');
    await sendAll(dual, [10], [{ host: '127.0.0.1', port: p4 }]);
    await until(() => heard.length >= 1, 'the IPv4 error');
    await sendAll(dual, [10], [{ host: '::1', port: p6 }]);
    await until(() => heard.length >= 2, 'the IPv6 error');
    expect(heard).toEqual([`127.0.0.1:${p4} ECONNREFUSED`, `[::1]:${p6} ECONNREFUSED`]);
  });
});

describeIf(nativeMissing(), 'native UDP: binding and teardown', () => {
  it('names the port in use, for either backend holding it (IPv4 and IPv6)', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const held = await nat({ bind: { host, port: 0 } });
      const port = held.localAddr().port;
      for (const backend of ['native', 'dgram'] as const) {
        const err = await rejection(createUdpTransport({ bind: { host, port }, backend }));
        expect(isWraithError(err, 'E_ADDR_IN_USE'), `${backend}: ${String(err)}`).toBe(true);
        expect((err as Error).message).toContain(String(port));
      }
      const d = await udpSock(host.includes(':') ? 'udp6' : 'udp4', host);
      const err = await rejection(createNativeUdpTransport({ bind: { host, port: d.address().port } }));
      expect(isWraithError(err, 'E_ADDR_IN_USE'), String(err)).toBe(true);
      expect((err as Error).message).toContain(String(d.address().port));
      expect((err as { details?: Record<string, unknown> }).details?.['errno']).toBe('EADDRINUSE');
    }
  });

  it('maps an address this host lacks to E_ADDR_INVALID', async () => {
    const err = await rejection(createNativeUdpTransport({ bind: '192.0.2.1:0' }));
    expect(isWraithError(err, 'E_ADDR_INVALID'), String(err)).toBe(true);
    expect((err as Error).message).toContain('192.0.2.1');
  });

  it('enforces maxDatagram on send and receive', async () => {
    const a = await nat({ maxDatagram: 1000 });
    const b = await nat({ maxDatagram: 600 });
    const sink = new Sink(b);
    // 1001 is over a's limit (dropped at a); 700 is over b's (dropped at b, in a GSO buffer).
    await sendAll(a, [1001, 700, 700, 700, 500, 500], new Array<SocketAddr>(6).fill(b.localAddr()));
    await until(() => sink.got.length >= 2 && b.stats().rxDropped >= 3, 'the datagrams that fit');
    expectDelivered(sink, [4, 5], [1001, 700, 700, 700, 500, 500], a.localAddr());
    expect(extra(a)['txOversize']).toBe(1);
    expect(extra(b)['oversizeRx']).toBe(3);
  });

  it('stops delivering within a batch when the receive callback closes the transport', async () => {
    const a = await nat();
    const b = await nat({ recvBatch: 8 });
    let calls = 0;
    b.onRecv(() => {
      calls++;
      void b.close();
    });
    await sendAll(a, new Array<number>(40).fill(100), new Array<SocketAddr>(40).fill(b.localAddr()));
    await until(() => calls >= 1, 'the first batch');
    await b.close();
    for (let i = 0; i < 10; i++) await turn();
    expect(calls).toBe(1);
    expect(() => b.stats()).not.toThrow();
  });
});
