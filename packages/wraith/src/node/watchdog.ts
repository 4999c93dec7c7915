import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { SocketAddr } from '@wraith/core';

export interface WatchdogEvidence {
  targets: string[];
  consecutiveFailures: number;
  lastErrors: string[];
}

/**
 * The XDP watchdog (from the AF_XDP outage post-mortem): while XDP is
 * attached, probe the configured targets with TCP connects through the
 * interface; after `failures` consecutive rounds where none answers, trip.
 * The node then detaches XDP and falls back to UDP, so a misbehaving
 * program cannot keep a server off the network.
 */
export class XdpWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private running = false;
  private stopped = false;
  private lastErrors: string[] = [];
  rounds = 0;

  constructor(
    private readonly targets: SocketAddr[],
    private readonly intervalMs: number,
    private readonly maxFailures: number,
    private readonly onTrip: (evidence: WatchdogEvidence) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.targets.length === 0) return;
    this.log.info({ targets: this.targets.map(fmt), interval_ms: this.intervalMs, failures: this.maxFailures }, 'XDP watchdog armed');
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async round(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      const results = await Promise.all(this.targets.map((t) => probe(t, Math.max(50, this.intervalMs * 0.8))));
      this.rounds++;
      if (this.stopped) return;
      if (results.some((r) => r === null)) {
        this.failures = 0;
        this.lastErrors = [];
        return;
      }
      this.failures++;
      this.lastErrors = results.map((r, i) => `${fmt(this.targets[i] as SocketAddr)}: ${r}`);
      this.log.warn({ failures: this.failures, of: this.maxFailures, errors: this.lastErrors }, 'XDP watchdog: no target answered');
      if (this.failures >= this.maxFailures) {
        this.stop();
        this.onTrip({ targets: this.targets.map(fmt), consecutiveFailures: this.failures, lastErrors: this.lastErrors });
      }
    } finally {
      this.running = false;
    }
  }
}

/** null when the target accepted a TCP connection (or refused it: it answered), else the error. */
function probe(t: SocketAddr, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = connect({ host: t.host, port: t.port });
    const done = (r: string | null): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(`no answer within ${Math.round(timeoutMs)} ms`), timeoutMs);
    sock.once('connect', () => done(null));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? null : (e.code ?? e.message)));
  });
}

function fmt(a: SocketAddr): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
