/**
 * The shared transport compliance suite against two AF_XDP transports in
 * one process. Started by ../compliance.test.ts inside namespace A, which
 * holds both interfaces; policy routing sends each one's traffic for the
 * other out through its own veth to namespace B, which forwards it back in
 * through the other veth. So every datagram crosses the wire and lands in
 * the peer's XDP program (see the topology in compliance.test.ts).
 *
 * Each pair resolves its next hops before the suite uses it, so datagrams
 * take AF_XDP rather than the kernel-socket fallback; on close the pair's
 * counters are appended to the stats file so the outer test can check that.
 */
import { appendFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runTransportCompliance } from '@wraith/core/compliance';
import { createXdpTransport, type XskSocket } from '@wraith/transport-xdp';

const env = process.env['WRAITH_XDP_PAIR'];
if (!env) throw new Error('WRAITH_XDP_PAIR is not set: run this through test/xdp/compliance.test.ts');
const cfg = JSON.parse(env) as { ifA: string; ipA: string; ifB: string; ipB: string; statsFile: string };

runTransportCompliance('xdp (veth, copy mode)', async () => {
  const a = await createXdpTransport({ interface: cfg.ifA, port: 4433, bindHost: cfg.ipA });
  try {
    const b = await createXdpTransport({ interface: cfg.ifB, port: 4434, bindHost: cfg.ipB });
    const paths = [await a.resolvePeer(b.localAddr()), await b.resolvePeer(a.localAddr())];
    return {
      a,
      b,
      tick: () => new Promise<void>((r) => setTimeout(r, 1)),
      close: async () => {
        const line = { paths, a: a.stats().extra, b: b.stats().extra };
        await a.close();
        await b.close();
        appendFileSync(cfg.statsFile, `${JSON.stringify(line)}\n`);
      },
    };
  } catch (e) {
    await a.close();
    throw e;
  }
}, { lendsBuffers: true });

it('the addon queues only frames it lent, once each; the TX area outlives the socket safely', async () => {
  const t = await createXdpTransport({ interface: cfg.ifA, port: 4435, bindHost: cfg.ipA, ringSize: 64, umemFrames: 128 });
  let area = new Uint8Array(0);
  try {
    const sock = (t as unknown as { cfg: { sockets: Array<{ sock: XskSocket }> } }).cfg.sockets[0]!.sock;
    const frame = sock.info.frameSize;
    const txFrames = sock.info.txFrames;
    area = new Uint8Array(sock.txArea());
    expect(area.length).toBe(txFrames * frame);
    const offs = new Uint32Array(txFrames);
    const lens = new Uint32Array(txFrames).fill(60);
    expect(sock.txLend(offs, 4)).toBe(4);
    const lent = [...offs.subarray(0, 4)];
    expect(new Set(lent.map((o) => o % frame))).toEqual(new Set([0]));
    const notLent = Array.from({ length: txFrames }, (_, i) => i * frame).find((o) => !lent.includes(o))!;
    const bad: Array<[number[], RegExp]> = [
      [[notLent], /not inside a lent/],
      [[lent[0]!, lent[0]!], /not inside a lent/], // the same frame twice
      [[txFrames * frame], /not inside a lent/], // past the TX area
      [[lent[1]! + frame - 30], /not inside a lent/], // runs over the frame's end
    ];
    for (const [o, re] of bad) expect(() => sock.txSubmit(Uint32Array.from(o), lens, o.length, false)).toThrow(re);
    // A refused batch queued nothing: all four frames can still go, once.
    const before = sock.stats()['txSubmitted']!;
    expect(sock.txSubmit(Uint32Array.from(lent), lens, 4, false)).toBe(4);
    expect(sock.stats()['txSubmitted']! - before).toBe(4);
    expect(() => sock.txSubmit(Uint32Array.from(lent.slice(0, 1)), lens, 1, false)).toThrow(/not inside a lent/);
    // A new lend takes back an unsubmitted one: lending everything, again and again, never runs dry.
    for (let k = 0; k < 10; k++) {
      sock.reclaim();
      const n = sock.txLend(offs, txFrames);
      expect(n).toBeGreaterThanOrEqual(txFrames - 4);
    }
    expect(sock.txLend(offs, 0)).toBe(0);
  } finally {
    await t.close();
  }
  // The buffer keeps the UMEM mapped by itself: after close it is still ordinary memory.
  area.fill(0x5a);
  expect(area[area.length - 1]).toBe(0x5a);
});
