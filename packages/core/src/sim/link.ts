import { SeededRng, type Rng } from '../rng.js';
import { NEVER, type Duration, type Instant } from '../time.js';
import { TimeHeap } from './heap.js';

/** Gilbert–Elliott burst loss: a two-state Markov chain stepped once per packet. */
export interface GilbertElliottConfig {
  /** Probability of moving from the good to the bad state, per packet. */
  pGoodToBad: number;
  /** Probability of moving from the bad to the good state, per packet. */
  pBadToGood: number;
  /** Loss probability in the good state (default 0). */
  lossGood?: number;
  /** Loss probability in the bad state (default 1). */
  lossBad?: number;
}

/** One direction of a simulated path. Every field may be changed between sends (e.g. a blackhole: lossRate = 1). */
export interface SimLinkConfig {
  /** Bottleneck rate in bits per second; 0 or absent: no serialisation delay and no queue. */
  bandwidthBps?: number;
  /** One-way propagation delay, µs. */
  delay: Duration;
  /** Drop-tail limit on the bytes waiting for the bottleneck (including the one being sent); default unlimited. */
  queueBytes?: number;
  /** Independent random loss probability per packet. */
  lossRate?: number;
  /** Burst loss, applied in addition to lossRate. */
  burstLoss?: GilbertElliottConfig;
  /** Fraction of packets delayed by reorderDelay extra (so later ones overtake them). */
  reorderRate?: number;
  /** Extra delay of a reordered packet, µs (default 10 ms). */
  reorderDelay?: Duration;
  /** Fraction of packets delivered twice. */
  duplicateRate?: number;
  /** Fraction of packets with one random byte of the first 50 flipped. */
  corruptRate?: number;
  /** Packets larger than this are dropped. */
  mtu?: number;
}

export interface SimLinkStats {
  sent: number;
  delivered: number;
  droppedQueue: number;
  droppedLoss: number;
  droppedMtu: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  /** Largest bottleneck backlog seen, bytes. */
  maxQueueBytes: number;
}

export interface SimDelivery {
  bytes: Uint8Array;
  meta: unknown;
}

const DEFAULT_REORDER_DELAY: Duration = 10_000;
/** Corruption flips a byte among the first 50: headers, where parsers are most exposed. */
const CORRUPT_SPAN = 50;

/**
 * A deterministic one-direction link: a FIFO bottleneck (serialisation at
 * `bandwidthBps` behind a drop-tail byte queue), then propagation delay, with
 * random and burst loss, reordering, duplication, corruption and an MTU, all
 * drawn from the injected Rng so a run replays from its seed.
 * In-flight datagrams wait in a binary heap keyed by delivery time.
 *
 * `send` copies the bytes. A consumer that is done with a delivered buffer
 * may hand it back with `recycle` so later sends reuse it (no allocation in
 * steady state); a consumer that keeps buffers simply never recycles.
 */
export class SimLink {
  readonly cfg: SimLinkConfig;
  readonly stats: SimLinkStats = {
    sent: 0,
    delivered: 0,
    droppedQueue: 0,
    droppedLoss: 0,
    droppedMtu: 0,
    duplicated: 0,
    corrupted: 0,
    reordered: 0,
    maxQueueBytes: 0,
  };
  private readonly uniform: () => number;
  private readonly heap = new TimeHeap();
  private linkFreeAt: Instant = 0;
  private geBad = false;
  // Datagrams in flight, by slot.
  private readonly slotBytes: Array<Uint8Array | null> = [];
  private readonly slotMeta: unknown[] = [];
  private readonly freeSlots: number[] = [];
  // Recycled buffers by exact length.
  private readonly pool = new Map<number, Uint8Array[]>();
  private readonly out: SimDelivery = { bytes: new Uint8Array(0), meta: undefined };

