/**
 * @wraith/transport-xdp: the AF_XDP transport, its probe, and the pieces
 * (XDP program builder, frames) tests and tools use directly.
 */
export { xdpTransport, createXdpTransport, XdpTransport, type XdpTransportInit } from './transport.js';
export {
  createXdpNodeTransport,
  mapXdpConfig,
  parseBind,
  probeError,
  type XdpNodeConfig,
  type XdpNodeDetails,
  type XdpNodeLogger,
  type XdpNodeTransport,
  type XdpNodeTransportOptions,
} from './node-transport.js';
export { probeXdp, xdpUnavailableMessage, type XdpProbe, type XdpCheck } from './probe.js';
export * from './bpf/asm.js';
export { buildXdpProgram, MAX_PORTS, XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT, type XdpProgramSpec } from './bpf/program.js';
export * from './frames.js';
export { loadNativeXdp, nativeXdp, type NativeXdp, type XskSocket, type XdpQuery } from './native.js';
export { routeGet, neighGet, interfaceAddrs, NextHopCache, type HopState } from './neigh.js';
export { rxQueues, numaNode } from './netdev.js';
export type { LogFn } from './attach.js';
