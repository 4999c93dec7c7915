import { performance } from 'node:perf_hooks';
import { DatagramBatch, type Endpoint, type SessionEvent, type SocketAddr, type Transport } from '@wraith/core';

/** Monotonic microseconds for the engine (it never reads a clock itself). */
export function nowMicros(): number {
  return Math.floor(performance.now() * 1000);
}

const BATCH = 64;
/** Batches per loop turn before yielding to I/O, so ACKs are read promptly. */
const FLUSH_ROUNDS = Number(process.env.WRAITH_FLUSH_ROUNDS ?? 4);

/**
 * The driver loop (quinn's shape): datagrams in -> endpoint; drain
 * pollTransmit into the transport in batches; one timer re-armed to
 * pollTimeout. No per-packet timers or promises.
 */
export class Driver {
  private readonly out: DatagramBatch;
  /** Datagrams the transport refused; re-sent when it is writable. */
  private readonly backlog: DatagramBatch;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private flushing = false;
  private scheduled = false;
  private closed = false;
  /** replaceTransport is between closing the old transport and attaching the new one: send nothing. */
  private swapping = false;
  private onEventCb: (e: SessionEvent) => void = () => {};
  /** The transport's ICMP errors (Transport.onUnreachable), for the node's dials. */
  unreachable: ((peer: SocketAddr, error: string) => void) | null = null;

  private current: Transport;

  constructor(
    readonly endpoint: Endpoint,
    transport: Transport,
  ) {
    const slot = Math.max(2048, endpoint.config.maxDatagramSize);
    this.out = new DatagramBatch(BATCH, slot);
    this.backlog = new DatagramBatch(BATCH, slot);
    this.current = transport;
    this.attach(transport);
  }

  get transport(): Transport {
    return this.current;
  }

  private attach(t: Transport): void {
    t.onRecv((batch) => {
      if (t !== this.current) return;
      this.endpoint.handleBatch(nowMicros(), batch);
      this.kick();
    });
    t.onWritable(() => {
      if (t === this.current) this.kick();
    });
    t.onUnreachable?.((peer, error) => {
      if (t === this.current) this.unreachable?.(peer, error);
    });
  }

  /**
   * Swap the transport under running sessions (the XDP watchdog falls back
   * to UDP): the old one is closed first so the new one can bind its port.
   */
  async replaceTransport(open: () => Promise<Transport>): Promise<void> {
    const old = this.current;
    // The loop keeps running meanwhile (timers, kicks); a send on the closed transport would
    // throw E_TRANSPORT_CLOSED out of a timer. Packets wait in the endpoint until the new one is in.
    this.swapping = true;
    await old.close();
    // When the new one does not open, nothing is sent any more (swapping stays on): the caller
    // stops the node, and sends on the closed transport would throw out of timers meanwhile.
    const next = await open();
    this.current = next;
    this.backlog.clear();
    this.attach(next);
    this.swapping = false;
    this.kick();
  }

  onEvent(cb: (e: SessionEvent) => void): void {
    this.onEventCb = cb;
  }

  /** Run the loop soon (after the current microtask burst), once. */
  kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  /** Process events, flush packets and re-arm the timer, now. */
  run(): void {
    if (this.closed || this.flushing) return;
    this.flushing = true;
    try {
      const now = nowMicros();
      if (this.endpoint.pollTimeout() <= now) this.endpoint.handleTimeout(now);
      this.drainEvents();
      this.flush(now);
      this.drainEvents();
      this.arm();
    } finally {
      this.flushing = false;
    }
  }

  private drainEvents(): void {
    for (let e = this.endpoint.pollEvent(); e; e = this.endpoint.pollEvent()) this.onEventCb(e);
  }

  private flush(now: number): void {
    if (this.swapping) return;
    if (this.backlog.count > 0) {
      const n = this.transport.send(this.backlog);
      if (n < this.backlog.count) {
        shiftBatch(this.backlog, n);
        return;
      }
      this.backlog.clear();
    }
    const t = this.transport;
    for (let rounds = 0; rounds < FLUSH_ROUNDS; rounds++) {
      // Packets are built and sealed straight in the transport's buffers when it lends them.
      const lent = t.txBatch?.() ?? null;
      const out = lent !== null && lent.slotSize >= this.endpoint.config.maxDatagramSize ? lent : this.out;
      out.clear();
      const n = this.endpoint.pollTransmit(now, out);
      if (n === 0) return;
      const sent = t.send(out);
      if (sent < out.count) {
        for (let i = sent; i < out.count; i++) this.backlog.push(out.datagram(i), out.addrs[i] as SocketAddr);
        return; // onWritable resumes us
      }
    }
    this.kick(); // more to send: yield to I/O first
  }

  private arm(): void {
    const at = this.endpoint.pollTimeout();
    if (at === Infinity) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    const delayMs = Math.max(0, (at - nowMicros()) / 1000);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.run();
    }, delayMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.current.close();
  }
}

/** Drop the first n datagrams of a batch, keeping the rest in order. */
function shiftBatch(b: DatagramBatch, n: number): void {
  const rest: Array<[Uint8Array, SocketAddr]> = [];
  for (let i = n; i < b.count; i++) rest.push([b.datagram(i).slice(), b.addrs[i] as SocketAddr]);
  b.clear();
  for (const [d, a] of rest) b.push(d, a);
}
