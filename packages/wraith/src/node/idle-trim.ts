/**
 * Memory back to the system after a burst of traffic. A large receive leaves tens of MB of
 * chunk buffers that only a full garbage collection frees (an idle daemon allocates nothing, so
 * V8 never runs one), and glibc keeps what is freed on its heap (its mmap threshold rises after
 * the first large block is freed). A daemon stayed about 50 MB larger after receiving 1 GiB,
 * for good. Once an interval passes with next to no traffic after one with some, the daemon
 * runs a full collection and trims the heap (malloc_trim through the addon). Nothing on the
 * data path pays for it.
 */
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

/** What the trimmer reads: the daemon's metrics (../stats.ts). */
export interface TrafficSource {
  read(name: 'wraith_bytes_total'): Promise<number>;
}

/** Less than this in an interval is idle: keep-alives and ACKs of idle sessions. */
export const IDLE_BYTES = 1024 * 1024;

const require = createRequire(import.meta.url);

function addonTrim(): (() => boolean) | null {
  try {
    const m = require('@wraith/native') as { native: { mallocTrim?: () => boolean } | null };
    const f = m.native?.mallocTrim;
    return typeof f === 'function' ? () => f.call(m.native) : null;
  } catch {
    return null;
  }
}

/** V8's full collection, through a context made after --expose_gc was set; null where refused. */
function fullGc(): (() => void) | null {
  try {
    require('node:v8').setFlagsFromString('--expose_gc');
    const gc = require('node:vm').runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

export interface IdleTrimOptions {
  everyMs?: number;
  trim?: (() => boolean) | null;
  gc?: (() => void) | null;
  rss?: () => number;
}

/** Starts the check every `everyMs` (default 10 s); returns its stop. Does nothing without the addon. */
export function trimWhenIdle(stats: TrafficSource, log: Logger, o: IdleTrimOptions = {}): () => void {
  const trim = o.trim === undefined ? addonTrim() : o.trim;
  if (trim === null) return () => undefined;
  const gc = o.gc === undefined ? fullGc() : o.gc;
  const rss = o.rss ?? (() => process.memoryUsage.rss());
  let last = -1;
  let dirty = false;
  let busy = false;
  const tick = async (): Promise<void> => {
    const bytes = await stats.read('wraith_bytes_total');
    const moved = last < 0 ? 0 : bytes - last;
    last = bytes;
    if (moved >= IDLE_BYTES) {
      dirty = true;
      return;
    }
    if (!dirty) return;
    dirty = false;
    const before = rss();
    const t0 = performance.now();
    gc?.();
    const released = trim();
    log.debug({ released, rss_before: before, rss_after: rss(), ms: Math.round(performance.now() - t0) }, 'idle after traffic: memory given back');
  };
  // The first reading now, so that traffic before the first tick counts.
  stats.read('wraith_bytes_total').then((bytes) => {
    if (last < 0) last = bytes;
  }, () => undefined);
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick().catch(() => undefined).finally(() => (busy = false));
  }, o.everyMs ?? 10_000);
  timer.unref();
  return () => clearInterval(timer);
}
