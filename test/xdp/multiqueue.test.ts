/**
 * A veth with two RX queues: the transport binds one AF_XDP socket per queue
 * (all in the XSKMAP), so flows hashed to either queue reach it. Sixteen
 * flows from the peer land on both queues (veth picks the queue from the
 * sender's flow hash; all on one queue has odds of 2^-15).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { createVethPair, destroyAllNetns, type NodeChild, type VethPair } from '../support/netns.js';
import { describeIf, needRoot, REPO_ROOT } from '../support/prereq.js';

const FIX = join(REPO_ROOT, 'test/xdp/fixtures');
const PORT = 4433;

describeIf(needRoot(), 'AF_XDP transport on a 2-queue veth', () => {
  let pair: VethPair;
  let node: NodeChild;
  let peer: NodeChild;

  beforeAll(async () => {
    pair = await createVethPair({ queues: 2 });
    node = pair.a.spawnNode(join(FIX, 'xdp-node.mjs'), [JSON.stringify({ init: { interface: pair.ifA, port: PORT } })]);
    peer = pair.b.spawnNode(join(FIX, 'udp-peer.mjs'));
    const m = await node.waitFor((x) => x['event'] === 'ready' || x['event'] === 'error', 30_000);
    if (m['event'] !== 'ready') throw new Error(`XDP node failed: ${JSON.stringify(m)}\n${node.stderr}`);
    await peer.waitFor((x) => x['event'] === 'ready');
  });

  afterAll(async () => {
    await pair?.destroy();
    await destroyAllNetns();
  });

  it('binds a socket per queue and receives every flow on both', async () => {
    const lines = node.messages.filter((m) => m['event'] === 'log').map((m) => String(m['msg']));
    expect(lines).toContain(`AF_XDP socket bound to ${pair.ipA}:${PORT} (queue 0)`);
    expect(lines).toContain(`AF_XDP socket bound to ${pair.ipA}:${PORT} (queue 1)`);

    const flows = 16;
    const count = 100;
    const r = await peer.request({ cmd: 'echo', target: { host: pair.ipA, port: PORT }, flows, count, size: 1000, window: 32 }, 90_000);
    expect(r['corrupt']).toBe(0);
    expect(r['duplicates']).toBe(0);
    expect(r['echoed']).toBe(flows * count);

    const s = (await node.request({ cmd: 'stats' }))['stats'] as { extra: Record<string, number> };
    const x = s.extra;
    expect(x['queues']).toBe(2);
    expect(x['q0_rx_packets']).toBeGreaterThan(0);
    expect(x['q1_rx_packets']).toBeGreaterThan(0);
    expect(x['q0_rx_packets']! + x['q1_rx_packets']!).toBe(flows * count);
    expect(x['kernel_rx_packets']).toBe(0);
  });
});
