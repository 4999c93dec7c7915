import { SeededRng } from '../rng.js';
import { NEVER, type Duration, type Instant } from '../time.js';
import { createController, type ControllerKind } from '../congestion/controller.js';
import { AckTracker } from '../recovery/ack-tracker.js';
import { LossRecovery } from '../recovery/loss.js';
import { RttEstimator } from '../recovery/rtt.js';
import { SimLink, type SimLinkConfig, type SimLinkStats } from './link.js';

/**
 * A packet-level bulk-transfer simulator for congestion control: senders
 * driven by LossRecovery + a controller + the pacer share one bottleneck
 * SimLink to receivers with an AckTracker; ACKs come back over per-flow
 * reverse links. Each data packet carries one "chunk" of new data or a
 * retransmission of a lost one, so goodput (unique chunks) and stalls
 * (in-order progress) are measured, not assumed. Runs on a virtual clock.
 */

export interface FlowSpec {
  controller: ControllerKind;
  /** When the flow starts sending, µs (default 0). */
  startAt?: Instant;
}

export interface FlowSimConfig {
  seed: number;
  flows: FlowSpec[];
  /** The shared forward bottleneck (its delay is the one-way forward delay). */
  bottleneck: SimLinkConfig;
  /** One-way delay of the ACK path, µs. */
  reverseDelay: Duration;
  /** Optional impairments on the ACK path (its delay is reverseDelay). */
  reverse?: Omit<SimLinkConfig, 'delay'>;
  /** Simulated time to run, µs. */
  duration: Duration;
  /** Statistics window start (default 0); it ends at `duration`. */
  measureFrom?: Instant;
  /** Datagram size (default 1452). */
  mtu?: number;
  /** Peer max_ack_delay, µs (default 25 ms). */
  maxAckDelay?: Duration;
  /** Sender's PTO cap (LossRecovery maxPtoInterval; default 1 s). */
  maxPtoInterval?: Duration;
  /** Changes to the bottleneck at given times (e.g. a blackhole: lossRate 1, then 0). */
  events?: Array<{ at: Instant; bottleneck: Partial<SimLinkConfig> }>;
  /** Called every traceInterval with each flow's metrics. */
  trace?: (now: Instant, flow: number, metrics: Record<string, number>) => void;
  traceInterval?: Duration;
}

export interface FlowStats {
  controller: ControllerKind;
  /** Unique data bytes received in the statistics window. */
  goodputBytes: number;
  /** Goodput over the window, bits per second. */
  goodputBps: number;
  /** Unique data bytes received over the whole run. */
  totalBytes: number;
  /** RTT samples (µs) taken by the sender in the window. */
  rttSamples: number;
  rttMedian: Duration;
  rttMin: Duration;
  rttP95: Duration;
  packetsSent: number;
  packetsLost: number;
  retransmitted: number;
  ptoFired: number;
  /** Longest time without in-order progress at the receiver, after the flow's first delivery, µs. */
  maxStall: Duration;
  /** Chunks received in order from the start (no gaps). */
  inOrderChunks: number;
  /** Goodput per second over the whole run, bits per second. */
  perSecondBps: number[];
  metrics: Record<string, number>;
}

export interface FlowSimResult {
  flows: FlowStats[];
  bottleneck: SimLinkStats;
  /** Event-loop iterations (a cost measure). */
  steps: number;
}

const DEFAULT_MTU = 1452;
// Forward-link meta packs (flow, pn, chunk) into one number so nothing is allocated per packet.
const FLOW_BITS = 16;
const PN_SPAN = 2 ** 24;
/** Iterations at one instant before the loop declares itself stuck. */
const STUCK_LIMIT = 100_000;

interface Flow {
  readonly spec: FlowSpec;
  readonly startAt: Instant;
  readonly rtt: RttEstimator;
  readonly lr: LossRecovery<number>;
  readonly acks: AckTracker;
  readonly reverse: SimLink;
  nextPn: number;
  nextChunk: number;
  retx: number[];
  retxHead: number;
  probesOwed: number;
  retransmitted: number;
  // Receiver.
  received: Uint8Array;
  inOrder: number;
  lastProgress: Instant;
  firstDelivery: Instant;
  maxStall: Duration;
  goodput: number;
  total: number;
  perSecond: number[];
  rttBuf: Float64Array;
  rttCount: number;
}

