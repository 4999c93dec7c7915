import { readFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { DatagramBatch, isWraithError, type SocketAddr, type Transport } from '@wraith/core';
import { createUdpTransport, udpBackend, udpTransport, type UdpTransportInit } from '../src/index.js';

const open: Transport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function udp(init: UdpTransportInit): Promise<Transport> {
  const t = await createUdpTransport(init);
  open.push(t);
  return t;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Poll with event-loop turns until `cond` holds (2 s deadline). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function batch(dst: SocketAddr, n: number, size: number): DatagramBatch {
  const b = new DatagramBatch(n, size);
  for (let i = 0; i < n; i++) b.push(new Uint8Array(size).fill(i & 0xff), dst);
  return b;
}

function procInt(path: string): number {
  return Number(readFileSync(path, 'utf8').trim());
}

describe('udp transport: binding', () => {
  it('names the port when it is in use (IPv4 and IPv6)', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const a = await udp({ bind: { host, port: 0 } });
      const port = a.localAddr().port;
      const err = await rejection(createUdpTransport({ bind: { host, port } }));
      expect(isWraithError(err, 'E_ADDR_IN_USE'), String(err)).toBe(true);
      expect((err as Error).message).toContain(String(port));
    }
  });

  it('rejects a malformed bind string with E_ADDR_INVALID before opening a socket', async () => {
    for (const bind of ['localhost:0', '::1:0', '127.0.0.1:99999', '[::1]']) {
      const err = await rejection(createUdpTransport({ bind }));
      expect(isWraithError(err, 'E_ADDR_INVALID'), `${bind}: ${String(err)}`).toBe(true);
    }
  });

  it('reports an address this host does not have as E_ADDR_INVALID', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface.
    const err = await rejection(createUdpTransport({ bind: '192.0.2.1:0' }));
    expect(isWraithError(err, 'E_ADDR_INVALID'), String(err)).toBe(true);
  });

  it('rejects out-of-range options with E_CONFIG naming the key', async () => {
    const err = await rejection(createUdpTransport({ bind: '127.0.0.1:0', maxDatagram: 70000 }));
    expect(isWraithError(err, 'E_CONFIG')).toBe(true);
    expect((err as Error).message).toContain('maxDatagram');
  });

  it('binds through the factory form and a string with port 0', async () => {
    const t = await udpTransport({ bind: '127.0.0.1:0' })({});
    open.push(t);
    expect(t.localAddr().host).toBe('127.0.0.1');
    expect(t.localAddr().port).toBeGreaterThan(0);
    // node:dgram has no offloads; the native path reports what the kernel accepted.
    if (udpBackend().backend === 'dgram') expect(t.caps).toEqual({ gso: false, gro: false, xdp: false });
    else expect(t.caps.xdp).toBe(false);
    expect(t.maxDatagram({ host: '127.0.0.1', port: 1 })).toBe(1452);
  });

  it('sets the socket buffers (Linux reports double what was set, capped by rmem_max/wmem_max)', async () => {
    const rmemMax = procInt('/proc/sys/net/core/rmem_max');
    const wmemMax = procInt('/proc/sys/net/core/wmem_max');
    const small = await udp({ bind: '127.0.0.1:0', recvBufferBytes: 256 * 1024, sendBufferBytes: 128 * 1024 });
    expect(small.stats().extra?.recvBufferBytes).toBe(2 * Math.min(256 * 1024, rmemMax));
    expect(small.stats().extra?.sendBufferBytes).toBe(2 * Math.min(128 * 1024, wmemMax));
    const dflt = await udp({ bind: '127.0.0.1:0' });
    expect(dflt.stats().extra?.recvBufferBytes).toBe(2 * Math.min(4 * 1024 * 1024, rmemMax));
  });
});

describe('udp transport: addresses', () => {
  it('receives IPv4 on a dual-stack [::] socket, reports the source as IPv4 and replies to it', async () => {
    const dual = await udp({ bind: '[::]:0' });
    const v4 = await udp({ bind: '127.0.0.1:0' });
    const seen: SocketAddr[] = [];
    dual.onRecv((b) => {
      for (let i = 0; i < b.count; i++) seen.push(b.addrs[i]!);
      // Reply to whatever source arrived, through the same batch.
      dual.send(b);
    });
    let replies = 0;
    let replyFrom: SocketAddr | undefined;
    v4.onRecv((b) => {
      replies += b.count;
      replyFrom = b.addrs[0];
    });
    v4.send(batch({ host: '127.0.0.1', port: dual.localAddr().port }, 1, 32));
    await until(() => replies === 1, 'the reply from the dual-stack socket');
    expect(seen).toEqual([v4.localAddr()]);
    expect(replyFrom).toEqual({ host: '127.0.0.1', port: dual.localAddr().port });
  });

  it('consumes a datagram node:dgram refuses outright (port 0) without leaking its pool slot', async () => {
    const t = await udp({ bind: '127.0.0.1:0', sendPoolSize: 2 });
    expect(t.send(batch({ host: '127.0.0.1', port: 0 }, 5, 10))).toBe(5);
    expect(t.stats().txDropped).toBe(5);
    expect(t.stats().extra?.sendErrors).toBe(5);
    expect(t.stats().extra?.inFlight).toBe(0);
  });

  it('consumes an IPv6 destination on an IPv4 socket and counts it as dropped', async () => {
    const t = await udp({ bind: '127.0.0.1:0' });
    expect(t.send(batch({ host: '::1', port: 9 }, 2, 10))).toBe(2);
    expect(t.stats().txDropped).toBe(2);
    expect(t.stats().extra?.unroutable).toBe(2);
  });
});

