export {
  createNativeUdpTransport,
  createUdpTransport,
  resolveUdpInit,
  udpTransport,
  UDP_DEFAULT_BUFFER_BYTES,
  UDP_DEFAULT_MAX_DATAGRAM,
  UDP_DEFAULT_RECV_BATCH,
  UDP_DEFAULT_SEND_POOL,
  UDP_MAX_PAYLOAD,
  udpBackend,
  type NativeUdpTransportInit,
  type UdpTransportInit,
} from './udp-transport.js';
export { NativeUdpTransport, type UdpLogger } from './native-transport.js';
export { formatIPv6 } from './native-addr.js';
export { checkSocketAddr, mapV4, parseSocketAddr, unmapV4 } from './socket-addr.js';
export { readKernelDrops } from './kernel-drops.js';
