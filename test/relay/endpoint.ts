/** A plain UDP socket that records what it receives, for driving the relay in tests. */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { SocketAddr } from '../support/relay.js';

export interface Got {
  seq: number;
  bytes: Buffer;
  from: SocketAddr;
  atMs: number;
}

export class Endpoint {
  readonly got: Got[] = [];
  private constructor(private readonly sock: dgram.Socket) {
    sock.on('message', (msg, rinfo) => {
      this.got.push({
        seq: msg.length >= 4 ? msg.readUInt32LE(0) : -1,
        bytes: msg,
        from: { host: rinfo.address, port: rinfo.port },
        atMs: performance.now(),
      });
    });
  }

  static async open(host = '127.0.0.1'): Promise<Endpoint> {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, host, () => resolve());
    });
    sock.setRecvBufferSize(4 * 1024 * 1024);
    return new Endpoint(sock);
  }

  get addr(): SocketAddr {
    const a = this.sock.address();
    return { host: a.address, port: a.port };
  }

  /** Send datagram `seq` (4-byte little-endian seq, then a fill pattern) of `size` bytes. */
  send(to: SocketAddr, seq: number, size = 100): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock.send(datagram(seq, size), to.port, to.host, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Send seq [from, to) in bursts of `burst`, letting the loop turn between bursts. */
  async sendRange(to: SocketAddr, from: number, end: number, size = 100, burst = 50): Promise<void> {
    for (let s = from; s < end; s += burst) {
      const sends: Promise<void>[] = [];
      for (let k = s; k < Math.min(end, s + burst); k++) sends.push(this.send(to, k, size));
      await Promise.all(sends);
      await new Promise((r) => setImmediate(r));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.sock.close(() => resolve()));
  }
}

export function datagram(seq: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 4; i < size; i++) b[i] = (seq * 7 + i) & 0xff;
  b.writeUInt32LE(seq, 0);
  return b;
}

/** Poll until `cond` holds; throws after `ms` (default 3 s) naming what was awaited. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
