/**
 * The node's metrics: one prom-client Registry per node (never the global one, so tests and
 * several nodes in one process stay apart). Components write to the named metrics below; the
 * admin API serves `metrics()` as Prometheus text; tests read values with `read()`.
 * Every name and label value is documented in docs/METRICS.md.
 *
 * A node whose metrics nobody reads (send, receive, demo: no admin API) gets a DiscardStats,
 * which never loads prom-client (~25 ms of start-up with @opentelemetry/api).
 */
import { createRequire } from 'node:module';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

const require = createRequire(import.meta.url);
const prom = (): typeof import('prom-client') => require('prom-client') as typeof import('prom-client');

/** Resolution of the event-loop lag metrics (a timer that fires this often while they are on). */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** What the node does with a metric: a prom-client one, or one that discards. */
export type CounterMetric<L extends string> = Pick<Counter<L>, 'inc'>;
export type GaugeMetric<L extends string> = Pick<Gauge<L>, 'inc' | 'dec' | 'set' | 'reset'>;
export type HistogramMetric = Pick<Histogram, 'observe'>;

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
export type IoOp = 'open' | 'read' | 'write' | 'write_direct' | 'fsync' | 'install';

type Sample = { value: number; labels: Record<string, unknown>; metricName?: string };

const RTT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];

export class Stats {
  /** null in a DiscardStats. */
  readonly registry: Registry | null = this.createRegistry();

  readonly packets = this.counter('wraith_packets_total', 'Datagrams sent (tx) and received (rx).', ['direction']);
  readonly bytes = this.counter('wraith_bytes_total', 'UDP payload bytes sent (tx) and received (rx).', ['direction']);
  readonly drops = this.counter('wraith_drops_total', 'Datagrams or frames dropped, by reason.', ['reason']);
  readonly retransmittedPackets = this.counter('wraith_retransmitted_packets_total', 'Packets whose frames were sent again after loss.', []);
  readonly retransmittedBytes = this.counter('wraith_retransmitted_bytes_total', 'Chunk payload bytes sent more than once.', []);
  readonly lostPackets = this.counter('wraith_lost_packets_total', 'Packets declared lost (RFC 9002).', []);
  readonly rtt = this.histogram('wraith_rtt_seconds', 'RTT samples from acknowledgements.', RTT_BUCKETS);
  readonly cwnd = this.gauge('wraith_cwnd_bytes', 'Congestion window, summed over sessions.', []);
  readonly pacingRate = this.gauge('wraith_pacing_rate_bytes_per_second', 'Pacing rate, summed over sessions.', []);
  readonly handshakes = this.counter('wraith_handshakes_total', 'Handshakes by outcome.', ['outcome']);
  readonly sessions = this.gauge('wraith_sessions', 'Established sessions now.', []);
  readonly sessionsOpened = this.counter('wraith_sessions_opened_total', 'Sessions established.', []);
  readonly dhOperations = this.counter('wraith_dh_operations_total', 'X25519 operations done for handshakes (2 per answered INITIATION, 1 per FINISH read, 3 per RESPONSE read).', []);
  readonly cookiesValidated = this.counter('wraith_cookies_validated_total', 'INITIATIONs that carried a valid cookie.', []);
  readonly pathValidations = this.counter('wraith_path_validations_total', 'Peer address changes confirmed by PATH_CHALLENGE/PATH_RESPONSE.', []);
  readonly datagramSizeChanges = this.counter('wraith_datagram_size_changes_total', "Changes of a session's datagram size, by cause.", ['change']);
  readonly statelessResets = this.counter(
    'wraith_stateless_resets_total',
    'Stateless resets sent for packets to unknown connection ids (tx), and received from a peer, ending a session (rx).',
    ['direction'],
  );
  readonly transfers = this.counter('wraith_transfers_total', 'Finished transfers by direction and outcome.', ['direction', 'outcome']);
  readonly transfersActive = this.gauge('wraith_transfers_active', 'Transfers in progress.', ['direction']);
  readonly payloadBytes = this.counter('wraith_transfer_payload_bytes_total', 'File bytes delivered and verified (no retransmissions, no resumed bytes, no zero chunks).', ['direction']);
  readonly zeroBytes = this.counter('wraith_transfer_zero_bytes_total', 'File bytes of all-zero chunks, told as zeros without their bytes (sparse files).', ['direction']);
  readonly reusedBytes = this.counter('wraith_transfer_reused_bytes_total', 'File bytes a receiver copied from the older copy under the offered name instead of receiving them.', []);
  readonly fileIoOps = this.counter('wraith_file_io_ops_total', 'File operations by kind.', ['op', 'backend']);
  readonly fileIoBytes = this.counter('wraith_file_io_bytes_total', 'File bytes read and written.', ['op', 'backend']);
  readonly transportInfo = this.gauge('wraith_transport_info', 'Always 1; labels tell what runs.', ['transport', 'io_backend', 'crypto_backend', 'zero_copy']);
  readonly xdpRing = this.gauge('wraith_xdp_ring_stat', 'AF_XDP socket statistics copied from the kernel (XDP_STATISTICS).', ['stat']);
  readonly udpSocket = this.gauge('wraith_udp_socket_stat', "The UDP transport's own counters and its socket's settings (GSO, GRO, buffer sizes).", ['stat']);

