/**
 * The node's metrics: one prom-client Registry per node (never the global one, so tests and
 * several nodes in one process stay apart). Components write to the named metrics below; the
 * admin API serves `metrics()` as Prometheus text; tests read values with `read()`.
 * Every name and label value is documented in docs/METRICS.md.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Direction = 'tx' | 'rx';
export type DropReason =
  | 'malformed'
  | 'decrypt'
  | 'replay'
  | 'unknown_cid'
  | 'too_short'
  | 'version'
  | 'rate_limited'
  | 'buffer_full'
  | 'integrity'
  | 'flow_control'
  | 'ring_full';
export type HandshakeOutcome = 'ok' | 'timeout' | 'rejected' | 'auth_failed' | 'cookie_sent' | 'version_mismatch';
export type TransferOutcome = 'completed' | 'already_present' | 'failed' | 'cancelled' | 'rejected';
export type TransferDirection = 'send' | 'receive';
export type IoOp = 'open' | 'read' | 'write' | 'fsync' | 'install';

type Sample = { value: number; labels: Record<string, unknown>; metricName?: string };

const RTT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];

export class Stats {
  readonly registry = new Registry();

  readonly packets = this.counter('wraith_packets_total', 'Datagrams sent (tx) and received (rx).', ['direction']);
  readonly bytes = this.counter('wraith_bytes_total', 'UDP payload bytes sent (tx) and received (rx).', ['direction']);
  readonly drops = this.counter('wraith_drops_total', 'Datagrams or frames dropped, by reason.', ['reason']);
  readonly retransmittedPackets = this.counter('wraith_retransmitted_packets_total', 'Packets whose frames were sent again after loss.', []);
  readonly retransmittedBytes = this.counter('wraith_retransmitted_bytes_total', 'Chunk payload bytes sent more than once.', []);
  readonly lostPackets = this.counter('wraith_lost_packets_total', 'Packets declared lost (RFC 9002).', []);
  readonly rtt = new Histogram({
    name: 'wraith_rtt_seconds',
    help: 'RTT samples from acknowledgements.',
    buckets: RTT_BUCKETS,
    registers: [this.registry],
  });
  readonly cwnd = this.gauge('wraith_cwnd_bytes', 'Congestion window, summed over sessions.', []);
  readonly pacingRate = this.gauge('wraith_pacing_rate_bytes_per_second', 'Pacing rate, summed over sessions.', []);
  readonly handshakes = this.counter('wraith_handshakes_total', 'Handshakes by outcome.', ['outcome']);
  readonly sessions = this.gauge('wraith_sessions', 'Established sessions now.', []);
  readonly sessionsOpened = this.counter('wraith_sessions_opened_total', 'Sessions established.', []);
  readonly dhOperations = this.counter('wraith_dh_operations_total', 'X25519 operations done for handshakes (2 per answered INITIATION, 1 per FINISH read, 3 per RESPONSE read).', []);
  readonly cookiesValidated = this.counter('wraith_cookies_validated_total', 'INITIATIONs that carried a valid cookie.', []);
  readonly pathValidations = this.counter('wraith_path_validations_total', 'Peer address changes confirmed by PATH_CHALLENGE/PATH_RESPONSE.', []);
  readonly statelessResets = this.counter(
    'wraith_stateless_resets_total',
    'Stateless resets sent for packets to unknown connection ids (tx), and received from a peer, ending a session (rx).',
    ['direction'],
  );
  readonly transfers = this.counter('wraith_transfers_total', 'Finished transfers by direction and outcome.', ['direction', 'outcome']);
  readonly transfersActive = this.gauge('wraith_transfers_active', 'Transfers in progress.', ['direction']);
  readonly payloadBytes = this.counter('wraith_transfer_payload_bytes_total', 'File bytes delivered and verified (no retransmissions, no resumed bytes).', ['direction']);
  readonly fileIoOps = this.counter('wraith_file_io_ops_total', 'File operations by kind.', ['op', 'backend']);
  readonly fileIoBytes = this.counter('wraith_file_io_bytes_total', 'File bytes read and written.', ['op', 'backend']);
  readonly transportInfo = this.gauge('wraith_transport_info', 'Always 1; labels tell what runs.', ['transport', 'io_backend', 'crypto_backend', 'zero_copy']);
  readonly xdpRing = this.gauge('wraith_xdp_ring_stat', 'AF_XDP socket statistics copied from the kernel (XDP_STATISTICS).', ['stat']);

  constructor(opts: { processMetrics?: boolean } = {}) {
    // Node process metrics (CPU, memory, event loop lag) for the daemon; off for tests.
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'wraith_process_' });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  // Typed shorthands for the label values documented in docs/METRICS.md.
  drop(reason: DropReason, n = 1): void {
    this.drops.inc({ reason }, n);
  }

  handshake(outcome: HandshakeOutcome): void {
    this.handshakes.inc({ outcome });
  }

  transferFinished(direction: TransferDirection, outcome: TransferOutcome): void {
    this.transfers.inc({ direction, outcome });
  }

  fileIo(op: IoOp, backend: 'io_uring' | 'fs', bytes = 0): void {
    this.fileIoOps.inc({ op, backend });
    if (bytes > 0) this.fileIoBytes.inc({ op, backend }, bytes);
  }

  /** Marks the active transport: sets the one transport_info series to 1 and clears others. */
  setTransportInfo(info: { transport: string; io_backend: string; crypto_backend: string; zero_copy: string }): void {
    this.transportInfo.reset();
    this.transportInfo.set(info, 1);
  }

  /** Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The value of a counter or gauge, summed over the series whose labels include `labels`
   * (so `read('wraith_packets_total')` is all directions). 0 for a series never written.
   */
  async read(name: MetricName, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (metric === undefined) throw new Error(`no metric ${name}`);
    const values = (await metric.get()).values as Sample[];
    return values
      .filter((v) => v.metricName === undefined || v.metricName === name)
      .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
      .reduce((sum, v) => sum + v.value, 0);
  }

  /** count and sum of a histogram. */
  async readHistogram(name: HistogramName): Promise<{ count: number; sum: number }> {
    const metric = this.registry.getSingleMetric(name);
    if (metric === undefined) throw new Error(`no metric ${name}`);
    const values = (await metric.get()).values as Sample[];
    const pick = (suffix: string): number =>
      values.filter((v) => v.metricName === `${name}${suffix}`).reduce((s, v) => s + v.value, 0);
    return { count: pick('_count'), sum: pick('_sum') };
  }
}

export type MetricName =
  | 'wraith_packets_total'
  | 'wraith_bytes_total'
  | 'wraith_drops_total'
  | 'wraith_retransmitted_packets_total'
  | 'wraith_retransmitted_bytes_total'
  | 'wraith_lost_packets_total'
  | 'wraith_cwnd_bytes'
  | 'wraith_pacing_rate_bytes_per_second'
  | 'wraith_handshakes_total'
  | 'wraith_sessions'
  | 'wraith_sessions_opened_total'
  | 'wraith_dh_operations_total'
  | 'wraith_cookies_validated_total'
  | 'wraith_path_validations_total'
  | 'wraith_stateless_resets_total'
  | 'wraith_transfers_total'
  | 'wraith_transfers_active'
  | 'wraith_transfer_payload_bytes_total'
  | 'wraith_file_io_ops_total'
  | 'wraith_file_io_bytes_total'
  | 'wraith_transport_info'
  | 'wraith_xdp_ring_stat';

export type HistogramName = 'wraith_rtt_seconds';
