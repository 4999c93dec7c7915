/**
 * The transport boundary: every transport (memory, UDP, AF_XDP) moves
 * datagrams in preallocated batches. A batch and its buffer are valid only
 * until the call (send) or callback (onRecv) returns; the transport copies
 * what it keeps.
 */

/** An IP endpoint. `host` is an IP literal (no brackets for IPv6). */
export interface SocketAddr {
  readonly host: string;
  readonly port: number;
}

export function addrKey(a: SocketAddr): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function addrEquals(a: SocketAddr, b: SocketAddr): boolean {
  return a.port === b.port && a.host === b.host;
}

/**
 * RFC 5952 text of the 16 IPv6 bytes at `at`: lowercase hex, the longest run
 * (>= 2) of zero groups as "::" (transports decode peer addresses with it).
 */
export function formatIPv6(b: Uint8Array, at = 0): string {
  const g: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = ((b[at + 2 * i] as number) << 8) | (b[at + 2 * i + 1] as number);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

/**
 * A batch of datagrams in one buffer. Slot i starts at `offsets[i]` and holds
 * `lengths[i]` bytes; `addrs[i]` is the destination (send) or source (recv).
 * Slots are `slotSize` bytes apart; the buffer is allocated once. A transport
 * may instead build one over memory it owns (`buf`), setting the offsets
 * itself: each slot must still have slotSize bytes.
 */
export class DatagramBatch {
  readonly buf: Uint8Array;
  readonly offsets: Uint32Array;
  readonly lengths: Uint32Array;
  readonly addrs: SocketAddr[];
  readonly capacity: number;
  readonly slotSize: number;
  count = 0;

  constructor(capacity: number, slotSize: number, buf?: Uint8Array) {
    this.capacity = capacity;
    this.slotSize = slotSize;
    this.buf = buf ?? new Uint8Array(capacity * slotSize);
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
    this.addrs = new Array<SocketAddr>(capacity);
    for (let i = 0; i < capacity; i++) this.offsets[i] = i * slotSize;
  }

  /** The bytes of datagram i (a view, valid while the batch is). */
  datagram(i: number): Uint8Array {
    const off = this.offsets[i] ?? 0;
    return this.buf.subarray(off, off + (this.lengths[i] ?? 0));
  }

  /** The writable slot i (a view of slotSize bytes). */
  slot(i: number): Uint8Array {
    const off = this.offsets[i] ?? 0;
    return this.buf.subarray(off, off + this.slotSize);
  }

  /** Append a copy of `bytes` for `addr`; returns false when full. */
  push(bytes: Uint8Array, addr: SocketAddr): boolean {
    if (this.count >= this.capacity || bytes.length > this.slotSize) return false;
    const i = this.count++;
    this.buf.set(bytes, this.offsets[i]);
    this.lengths[i] = bytes.length;
    this.addrs[i] = addr;
    return true;
  }

  clear(): void {
    this.count = 0;
  }
}

export interface TransportCaps {
  /** Sends equal-size datagrams to one destination as one segmented send. */
  readonly gso: boolean;
  /** Receives coalesced datagrams and splits them. */
  readonly gro: boolean;
  /** Bypasses the kernel stack through AF_XDP. */
  readonly xdp: boolean;
}

export interface TransportStats {
  txPackets: number;
  txBytes: number;
  rxPackets: number;
  rxBytes: number;
  /** Datagrams the transport could not take or deliver (queue full, send error). */
  txDropped: number;
  rxDropped: number;
  /** Transport-specific counters (e.g. per-queue AF_XDP ring counters). */
  extra?: Record<string, number>;
}

export interface Transport {
  readonly name: string;
  readonly caps: TransportCaps;
  /**
   * Send batch[0..count). Returns how many datagrams, from the start, were
   * accepted; when fewer than count, call again after onWritable fires.
   * A datagram longer than maxDatagram(peer) is consumed (counted as
   * accepted), not sent, and counted in txDropped.
   * After close(), send throws WraithError('E_TRANSPORT_CLOSED'): a send on a
   * closed transport is a driver bug, and returning 0 would leave the caller
   * waiting for an onWritable that never comes.
   */
  send(batch: DatagramBatch): number;
  /**
   * Optional: an empty batch whose slots are the transport's own send
   * buffers (AF_XDP: free UMEM frames, with room for the headers in front).
   * The caller writes (and seals) datagrams in place and passes the batch to
   * send(), which then queues them without a copy. Each call takes back what
   * the previous batch left unsent, so the batch is valid until the next
   * txBatch(), and a datagram send() refuses must be copied out before it.
   * null: no full batch of buffers is free now (send a batch of your own).
   */
  txBatch?(): DatagramBatch | null;
  /** Register the receive callback (once). */
  onRecv(cb: (batch: DatagramBatch) => void): void;
  /** Register the callback fired when a refused send may now succeed. */
  onWritable(cb: () => void): void;
  /**
   * Optional: register the callback fired when the kernel reports an ICMP error for a datagram
   * sent to `peer`; `error` is the errno name: ECONNREFUSED (nothing listens on that port),
   * EHOSTUNREACH, ENETUNREACH, EMSGSIZE, ... Advisory: the transport keeps working. Transports
   * that cannot see ICMP errors (node:dgram) do not have it; AF_XDP has it through its kernel socket.
   */
  onUnreachable?(cb: (peer: SocketAddr, error: string) => void): void;
  localAddr(): SocketAddr;
  /** Largest datagram payload this transport can carry to `peer`. */
  maxDatagram(peer: SocketAddr): number;
  /**
   * Optional: the largest UDP payload that reaches `peer` unfragmented as far as this host knows
   * (the route's MTU, lowered by any ICMP "packet too big" the kernel has seen, minus the IP and
   * UDP headers); null when unknown. Larger ones, up to maxDatagram, may leave fragmented.
   */
  pathDatagram?(peer: SocketAddr): number | null;
  /**
   * Optional, cold path (about once a second): null while the transport can still receive,
   * else why not, asked of the kernel. `addressGone`: what it was bound to went with it (a
   * deleted interface), so no other transport on that address can help either.
   */
  lost?(): TransportLoss | null;
  stats(): TransportStats;
  /** Idempotent; after it is called, onRecv and onWritable never fire again. */
  close(): Promise<void>;
}

export interface TransportLoss {
  readonly reason: string;
  readonly addressGone: boolean;
}

/** js-libp2p-style factory: configuration first, then shared components. */
export type TransportFactory<Init, Components = unknown> = (
  init: Init,
) => (components: Components) => Promise<Transport>;

export function emptyStats(): TransportStats {
  return { txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0, txDropped: 0, rxDropped: 0 };
}