  constructor(cfg: SimLinkConfig, rng: Rng) {
    this.cfg = cfg;
    if (rng instanceof SeededRng) {
      this.uniform = () => rng.nextFloat();
    } else {
      const b = new Uint8Array(4);
      this.uniform = () => {
        rng.fill(b);
        return (((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0) / 4294967296;
      };
    }
  }

  /** Datagrams on the link (queued or propagating). */
  get inFlight(): number {
    return this.heap.size;
  }

  /** Bytes waiting at the bottleneck at `now`. */
  queuedBytes(now: Instant): number {
    const bw = this.cfg.bandwidthBps ?? 0;
    if (!(bw > 0) || bw === Number.POSITIVE_INFINITY) return 0;
    return (Math.max(0, this.linkFreeAt - now) * bw) / 8e6;
  }

  /** Offer a datagram at `now`; `meta` comes back with it (e.g. the source address). */
  send(now: Instant, bytes: Uint8Array, meta?: unknown): void {
    const cfg = this.cfg;
    const st = this.stats;
    const len = bytes.length;
    st.sent++;
    if (cfg.mtu !== undefined && len > cfg.mtu) {
      st.droppedMtu++;
      return;
    }
    let departs = now;
    const bw = cfg.bandwidthBps ?? 0;
    if (bw > 0 && bw !== Number.POSITIVE_INFINITY) {
      const backlog = this.queuedBytes(now);
      if (cfg.queueBytes !== undefined && backlog + len > cfg.queueBytes) {
        st.droppedQueue++;
        return;
      }
      if (backlog + len > st.maxQueueBytes) st.maxQueueBytes = backlog + len;
      departs = Math.max(now, this.linkFreeAt) + (len * 8e6) / bw;
      this.linkFreeAt = departs;
    }
    // Loss on the wire, after the packet used the bottleneck.
    if (this.lost()) {
      st.droppedLoss++;
      return;
    }
    let at = departs + cfg.delay;
    if (cfg.reorderRate !== undefined && cfg.reorderRate > 0 && this.uniform() < cfg.reorderRate) {
      at += cfg.reorderDelay ?? DEFAULT_REORDER_DELAY;
      st.reordered++;
    }
    const copy = this.take(len);
    copy.set(bytes);
    if (cfg.corruptRate !== undefined && cfg.corruptRate > 0 && len > 0 && this.uniform() < cfg.corruptRate) {
      const i = Math.floor(this.uniform() * Math.min(CORRUPT_SPAN, len));
      copy[i] = (copy[i] as number) ^ (1 + Math.floor(this.uniform() * 255));
      st.corrupted++;
    }
    this.enqueue(at, copy, meta);
    if (cfg.duplicateRate !== undefined && cfg.duplicateRate > 0 && this.uniform() < cfg.duplicateRate) {
      const dup = this.take(len);
      dup.set(copy);
      this.enqueue(at, dup, meta);
      st.duplicated++;
    }
  }

  /** When the next datagram arrives, NEVER if none is on the link. */
  nextDeliveryTime(): Instant {
    return this.heap.size > 0 ? this.heap.peekTime() : NEVER;
  }

  /**
   * The next datagram due by `now`, or null. The returned object is reused by
   * the next call; its `bytes` belong to the caller (see `recycle`).
   */
  pollDelivery(now: Instant): SimDelivery | null {
    if (this.heap.size === 0 || this.heap.peekTime() > now) return null;
    const slot = this.heap.pop();
    this.out.bytes = this.slotBytes[slot] as Uint8Array;
    this.out.meta = this.slotMeta[slot];
    this.slotBytes[slot] = null;
    this.slotMeta[slot] = undefined;
    this.freeSlots.push(slot);
    this.stats.delivered++;
    return this.out;
  }

  /** Return a delivered buffer for reuse; the caller must not touch it afterwards. */
  recycle(bytes: Uint8Array): void {
    let list = this.pool.get(bytes.length);
    if (list === undefined) {
      list = [];
      this.pool.set(bytes.length, list);
    }
    if (list.length < 4096) list.push(bytes);
  }

  private lost(): boolean {
    const cfg = this.cfg;
    const ge = cfg.burstLoss;
    if (ge !== undefined) {
      // Step the chain, then lose with the new state's probability.
      if (this.geBad) {
        if (this.uniform() < ge.pBadToGood) this.geBad = false;
      } else if (this.uniform() < ge.pGoodToBad) {
        this.geBad = true;
      }
      const p = this.geBad ? (ge.lossBad ?? 1) : (ge.lossGood ?? 0);
      if (p > 0 && this.uniform() < p) return true;
    }
    return cfg.lossRate !== undefined && cfg.lossRate > 0 && this.uniform() < cfg.lossRate;
  }

  private take(len: number): Uint8Array {
    const list = this.pool.get(len);
    const b = list !== undefined ? list.pop() : undefined;
    return b ?? new Uint8Array(len);
  }

  private enqueue(at: Instant, bytes: Uint8Array, meta: unknown): void {
    const slot = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : this.slotBytes.length;
    this.slotBytes[slot] = bytes;
    this.slotMeta[slot] = meta;
    this.heap.push(at, slot);
  }
}
