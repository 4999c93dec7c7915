/**
 * The daemon's side of sd_notify(3), for a unit with `Type=notify` (config/wraith.service):
 * READY=1 once it listens, RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 at
 * shutdown, and WATCHDOG=1 at half of WatchdogSec while the event loop runs. Without
 * NOTIFY_SOCKET in the environment (not started by systemd) every call does nothing.
 */
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { humanRate } from '../units.js';

export type NotifySend = (address: string, message: string) => void;

export interface ServiceNotifier {
  /** Whether a service manager listens (NOTIFY_SOCKET was set). */
  readonly active: boolean;
  ready(status: string): void;
  reloading(): void;
  status(text: string): void;
  stopping(): void;
  /** Stops the watchdog keep-alives. */
  close(): void;
}

const require = createRequire(import.meta.url);

function addonSend(): NotifySend | string {
  try {
    const m = require('@wraith/native') as { native: { sdNotify?: NotifySend } | null; loadError: string | null };
    if (typeof m.native?.sdNotify === 'function') return m.native.sdNotify.bind(m.native);
    return m.loadError ?? 'the native addon was built without sdNotify';
  } catch (e) {
    return (e as Error).message;
  }
}

/** CLOCK_MONOTONIC in µs, as RELOADING=1 wants it (libuv's hrtime reads that clock). */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/**
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from `env` and removes them, so that no
 * process the daemon starts speaks to the service manager in its name.
 */
export function serviceNotifier(env: NodeJS.ProcessEnv, logger: Logger, send: NotifySend | string = addonSend(), pid = process.pid): ServiceNotifier {
  const address = env.NOTIFY_SOCKET;
  const watchdogUsec = env.WATCHDOG_USEC;
  const watchdogPid = env.WATCHDOG_PID;
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  const off: ServiceNotifier = { active: false, ready() {}, reloading() {}, status() {}, stopping() {}, close() {} };
  if (address === undefined || address === '') return off;
  if (typeof send === 'string') {
    logger.warn({ notify_socket: address, reason: send },
      'started with NOTIFY_SOCKET, but cannot tell the service manager anything without the native addon: use Type=simple in the unit, or build the addon');
    return { ...off, active: true };
  }
  const failed = new Set<string>();
  const notify = (message: string): void => {
    try {
      send(address, message);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      // Once per kind: the watchdog would repeat the same warning every few seconds.
      if (!failed.has(code)) logger.warn({ notify_socket: address, err: (e as Error).message }, 'could not notify the service manager');
      failed.add(code);
    }
  };
  let timer: NodeJS.Timeout | null = null;
  const usec = Number(watchdogUsec);
  if (watchdogUsec !== undefined && Number.isSafeInteger(usec) && usec > 0 && (watchdogPid === undefined || Number(watchdogPid) === pid)) {
    // Half the interval, as sd_watchdog_enabled(3) advises: a late tick still lands in time.
    timer = setInterval(() => notify('WATCHDOG=1'), Math.max(1, Math.floor(usec / 2000)));
    timer.unref();
  }
  // The last STATUS= sent: a status is sent again only when it changed.
  let shown = '';
  const withStatus = (head: string, status: string): void => {
    shown = status.replace(/\n/g, ' ');
    notify(`${head}STATUS=${shown}`);
  };
  return {
    active: true,
    ready: (status) => withStatus('READY=1\n', status),
    reloading: () => withStatus(`RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}\n`, 'reloading the config'),
    status: (text) => {
      if (text.replace(/\n/g, ' ') !== shown) withStatus('', text);
    },
    stopping: () => withStatus('STOPPING=1\n', 'shutting down: checkpointing transfers'),
    close: () => {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
}

/** What the status line reads: the daemon's metrics (../stats.ts). */
export interface ActivitySource {
  read(name: 'wraith_sessions' | 'wraith_transfers_active' | 'wraith_bytes_total', labels?: Record<string, string>): Promise<number>;
}

/**
 * Keeps STATUS= (the line `systemctl status` shows) on what the daemon is doing: sessions, files
 * being received and the inbound rate, every `everyMs` (the notifier sends only a changed line).
 */
export function reportActivity(service: ServiceNotifier, stats: ActivitySource, base: () => string, everyMs = 5000, now = () => performance.now()): () => void {
  if (!service.active) return () => undefined;
  let prev: { bytes: number; at: number } | null = null;
  let busy = false;
  const tick = async (): Promise<void> => {
    const [sessions, receiving, bytes] = await Promise.all([
      stats.read('wraith_sessions'),
      stats.read('wraith_transfers_active', { direction: 'receive' }),
      stats.read('wraith_bytes_total', { direction: 'rx' }),
    ]);
    const at = now();
    const rate = prev === null || at <= prev.at ? null : ((bytes - prev.bytes) * 1000) / (at - prev.at);
    prev = { bytes, at };
    const parts = [`${sessions} session${sessions === 1 ? '' : 's'}`];
    if (receiving > 0) parts.push(`receiving ${receiving} file${receiving === 1 ? '' : 's'}${rate === null ? '' : ` at ${humanRate(rate)}`}`);
    service.status(`${base()}; ${parts.join(', ')}`);
  };
  // The first interval's rate needs a reading at its start.
  stats.read('wraith_bytes_total', { direction: 'rx' }).then((bytes) => (prev ??= { bytes, at: now() }), () => undefined);
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick().catch(() => undefined).finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
