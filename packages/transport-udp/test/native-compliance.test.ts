/**
 * The shared compliance suite over both UDP backends, each chosen explicitly
 * (compliance.test.ts covers whatever createUdpTransport picks): the native
 * path with GSO/GRO, the native path with both offloads off (plain
 * sendmmsg/recvmmsg), and node:dgram. IPv4 and IPv6 loopback each.
 */
import { runTransportCompliance, type TransportPair } from '@wraith/core/compliance';
import type { Transport } from '@wraith/core';
import { describeIf } from '../../../test/support/prereq.js';
import { createNativeUdpTransport, createUdpTransport, type NativeUdpTransportInit } from '../src/index.js';
import { nativeMissing, turn } from './native-support.js';

async function ipv6Missing(): Promise<string | null> {
  try {
    const t = await createUdpTransport({ bind: '[::1]:0', backend: 'dgram' });
    await t.close();
    return null;
  } catch (e) {
    return `cannot bind [::1]:0 (${String(e)}): IPv6 loopback is unavailable`;
  }
}

function pair(open: (host: string) => Promise<Transport>, host: string): () => Promise<TransportPair> {
  return async () => {
    const a = await open(host);
    const b = await open(host);
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

const native =
  (extra: Partial<NativeUdpTransportInit>) =>
  (host: string): Promise<Transport> =>
    createNativeUdpTransport({ bind: { host, port: 0 }, ...extra });
const dgram = (host: string): Promise<Transport> => createUdpTransport({ bind: { host, port: 0 }, backend: 'dgram' });
const v6 = await ipv6Missing();

describeIf(nativeMissing(), 'native UDP (GSO + GRO)', () => {
  runTransportCompliance('udp-native 127.0.0.1', pair(native({}), '127.0.0.1'));
  describeIf(v6, 'over IPv6 loopback', () => {
    runTransportCompliance('udp-native ::1', pair(native({}), '::1'));
  });
});

describeIf(nativeMissing(), 'native UDP without offloads', () => {
  runTransportCompliance('udp-native plain 127.0.0.1', pair(native({ gso: false, gro: false }), '127.0.0.1'));
  describeIf(v6, 'over IPv6 loopback', () => {
    runTransportCompliance('udp-native plain ::1', pair(native({ gso: false, gro: false }), '::1'));
  });
});

runTransportCompliance('udp-dgram 127.0.0.1', pair(dgram, '127.0.0.1'));
describeIf(v6, 'udp-dgram over IPv6 loopback', () => {
  runTransportCompliance('udp-dgram ::1', pair(dgram, '::1'));
});
