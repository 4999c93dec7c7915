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
import { runTransportCompliance } from '@wraith/core/compliance';
import { createXdpTransport } from '@wraith/transport-xdp';

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
});
