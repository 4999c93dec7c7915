/**
 * How many received files may be open at once. Each holds up to three descriptors (the partial,
 * its O_DIRECT twin, the leaves file), and many senders at once each offer up to max_concurrent
 * files: without a bound the receiver meets EMFILE and fails those files. Offers beyond the bound
 * wait for a slot instead.
 */
import { readFileSync } from 'node:fs';

/** Descriptors per open received file, at most. */
const FDS_PER_FILE = 3;
/** Descriptors left for everything else: sockets, io_uring, logs, the admin API, hashing. */
const RESERVED_FDS = 256;
const MIN_SLOTS = 16;
const MAX_SLOTS = 8192;

/** The soft RLIMIT_NOFILE (Node raises it to the hard limit at start); Infinity if unlimited or unknown. */
export function openFilesLimit(limits = (): string => readFileSync('/proc/self/limits', 'utf8')): number {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(limits());
    const n = m === null || m[1] === 'unlimited' ? Infinity : Number(m[1]);
    return Number.isFinite(n) && n > 0 ? n : Infinity;
  } catch {
    return Infinity;
  }
}

/** Received files open at once under a descriptor limit. */
export function slotsFor(fdLimit: number): number {
  if (!Number.isFinite(fdLimit)) return MAX_SLOTS;
  return Math.max(MIN_SLOTS, Math.min(MAX_SLOTS, Math.floor((fdLimit - RESERVED_FDS) / FDS_PER_FILE)));
}

/** A counting semaphore, first come first served. */
export class OpenSlots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Offers waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a slot: null when one was free, else a promise that resolves once one is handed over. */
  acquire(): Promise<void> | null {
    if (this.used < this.max) {
      this.used++;
      return null;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Gives a slot back, to the longest waiter if there is one. */
  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.used = Math.max(0, this.used - 1);
  }
}
