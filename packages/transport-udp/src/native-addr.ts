/**
 * Addresses across the native UDP boundary, without a string per datagram.
 *
 * Receive: native writes each source as numbers (family, 16 address bytes,
 * port, scope); SourceDecoder turns them into SocketAddr objects, reusing one
 * object per peer (a cache keyed by numbers), so steady traffic allocates
 * nothing. Send: PeerTable gives each destination a small integer id and
 * registers it with the socket once; a batch then crosses as a Uint32Array.
 */
import { formatIPv6, type SocketAddr } from '@wraith/core';

/** SocketAddr objects kept per cache; the cache is emptied when full (a reset, not a leak). */
export const ADDR_CACHE_LIMIT = 4096;

export { formatIPv6 };

interface V6Entry {
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  port: number;
  scope: number;
  addr: SocketAddr;
}

/**
 * Decodes sources written by native (see UdpPollOptions in native/index.d.ts)
 * into cached SocketAddr objects. IPv4-mapped IPv6 arrives as family 4, so
 * IPv4 peers of a dual-stack socket read as plain IPv4.
 */
export class SourceDecoder {
  readonly ip: Uint8Array;
  readonly ports: Uint16Array;
  readonly families: Uint8Array;
  readonly scopes: Uint32Array;
  private readonly words: Uint32Array;
  private readonly v4 = new Map<number, SocketAddr>();
  // Keyed by a hash of the address words and port; entries are compared in full.
  private readonly v6 = new Map<number, V6Entry[]>();
  private size = 0;

  constructor(capacity: number) {
    this.ip = new Uint8Array(16 * capacity);
    this.ports = new Uint16Array(capacity);
    this.families = new Uint8Array(capacity);
    this.scopes = new Uint32Array(capacity);
    this.words = new Uint32Array(this.ip.buffer, this.ip.byteOffset, 4 * capacity);
  }

  /**
   * Fills addrs[0..count) for one delivered batch. Family 0 means "same
   * source as the datagram before" (the segments of one GRO buffer).
   */
  decode(addrs: SocketAddr[], count: number): void {
    let prev: SocketAddr | undefined;
    for (let i = 0; i < count; i++) {
      const fam = this.families[i]!;
      if (fam === 0 && prev !== undefined) {
        addrs[i] = prev;
        continue;
      }
      prev = fam === 6 ? this.decodeV6(i) : this.decodeV4(i);
      addrs[i] = prev;
    }
  }

  private reserve(): void {
    if (this.size < ADDR_CACHE_LIMIT) return;
    this.v4.clear();
    this.v6.clear();
    this.size = 0;
  }

  private decodeV4(i: number): SocketAddr {
    const b = this.ip;
    const o = 16 * i;
    const port = this.ports[i]!;
    // 32 address bits and 16 port bits: an exact key, below 2^53.
    const key = (b[o]! * 16777216 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)) * 65536 + port;
    let a = this.v4.get(key);
    if (a === undefined) {
      this.reserve();
      a = { host: `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`, port };
      this.v4.set(key, a);
      this.size++;
    }
    return a;
  }

  private decodeV6(i: number): SocketAddr {
    const w = this.words;
    const w0 = w[4 * i]!;
    const w1 = w[4 * i + 1]!;
    const w2 = w[4 * i + 2]!;
    const w3 = w[4 * i + 3]!;
    const port = this.ports[i]!;
    const scope = this.scopes[i]!;
    const key = (Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca77) ^ Math.imul(w3, 0xc2b2ae3d), 0x27d4eb2f) >>> 0) *
      65536 + (port ^ scope);
    let bucket = this.v6.get(key);
    if (bucket !== undefined) {
      for (const e of bucket) {
        if (e.w0 === w0 && e.w1 === w1 && e.w2 === w2 && e.w3 === w3 && e.port === port && e.scope === scope) return e.addr;
      }
    }
    this.reserve();
    if (this.size === 0) bucket = undefined; // the reset dropped it
    const text = formatIPv6(this.ip, 16 * i);
    const addr: SocketAddr = { host: scope !== 0 ? `${text}%${scope}` : text, port };
    if (bucket === undefined) {
      bucket = [];
      this.v6.set(key, bucket);
    }
    bucket.push({ w0, w1, w2, w3, port, scope, addr });
    this.size++;
    return addr;
  }
}

/** What PeerTable needs from the socket: registering id -> destination. */
export interface PeerSink {
  setPeer(id: number, host: string, port: number): boolean;
}

/**
 * Destination ids for send(). An id is registered with the socket once; a
 * repeat destination (the same object, or equal host and port) costs one map
 * hit. When the table is full it starts over, only between chunks of a send
 * (reserve()), so no id in flight is ever reassigned.
 */
export class PeerTable {
  readonly capacity: number;
  readonly unroutable: number;
  private readonly sink: PeerSink;
  private byObject = new WeakMap<SocketAddr, number>();
  private readonly byKey = new Map<string, number>();
  private next = 0;
  private lastAddr: SocketAddr | undefined;
  private lastId = 0;
  /** Times the table started over (for stats). */
  resets = 0;

  constructor(sink: PeerSink, capacity: number, unroutable: number) {
    this.sink = sink;
    this.capacity = capacity;
    this.unroutable = unroutable;
  }

  /** Make room for `n` new ids (n <= capacity), starting over if needed. */
  reserve(n: number): void {
    if (this.next + n <= this.capacity) return;
    this.byObject = new WeakMap();
    this.byKey.clear();
    this.next = 0;
    this.lastAddr = undefined;
    this.resets++;
  }

  /** The id of `a`, or `unroutable` when the socket cannot reach it. */
  id(a: SocketAddr): number {
    if (a === this.lastAddr) return this.lastId;
    let id = this.byObject.get(a);
    if (id === undefined) {
      const key = `${a.host}|${a.port}`;
      id = this.byKey.get(key);
      if (id === undefined) {
        if (this.next >= this.capacity) throw new Error('PeerTable: id() without reserve()');
        id = this.register(this.next, a) ? this.next++ : this.unroutable;
        this.byKey.set(key, id);
      }
      this.byObject.set(a, id);
    }
    this.lastAddr = a;
    this.lastId = id;
    return id;
  }

  private register(id: number, a: SocketAddr): boolean {
    try {
      return this.sink.setPeer(id, a.host, a.port);
    } catch {
      return false; // a port that is no integer in 0..65535: the kernel would refuse it too
    }
  }
}