  constructor(opts: { processMetrics?: boolean } = {}) {
    // Node process metrics (CPU, memory, event loop lag) for the daemon; off for tests. The lag
    // histogram samples every EVENT_LOOP_SAMPLE_MS: prom-client's 10 ms woke an idle daemon 100
    // times a second.
    if (opts.processMetrics && this.registry !== null) {
      prom().collectDefaultMetrics({ register: this.registry, prefix: 'wraith_process_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    }
  }

  // Called by the field initialisers above; DiscardStats overrides them.
  protected createRegistry(): Registry | null {
    return new (prom().Registry)();
  }

  protected counter<L extends string>(name: string, help: string, labelNames: L[]): CounterMetric<L> {
    return new (prom().Counter)({ name, help, labelNames, registers: [this.served()] });
  }

  protected gauge<L extends string>(name: string, help: string, labelNames: L[]): GaugeMetric<L> {
    return new (prom().Gauge)({ name, help, labelNames, registers: [this.served()] });
  }

  protected histogram(name: string, help: string, buckets: number[]): HistogramMetric {
    return new (prom().Histogram)({ name, help, buckets, registers: [this.served()] });
  }

  private served(): Registry {
    if (this.registry === null) throw new Error('these stats discard their metrics (DiscardStats): nothing to read');
    return this.registry;
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
    return this.served().metrics();
  }

  get contentType(): string {
    return this.served().contentType;
  }

  /**
   * The value of a counter or gauge, summed over the series whose labels include `labels`
   * (so `read('wraith_packets_total')` is all directions). 0 for a series never written.
   */
  async read(name: MetricName, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.served().getSingleMetric(name);
    if (metric === undefined) throw new Error(`no metric ${name}`);
    const values = (await metric.get()).values as Sample[];
    return values
      .filter((v) => v.metricName === undefined || v.metricName === name)
      .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
      .reduce((sum, v) => sum + v.value, 0);
  }

  /** count and sum of a histogram. */
  async readHistogram(name: HistogramName): Promise<{ count: number; sum: number }> {
    const metric = this.served().getSingleMetric(name);
    if (metric === undefined) throw new Error(`no metric ${name}`);
    const values = (await metric.get()).values as Sample[];
    const pick = (suffix: string): number =>
      values.filter((v) => v.metricName === `${name}${suffix}`).reduce((s, v) => s + v.value, 0);
    return { count: pick('_count'), sum: pick('_sum') };
  }
}

const DISCARD = { inc() {}, dec() {}, set() {}, reset() {}, observe() {} };

/** Stats of a node that serves no metrics: every write is dropped, prom-client is not loaded. */
export class DiscardStats extends Stats {
  protected override createRegistry(): null {
    return null;
  }

  protected override counter<L extends string>(): CounterMetric<L> {
    return DISCARD;
  }

  protected override gauge<L extends string>(): GaugeMetric<L> {
    return DISCARD;
  }

  protected override histogram(): HistogramMetric {
    return DISCARD;
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
  | 'wraith_datagram_size_changes_total'
  | 'wraith_stateless_resets_total'
  | 'wraith_transfers_total'
  | 'wraith_transfers_active'
  | 'wraith_transfer_payload_bytes_total'
  | 'wraith_file_io_ops_total'
  | 'wraith_file_io_bytes_total'
  | 'wraith_transport_info'
  | 'wraith_xdp_ring_stat'
  | 'wraith_udp_socket_stat';

export type HistogramName = 'wraith_rtt_seconds';
