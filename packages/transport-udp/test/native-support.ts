/**
 * Shared by the native-*.test.ts files: the skip reason, datagrams whose
 * bytes name their sequence number, and a sink that copies what arrives.
 */
import { DatagramBatch, type SocketAddr, type Transport } from '@wraith/core';
import { loadNativeUdp } from '../src/native-binding.js';

/** Null when the native UDP binding loaded, else why (tests skip, or fail under WRAITH_CI=1). */
export function nativeMissing(): string | null {
  const { udp, reason } = loadNativeUdp();
  return udp !== null ? null : `native UDP path unavailable: ${reason ?? 'unknown'}`;
}

/** Datagram `seq` of `size` bytes: a 4-byte LE tag, then bytes derived from it. */
export function payload(seq: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let j = 0; j < size; j++) out[j] = j < 4 ? (seq >>> (8 * j)) & 0xff : (seq * 131 + j * 7 + (seq >>> 8)) & 0xff;
  return out;
}

export function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export interface Got {
  bytes: Uint8Array;
  from: SocketAddr;
}

/** Copies every datagram out of the reused receive batch, in arrival order. */
export class Sink {
  readonly got: Got[] = [];
  readonly batches: number[] = [];
  constructor(t: Transport) {
    t.onRecv((b) => {
      this.batches.push(b.count);
      for (let i = 0; i < b.count; i++) this.got.push({ bytes: b.datagram(i).slice(), from: b.addrs[i]! });
    });
  }
}

export const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

/** Event-loop turns until `cond` holds; throws at the deadline. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await turn();
  }
}

/**
 * Sends datagrams (sizes[i] bytes of payload(i), to dsts[i]) in batches of
 * `batchSize`, waiting a turn whenever the transport refuses some.
 */
export async function sendAll(t: Transport, sizes: number[], dsts: SocketAddr[], batchSize = 64): Promise<void> {
  const slot = Math.max(1, ...sizes);
  const batch = new DatagramBatch(batchSize, slot);
  let next = 0;
  while (next < sizes.length) {
    batch.clear();
    for (let s = next; s < sizes.length && batch.count < batchSize; s++) batch.push(payload(s, sizes[s]!), dsts[s]!);
    const accepted = t.send(batch);
    next += accepted;
    if (accepted < batch.count) await turn();
  }
}

/** Native counters (stats().extra) of a transport. */
export function extra(t: Transport): Record<string, number> {
  return t.stats().extra ?? {};
}

/**
 * Null when the kernel takes UDP GSO and GRO on a native socket, else why
 * not (the GSO/GRO tests need both; the rest of the native tests do not).
 */
export function offloadMissing(): string | null {
  const missing = nativeMissing();
  if (missing !== null) return missing;
  const { udp } = loadNativeUdp();
  const s = new udp!.UdpSocket({ host: '127.0.0.1', port: 0, counters: new Float64Array(udp!.counterNames.length) });
  const info = s.info();
  s.close();
  if (!info.gso) return `the kernel refuses UDP_SEGMENT (errno ${info.gsoProbeErrno}): no UDP GSO`;
  if (!info.gro) return `the kernel refuses UDP_GRO (errno ${info.groProbeErrno}): no UDP GRO`;
  return null;
}
