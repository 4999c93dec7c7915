/**
 * The UDP transport factory and its configuration. This is the seam for a
 * faster path: a native sendmmsg/GSO/GRO backend implements the same
 * Transport and is chosen here, with node:dgram as the fallback; callers only
 * ever see `udpTransport(init)` / `createUdpTransport(init)`.
 */
import { WraithError, type SocketAddr, type Transport, type TransportFactory } from '@wraith/core';
import { DgramTransport, type DgramOptions } from './dgram-transport.js';
import { loadNativeUdp } from './native-binding.js';
import { NativeUdpTransport, type NativeUdpOptions, type UdpLogger } from './native-transport.js';
import { checkSocketAddr, parseSocketAddr } from './socket-addr.js';

/** 4 MiB: the default 208 KiB receive buffer lost ~4 % at full rate here; 4 MiB lost none. */
export const UDP_DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024;
/** A 1500-byte MTU minus IPv6 (40) and UDP (8) headers: fits every path of that MTU. */
export const UDP_DEFAULT_MAX_DATAGRAM = 1452;
/** Largest UDP payload over IPv4 (65535 - 20 - 8). */
export const UDP_MAX_PAYLOAD = 65507;
/** Sends in flight before send() refuses; 1024 slots of 1452 B is ~1.4 MiB. */
export const UDP_DEFAULT_SEND_POOL = 1024;
/** Datagrams per receive batch (libuv reads up to 32 per poll wakeup). */
export const UDP_DEFAULT_RECV_BATCH = 64;

export interface UdpTransportInit {
  /** "HOST:PORT", "[IPV6]:PORT" or an object; port 0 picks a free port; "[::]:P" is dual stack. */
  bind: SocketAddr | string;
  recvBufferBytes?: number;
  sendBufferBytes?: number;
  maxDatagram?: number;
  /** Datagrams in flight (copied, not yet completed) before send() accepts fewer. */
  sendPoolSize?: number;
  /** Capacity of the receive batch. */
  recvBatch?: number;
  /**
   * 'auto' (default): the native sendmmsg/GSO/GRO path when the addon is
   * present and neither WRAITH_NO_NATIVE=1 nor WRAITH_UDP_BACKEND=dgram is
   * set, else node:dgram. 'native' fails (E_NATIVE_UNAVAILABLE) instead of
   * falling back.
   */
  backend?: 'auto' | 'native' | 'dgram';
  /** Where the native path logs (once) that the kernel refused GSO; pino fits. */
  log?: UdpLogger;
}

/** Init of the native path, with its offload switches (default: both tried). */
export interface NativeUdpTransportInit extends UdpTransportInit {
  gso?: boolean;
  gro?: boolean;
  /** Test hook: one GSO send fails with this errno, as a kernel refusing GSO would: the first
   *  after `testFailGsoAfter` (default 0) GSO sends succeeded. */
  testFailGso?: number;
  testFailGsoAfter?: number;
}

function intIn(key: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new WraithError('E_CONFIG', `${key} must be an integer in ${lo}..${hi}, got ${String(v)}`, { key });
  }
  return v;
}

/** Validate and fill in defaults; throws E_ADDR_INVALID or E_CONFIG naming the bad value. */
export function resolveUdpInit(init: UdpTransportInit): DgramOptions {
  const bind = typeof init.bind === 'string' ? parseSocketAddr(init.bind) : checkSocketAddr(init.bind);
  return {
    bind,
    recvBufferBytes: intIn('recvBufferBytes', init.recvBufferBytes ?? UDP_DEFAULT_BUFFER_BYTES, 4096, 1 << 30),
    sendBufferBytes: intIn('sendBufferBytes', init.sendBufferBytes ?? UDP_DEFAULT_BUFFER_BYTES, 4096, 1 << 30),
    maxDatagram: intIn('maxDatagram', init.maxDatagram ?? UDP_DEFAULT_MAX_DATAGRAM, 1, UDP_MAX_PAYLOAD),
    sendPoolSize: intIn('sendPoolSize', init.sendPoolSize ?? UDP_DEFAULT_SEND_POOL, 1, 1 << 20),
    recvBatch: intIn('recvBatch', init.recvBatch ?? UDP_DEFAULT_RECV_BATCH, 1, 1 << 16),
  };
}

/**
 * Which UDP path `createUdpTransport` takes here, and why not the native one
 * (`reason`, for the node to log).
 */
export function udpBackend(init: Pick<UdpTransportInit, 'backend'> = {}): { backend: 'native' | 'dgram'; reason: string | null } {
  if (init.backend === 'dgram') return { backend: 'dgram', reason: 'backend = "dgram" was configured' };
  if (init.backend === undefined && process.env['WRAITH_UDP_BACKEND'] === 'dgram') {
    return { backend: 'dgram', reason: 'WRAITH_UDP_BACKEND=dgram' };
  }
  const { udp, reason } = loadNativeUdp();
  return udp !== null ? { backend: 'native', reason: null } : { backend: 'dgram', reason };
}

/** Bind a UDP transport: the native path when available (see udpBackend), else node:dgram. */
export async function createUdpTransport(init: UdpTransportInit): Promise<Transport> {
  const opts = resolveUdpInit(init);
  if (init.backend !== undefined && !['auto', 'native', 'dgram'].includes(init.backend)) {
    throw new WraithError('E_CONFIG', `backend must be "auto", "native" or "dgram", got ${JSON.stringify(init.backend)}`, {
      key: 'backend',
    });
  }
  if (init.backend === 'native' || udpBackend(init).backend === 'native') return NativeUdpTransport.open(nativeOpts(init, opts));
  return DgramTransport.open(opts);
}

/** Bind the native sendmmsg/GSO/GRO transport; E_NATIVE_UNAVAILABLE without the addon. */
export async function createNativeUdpTransport(init: NativeUdpTransportInit): Promise<NativeUdpTransport> {
  return NativeUdpTransport.open(nativeOpts(init, resolveUdpInit(init)));
}

function nativeOpts(init: NativeUdpTransportInit, opts: DgramOptions): NativeUdpOptions {
  return {
    ...opts,
    gso: init.gso ?? true,
    gro: init.gro ?? true,
    log: init.log,
    ...(init.testFailGso !== undefined ? { testFailGso: init.testFailGso } : {}),
    ...(init.testFailGsoAfter !== undefined ? { testFailGsoAfter: init.testFailGsoAfter } : {}),
  };
}

/** Factory form, `udpTransport(init)(components)`, as every transport offers. */
export const udpTransport: TransportFactory<UdpTransportInit> = (init) => () => createUdpTransport(init);