describe('udp transport: batching', () => {
  it('delivers datagrams that arrive in one event-loop turn as one batch', async () => {
    const a = await udp({ bind: '127.0.0.1:0' });
    const b = await udp({ bind: '127.0.0.1:0' });
    const calls: number[] = [];
    b.onRecv((batch) => calls.push(batch.count));
    // Sends reach the kernel inside send(), so all 20 are queued before the loop polls.
    expect(a.send(batch(b.localAddr(), 20, 100))).toBe(20);
    await until(() => calls.reduce((x, y) => x + y, 0) === 20, '20 datagrams');
    expect(calls).toEqual([20]);
  });

  it('hands over a full receive batch at once and the rest at the end of the turn', async () => {
    const a = await udp({ bind: '127.0.0.1:0' });
    const b = await udp({ bind: '127.0.0.1:0', recvBatch: 8 });
    const calls: number[] = [];
    b.onRecv((batch) => calls.push(batch.count));
    a.send(batch(b.localAddr(), 20, 100));
    await until(() => calls.reduce((x, y) => x + y, 0) === 20, '20 datagrams');
    expect(calls).toEqual([8, 8, 4]);
  });

  it('bounds sends in flight by the pool and fires onWritable as they complete', async () => {
    const a = await udp({ bind: '127.0.0.1:0', sendPoolSize: 4 });
    const b = await udp({ bind: '127.0.0.1:0' });
    let got = 0;
    b.onRecv((batch) => (got += batch.count));
    let writable = 0;
    a.onWritable(() => writable++);
    const out = batch(b.localAddr(), 10, 100);
    expect(a.send(out)).toBe(4);
    expect(a.stats().extra?.inFlight).toBe(4);
    await until(() => writable === 1, 'onWritable');
    expect(a.stats().extra?.inFlight).toBeLessThanOrEqual(2);
    await until(() => got === 4, 'the 4 accepted datagrams');
    expect(a.stats().txPackets).toBe(4);
  });

  it('carries datagrams up to a configured maxDatagram above the MTU on loopback', async () => {
    const a = await udp({ bind: '127.0.0.1:0', maxDatagram: 9000 });
    const b = await udp({ bind: '127.0.0.1:0', maxDatagram: 9000 });
    const sizes: number[] = [];
    b.onRecv((batch) => {
      for (let i = 0; i < batch.count; i++) sizes.push(batch.lengths[i]!);
    });
    a.send(batch(b.localAddr(), 3, 9000));
    await until(() => sizes.length === 3, '3 jumbo datagrams');
    expect(sizes).toEqual([9000, 9000, 9000]);
  });

  it('counts datagrams larger than its slots as rxDropped', async () => {
    const a = await udp({ bind: '127.0.0.1:0', maxDatagram: 2000 });
    const b = await udp({ bind: '127.0.0.1:0', maxDatagram: 1000 });
    let got = 0;
    b.onRecv((batch) => (got += batch.count));
    a.send(batch(b.localAddr(), 3, 1500));
    a.send(batch(b.localAddr(), 1, 500));
    await until(() => got === 1, 'the datagram that fits');
    expect(b.stats().rxDropped).toBe(3);
    expect(b.stats().extra?.oversizeRx).toBe(3);
  });
});

describe('udp transport: kernel drops', () => {
  it('counts datagrams the kernel dropped on a full receive buffer in rxDropped', async () => {
    const rx = await udp({ bind: '127.0.0.1:0', recvBufferBytes: 4096 });
    let got = 0;
    rx.onRecv((batch) => (got += batch.count));
    // A raw socket sends the burst synchronously, before the receiver can read.
    const tx = dgram.createSocket('udp4');
    await new Promise<void>((r) => tx.bind(0, '127.0.0.1', () => r()));
    const n = 300;
    const payload = Buffer.alloc(1400, 7);
    let done = 0;
    for (let i = 0; i < n; i++) tx.send(payload, rx.localAddr().port, '127.0.0.1', () => done++);
    await until(() => done === n, 'the burst to be sent');
    await new Promise((r) => setTimeout(r, 50));
    tx.close();
    const s = rx.stats();
    expect(s.extra?.kernelRxDrops).toBeGreaterThan(0);
    expect(got + (s.extra?.kernelRxDrops ?? 0)).toBe(n);
    expect(s.rxDropped).toBe(s.extra?.kernelRxDrops);
  });
});
