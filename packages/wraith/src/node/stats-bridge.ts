import type { Endpoint, Transport } from '@wraith/core';
import type { Stats } from '../stats.js';

/**
 * Copies the engine's and the transport's counters into the stats registry
 * (as deltas, so Prometheus counters only grow). Runs once a second and at
 * shutdown, never per packet.
 */
export class StatsBridge {
  private last = new Map<string, number>();
  /** Path validations already counted, by session id. */
  private pathSeen = new Map<number, number>();
  private lastXdp: boolean | null = null;

  constructor(
    private readonly stats: Stats,
    private readonly endpoint: Endpoint,
    private readonly transport: Pick<Transport, 'stats' | 'name'>,
  ) {}

  private delta(key: string, value: number): number {
    const prev = this.last.get(key) ?? 0;
    this.last.set(key, value);
    return value > prev ? value - prev : 0;
  }

  update(): void {
    const s = this.stats;
    const t = this.transport.stats();
    s.packets.inc({ direction: 'tx' }, this.delta('tx_packets', t.txPackets));
    s.packets.inc({ direction: 'rx' }, this.delta('rx_packets', t.rxPackets));
    s.bytes.inc({ direction: 'tx' }, this.delta('tx_bytes', t.txBytes));
    s.bytes.inc({ direction: 'rx' }, this.delta('rx_bytes', t.rxBytes));
    for (const [reason, n] of Object.entries(this.endpoint.drops.snapshot())) {
      const d = this.delta(`drop_${reason}`, n);
      if (d > 0) s.drops.inc({ reason }, d);
    }
    const c = this.endpoint.counters;
    const cookie = this.delta('cookies', c.cookiesSent);
    if (cookie > 0) s.handshakes.inc({ outcome: 'cookie_sent' }, cookie);
    const vn = this.delta('vn', c.versionNegotiations);
    if (vn > 0) s.handshakes.inc({ outcome: 'version_mismatch' }, vn);
    s.dhOperations.inc(this.delta('dh', c.dhOperations));
    s.cookiesValidated.inc(this.delta('cookies_validated', c.cookiesValidated));
    s.statelessResets.inc({ direction: 'tx' }, this.delta('resets_tx', c.statelessResetsSent));
    s.statelessResets.inc({ direction: 'rx' }, this.delta('resets_rx', c.statelessResetsReceived));
    let cwnd = 0;
    let pacing = 0;
    let lost = 0;
    let established = 0;
    let pathValidations = 0;
    const live = new Map<number, number>();
    for (const sess of this.endpoint.listSessions()) {
      const m = sess.metrics();
      // Per session, so validations of sessions that closed since are not lost from the sum.
      const pv = m['path_validations'] ?? 0;
      pathValidations += Math.max(0, pv - (this.pathSeen.get(sess.id) ?? 0));
      live.set(sess.id, pv);
      cwnd += m['cwnd'] ?? 0;
      pacing += (m['pacing_rate_bps'] ?? 0) / 8; // the engine reports bits per second
      lost += m['packets_lost'] ?? 0;
      if (sess.established) established++;
      const srtt = m['srtt_us'];
      if (srtt && srtt > 0) s.rtt.observe(srtt / 1e6);
    }
    s.cwnd.set(cwnd);
    s.pacingRate.set(pacing);
    s.sessions.set(established);
    s.lostPackets.inc(this.delta('lost_live', lost));
    s.pathValidations.inc(pathValidations);
    this.pathSeen = live;
    // Each transport's own figures under its own name: the UDP socket's are no AF_XDP ring's.
    // After a fallback from XDP to UDP the rings are gone: their figures go with them.
    const xdp = this.transport.name === 'xdp';
    if (xdp !== this.lastXdp) (xdp ? s.udpSocket : s.xdpRing).reset();
    this.lastXdp = xdp;
    const own = xdp ? s.xdpRing : s.udpSocket;
    if (t.extra) for (const [k, v] of Object.entries(t.extra)) own.set({ stat: snakeCase(k) }, v);
  }
}

/** "recvBufferBytes" as "recv_buffer_bytes", the form of every other label value. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
