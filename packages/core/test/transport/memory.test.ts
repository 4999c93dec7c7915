import { describe, expect, it } from 'vitest';
import { isWraithError } from '../../src/errors.js';
import { DatagramBatch, type SocketAddr } from '../../src/transport.js';
import { createMemoryTransport, MemoryNetwork, memoryTransport } from '../../src/transport-memory.js';

function batchOf(dst: SocketAddr, n: number, size = 8, first = 0): DatagramBatch {
  const b = new DatagramBatch(n, size);
  for (let i = 0; i < n; i++) b.push(new Uint8Array(size).fill((first + i) & 0xff), dst);
  return b;
}

describe('MemoryNetwork', () => {
  it('moves nothing until deliver() is called, and reports what is pending', () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network });
    const b = createMemoryTransport({ network });
    let got = 0;
    b.onRecv((batch) => (got += batch.count));
    expect(a.send(batchOf(b.localAddr(), 5))).toBe(5);
    expect(network.pending).toBe(5);
    expect(got).toBe(0);
    expect(network.deliver()).toBe(5);
    expect(got).toBe(5);
    expect(network.pending).toBe(0);
    expect(network.counters.delivered).toBe(5);
  });

  it('hands a receiver one batch per round, capped at its receive batch size', () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network, queueLimit: 100 });
    const b = createMemoryTransport({ network, recvBatch: 8 });
    const sizes: number[] = [];
    b.onRecv((batch) => sizes.push(batch.count));
    a.send(batchOf(b.localAddr(), 20));
    expect(network.deliver(1)).toBe(8);
    expect(network.pending).toBe(12);
    network.deliver();
    expect(sizes).toEqual([8, 8, 4]);
  });

  it('interleaves senders so each gets a share of every round', () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network });
    const c = createMemoryTransport({ network });
    const b = createMemoryTransport({ network, recvBatch: 4 });
    const from: number[] = [];
    b.onRecv((batch) => {
      for (let i = 0; i < batch.count; i++) from.push(batch.addrs[i]!.port);
    });
    a.send(batchOf(b.localAddr(), 10));
    c.send(batchOf(b.localAddr(), 10));
    network.deliver(1);
    expect(from).toEqual([a.localAddr().port, c.localAddr().port, a.localAddr().port, c.localAddr().port]);
  });

  it('refuses beyond queueLimit, then fires onWritable once the queue drains', () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network, queueLimit: 10 });
    const b = createMemoryTransport({ network });
    b.onRecv(() => {});
    let writable = 0;
    a.onWritable(() => writable++);
    expect(a.send(batchOf(b.localAddr(), 6))).toBe(6);
    expect(a.send(batchOf(b.localAddr(), 6))).toBe(4);
    expect(a.stats().txPackets).toBe(10);
    network.deliver();
    expect(writable).toBe(1);
    // No refusal since: no further onWritable.
    network.deliver();
    expect(writable).toBe(1);
  });

  it('does not deliver sends made from callbacks in the same call (no echo loop)', () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network });
    const b = createMemoryTransport({ network });
    const echo = (self: typeof a) => (batch: DatagramBatch) => {
      const out = new DatagramBatch(batch.count, batch.slotSize);
      for (let i = 0; i < batch.count; i++) out.push(batch.datagram(i), batch.addrs[i]!);
      self.send(out);
    };
    a.onRecv(echo(a));
    b.onRecv(echo(b));
    a.send(batchOf(b.localAddr(), 1));
    expect(network.deliver()).toBe(1);
    expect(network.pending).toBe(1);
    expect(network.deliver()).toBe(1);
    expect(network.pending).toBe(1);
  });

  it('drops or rewrites datagrams through the filter hook', () => {
    const network = new MemoryNetwork({
      filter: (bytes) => {
        if (bytes[0] === 1) return false;
        bytes[1] = 0x42;
        return true;
      },
    });
    const a = createMemoryTransport({ network });
    const b = createMemoryTransport({ network });
    const got: Uint8Array[] = [];
    b.onRecv((batch) => {
      for (let i = 0; i < batch.count; i++) got.push(batch.datagram(i).slice());
    });
    a.send(batchOf(b.localAddr(), 3, 4));
    network.deliver();
    expect(got.map((d) => Array.from(d))).toEqual([
      [0, 0x42, 0, 0],
      [2, 0x42, 2, 2],
    ]);
    expect(network.counters.filtered).toBe(1);
  });

  it('counts datagrams to unknown addresses as unroutable', () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network });
    expect(a.send(batchOf({ host: '127.0.0.1', port: 1 }, 2))).toBe(2);
    network.deliver();
    expect(network.counters.unroutable).toBe(2);
    expect(network.pending).toBe(0);
  });

  it('drops datagrams larger than the receiver accepts and counts them', () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network, maxDatagram: 2000 });
    const b = createMemoryTransport({ network, maxDatagram: 1000 });
    let got = 0;
    b.onRecv((batch) => (got += batch.count));
    a.send(batchOf(b.localAddr(), 2, 1500));
    network.deliver();
    expect(got).toBe(0);
    expect(b.stats().rxDropped).toBe(2);
  });

  it('assigns free ports for port 0 and refuses a taken one with E_ADDR_IN_USE', async () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network, addr: { host: '10.0.0.1', port: 0 } });
    const b = await memoryTransport({ network, addr: { host: '10.0.0.1', port: 0 } })({});
    expect(a.localAddr().port).not.toBe(b.localAddr().port);
    let err: unknown;
    try {
      createMemoryTransport({ network, addr: a.localAddr() });
    } catch (e) {
      err = e;
    }
    expect(isWraithError(err, 'E_ADDR_IN_USE')).toBe(true);
    expect((err as Error).message).toContain(String(a.localAddr().port));
    expect(() => createMemoryTransport({ network, addr: { host: '10.0.0.1', port: 70000 } })).toThrow(/70000/);
    // A closed transport frees its address.
    await a.close();
    expect(createMemoryTransport({ network, addr: a.localAddr() }).localAddr()).toEqual(a.localAddr());
  });

  it('still delivers what a transport accepted before it closed', async () => {
    const network = new MemoryNetwork();
    const a = createMemoryTransport({ network });
    const b = createMemoryTransport({ network });
    let got = 0;
    b.onRecv((batch) => (got += batch.count));
    a.send(batchOf(b.localAddr(), 3));
    await a.close();
    network.deliver();
    expect(got).toBe(3);
    expect(network.pending).toBe(0);
  });
});