export function runFlows(cfg: FlowSimConfig): FlowSimResult {
  const mtu = cfg.mtu ?? DEFAULT_MTU;
  const maxAckDelay = cfg.maxAckDelay ?? 25_000;
  const measureFrom = cfg.measureFrom ?? 0;
  const end = cfg.duration;
  const rng = new SeededRng(cfg.seed);
  const fwd = new SimLink(cfg.bottleneck, rng.fork());
  const payload = new Uint8Array(mtu);
  const ackBytes = new Float64Array(3 + 2 * 32);
  const ackView = new Uint8Array(ackBytes.buffer);
  // One view per range count, so encoding an ACK allocates nothing.
  const ackViews: Uint8Array[] = [];
  for (let n = 0; n <= 32; n++) ackViews.push(ackView.subarray(0, 8 * (3 + 2 * n)));
  const ranges: Array<[number, number]> = [];
  const tuples: Array<[number, number]> = [];
  for (let i = 0; i < 32; i++) tuples.push([0, 0]);

  if (cfg.flows.length > FLOW_BITS) throw new RangeError(`at most ${FLOW_BITS} flows`);
  const flows: Flow[] = cfg.flows.map((spec) => {
    const rtt = new RttEstimator();
    const cc = createController(spec.controller, { mtu, rng: rng.fork() });
    return {
      spec,
      startAt: spec.startAt ?? 0,
      rtt,
      lr: new LossRecovery<number>({ congestion: cc, rtt, maxAckDelay, mtu, ...(cfg.maxPtoInterval !== undefined ? { maxPtoInterval: cfg.maxPtoInterval } : {}) }),
      acks: new AckTracker({ maxAckDelay }),
      reverse: new SimLink({ ...cfg.reverse, delay: cfg.reverseDelay }, rng.fork()),
      nextPn: 0,
      nextChunk: 0,
      retx: [],
      retxHead: 0,
      probesOwed: 0,
      retransmitted: 0,
      received: new Uint8Array(1 << 16),
      inOrder: 0,
      lastProgress: 0,
      firstDelivery: -1,
      maxStall: 0,
      goodput: 0,
      total: 0,
      perSecond: [],
      rttBuf: new Float64Array(1 << 16),
      rttCount: 0,
    };
  });

  const sendOne = (f: Flow, idx: number, now: Instant): void => {
    let chunk: number;
    if (f.retxHead < f.retx.length) {
      chunk = f.retx[f.retxHead++] as number;
      f.retransmitted++;
      if (f.retxHead === f.retx.length) {
        f.retx.length = 0;
        f.retxHead = 0;
      }
    } else {
      chunk = f.nextChunk++;
    }
    const pn = f.nextPn++;
    f.lr.onPacketSent(now, pn, mtu, true, true, chunk);
    f.lr.pacer.onSent(now, mtu);
    fwd.send(now, payload, idx + FLOW_BITS * (pn + PN_SPAN * chunk));
  };

  const onData = (now: Instant, meta: number): void => {
    const idx = meta % FLOW_BITS;
    const rest = (meta - idx) / FLOW_BITS;
    const pn = rest % PN_SPAN;
    const chunk = (rest - pn) / PN_SPAN;
    const f = flows[idx] as Flow;
    f.acks.onPacketReceived(now, pn, true);
    if (chunk >= f.received.length) {
      const next = new Uint8Array(Math.max(f.received.length * 2, chunk + 1));
      next.set(f.received);
      f.received = next;
    }
    if (f.received[chunk] === 1) return; // spurious retransmission
    f.received[chunk] = 1;
    f.total += mtu;
    if (now >= measureFrom) f.goodput += mtu;
    const sec = Math.floor(now / 1e6);
    while (f.perSecond.length <= sec) f.perSecond.push(0);
    f.perSecond[sec] = (f.perSecond[sec] as number) + mtu * 8;
    if (f.firstDelivery < 0) {
      f.firstDelivery = now;
      f.lastProgress = now;
    }
    if (chunk === f.inOrder) {
      while (f.inOrder < f.received.length && f.received[f.inOrder] === 1) f.inOrder++;
      const stall = now - f.lastProgress;
      if (stall > f.maxStall) f.maxStall = stall;
      f.lastProgress = now;
    }
  };

  const sendAck = (f: Flow, now: Instant): void => {
    const ack = f.acks.buildAck(now);
    if (ack === null) {
      f.acks.onAckSent(now);
      return;
    }
    const n = ack.ranges.length;
    ackBytes[0] = ack.largest;
    ackBytes[1] = ack.ackDelay;
    ackBytes[2] = n;
    for (let i = 0; i < n; i++) {
      const r = ack.ranges[i] as [number, number];
      ackBytes[3 + 2 * i] = r[0];
      ackBytes[4 + 2 * i] = r[1];
    }
    f.reverse.send(now, ackViews[n] as Uint8Array, undefined);
    f.acks.onAckSent(now);
  };

  const onAck = (f: Flow, now: Instant, bytes: Uint8Array): void => {
    ackView.set(bytes);
    const v = ackBytes;
    const n = v[2] as number;
    ranges.length = n;
    for (let i = 0; i < n; i++) {
      const t = tuples[i] as [number, number];
      t[0] = v[3 + 2 * i] as number;
      t[1] = v[4 + 2 * i] as number;
      ranges[i] = t;
    }
    const before = f.rtt.samples;
    const res = f.lr.onAckReceived(now, v[0] as number, v[1] as number, ranges);
    for (const c of res.lost) f.retx.push(c);
    if (f.rtt.samples !== before && now >= measureFrom) {
      if (f.rttCount === f.rttBuf.length) {
        const next = new Float64Array(f.rttBuf.length * 2);
        next.set(f.rttBuf);
        f.rttBuf = next;
      }
      f.rttBuf[f.rttCount++] = f.rtt.latest;
    }
  };

  let now: Instant = 0;
  let steps = 0;
  let stuck = 0;
  let nextTrace = cfg.trace !== undefined ? 0 : NEVER;
  const traceInterval = cfg.traceInterval ?? 1_000_000;
  const events = [...(cfg.events ?? [])].sort((a, b) => a.at - b.at);
  let nextEvent = 0;
  for (;;) {
    steps++;
    while (nextEvent < events.length && (events[nextEvent] as { at: Instant }).at <= now) {
      Object.assign(fwd.cfg, (events[nextEvent] as { bottleneck: Partial<SimLinkConfig> }).bottleneck);
      nextEvent++;
    }
    // Deliveries.
    for (let d = fwd.pollDelivery(now); d !== null; d = fwd.pollDelivery(now)) {
      const b = d.bytes;
      onData(now, d.meta as number);
      fwd.recycle(b);
    }
    for (const f of flows) {
      for (let d = f.reverse.pollDelivery(now); d !== null; d = f.reverse.pollDelivery(now)) {
        const b = d.bytes;
        onAck(f, now, b);
        f.reverse.recycle(b);
      }
    }
    // Receivers' ACK timers, senders' loss/PTO timers, then sending.
    for (let i = 0; i < flows.length; i++) {
      const f = flows[i] as Flow;
      if (f.acks.ackDeadline() <= now) sendAck(f, now);
      if (f.lr.timeout() <= now) {
        const res = f.lr.onTimeout(now);
        for (const c of res.lost) f.retx.push(c);
        f.probesOwed += res.probes;
      }
      if (now < f.startAt) continue;
      while (f.probesOwed > 0) {
        f.probesOwed--;
        sendOne(f, i, now);
      }
      while (f.lr.canSend(mtu) && f.lr.pacer.nextSendTime(now, mtu) <= now) sendOne(f, i, now);
    }
    if (now >= nextTrace) {
      for (let i = 0; i < flows.length; i++) cfg.trace?.(now, i, (flows[i] as Flow).lr.metrics());
      nextTrace += traceInterval;
    }
    if (now >= end) break;
    // Next event.
    let next = Math.min(fwd.nextDeliveryTime(), nextTrace, end, nextEvent < events.length ? (events[nextEvent] as { at: Instant }).at : NEVER);
    for (const f of flows) {
      next = Math.min(next, f.reverse.nextDeliveryTime(), f.acks.ackDeadline(), f.lr.timeout());
      if (now < f.startAt) next = Math.min(next, f.startAt);
      else if (f.lr.canSend(mtu)) next = Math.min(next, f.lr.pacer.nextSendTime(now, mtu));
    }
    if (next <= now) {
      // Every source re-arms in the future after being served; a repeat means a bug.
      if (++stuck > STUCK_LIMIT) {
        const why = flows.map((f) => ({
          reverse: f.reverse.nextDeliveryTime(),
          ack: f.acks.ackDeadline(),
          timeout: f.lr.timeout(),
          canSend: f.lr.canSend(mtu),
          pacer: f.lr.pacer.nextSendTime(now, mtu),
        }));
        throw new Error(`flow simulation stuck at t=${now} µs: ${JSON.stringify({ fwd: fwd.nextDeliveryTime(), flows: why })}`);
      }
    } else {
      stuck = 0;
    }
    now = Math.max(next, now);
  }

  const window = (end - measureFrom) / 1e6;
  return {
    flows: flows.map((f): FlowStats => {
      const rtts = f.rttBuf.slice(0, f.rttCount).sort();
      const q = (p: number): number => (rtts.length > 0 ? (rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))] as number) : NaN);
      const m = f.lr.metrics();
      return {
        controller: f.spec.controller,
        goodputBytes: f.goodput,
        goodputBps: (f.goodput * 8) / window,
        totalBytes: f.total,
        rttSamples: rtts.length,
        rttMedian: q(0.5),
        rttMin: rtts.length > 0 ? (rtts[0] as number) : NaN,
        rttP95: q(0.95),
        packetsSent: f.nextPn,
        packetsLost: m['lost_packets'] ?? 0,
        retransmitted: f.retransmitted,
        ptoFired: m['pto_fired'] ?? 0,
        maxStall: Math.max(f.maxStall, f.firstDelivery >= 0 ? end - f.lastProgress : end),
        inOrderChunks: f.inOrder,
        perSecondBps: f.perSecond,
        metrics: m,
      };
    }),
    bottleneck: fwd.stats,
    steps,
  };
}
