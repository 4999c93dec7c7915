import { runTransportCompliance, type TransportPair } from '@wraith/core/compliance';
import { describeIf } from '../../../test/support/prereq.js';
import { createUdpTransport } from '../src/index.js';

/** Whether ::1 can be bound here (IPv6 may be disabled on a host). */
async function ipv6Loopback(): Promise<string | null> {
  try {
    const t = await createUdpTransport({ bind: '[::1]:0' });
    await t.close();
    return null;
  } catch (e) {
    return `cannot bind [::1]:0 (${String(e)}): IPv6 loopback is unavailable`;
  }
}

/** One event-loop turn, so socket callbacks and the receive flush can run. */
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

function udpPair(host: string): () => Promise<TransportPair> {
  return async () => {
    const a = await createUdpTransport({ bind: { host, port: 0 } });
    const b = await createUdpTransport({ bind: { host, port: 0 } });
    return {
      a,
      b,
      tick: turn,
      close: async () => {
        await Promise.all([a.close(), b.close()]);
      },
      lossy: true,
    };
  };
}

runTransportCompliance('udp 127.0.0.1', udpPair('127.0.0.1'));
describeIf(await ipv6Loopback(), 'udp over IPv6 loopback', () => {
  runTransportCompliance('udp ::1', udpPair('::1'));
});
