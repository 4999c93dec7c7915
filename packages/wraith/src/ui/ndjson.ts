/**
 * `--json` output: one JSON object per line (NDJSON), schema version 1 (docs/CLI.md). Every line
 * has `v`, `type`, `ts` (ISO 8601 UTC) and `transfer_id`. Progress lines are throttled; the
 * final progress (bytes_done = bytes_total) always goes out.
 */
import type { WraithError } from '@wraith/core';
import { monoMs } from '../clock.js';
import type { CompletedEvent, FileEvent, OutStream, ProgressEvent, StartedEvent, TransferUi, WarningEvent } from './types.js';

export const NDJSON_VERSION = 1;

export interface NdjsonOptions {
  /** Minimum time between two progress lines of one transfer (default 1000 ms). */
  readonly progressIntervalMs?: number;
  /** Wall clock for `ts` (default Date.now). */
  readonly now?: () => number;
  /** Clock for the throttle (default monotonic, so a stepped wall clock cannot stop progress). */
  readonly mono?: () => number;
}

export class NdjsonUi implements TransferUi {
  private readonly lastProgress = new Map<string, number>();
  /** Transfers whose last progress line was at 100%. */
  private readonly finalShown = new Set<string>();
  private readonly interval: number;
  private readonly now: () => number;
  private readonly mono: () => number;

  constructor(
    private readonly out: OutStream,
    opts: NdjsonOptions = {},
  ) {
    this.interval = opts.progressIntervalMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.mono = opts.mono ?? monoMs;
  }

  /** Writes one line. Key order: v, type, ts, transfer_id, then the event's fields. */
  emit(type: string, transferId: string | null, fields: Record<string, unknown>): void {
    const line = { v: NDJSON_VERSION, type, ts: new Date(this.now()).toISOString(), transfer_id: transferId, ...fields };
    this.out.write(`${JSON.stringify(line)}\n`);
  }

  started(e: StartedEvent): void {
    const { transfer_id, ...rest } = e;
    this.emit('started', transfer_id, rest);
  }

  progress(e: ProgressEvent): void {
    const t = this.mono();
    const last = this.lastProgress.get(e.transfer_id);
    // The first line at 100% always goes out; after it (a send whose receiver is still writing)
    // the interval holds again: it printed four lines a second for as long as that took.
    const final = e.bytes_done >= e.bytes_total && !this.finalShown.has(e.transfer_id);
    if (!final && last !== undefined && t - last < this.interval) return;
    this.lastProgress.set(e.transfer_id, t);
    if (e.bytes_done >= e.bytes_total) this.finalShown.add(e.transfer_id);
    else this.finalShown.delete(e.transfer_id);
    this.emit('progress', e.transfer_id, {
      bytes_total: e.bytes_total,
      bytes_done: e.bytes_done,
      rate_bps: Math.round(e.rate_bps),
      eta_s: e.eta_s === null ? null : Math.round(e.eta_s * 10) / 10,
      ...(e.bytes_hashed !== undefined ? { bytes_hashed: e.bytes_hashed } : {}),
      ...(e.waiting_for_receiver === true ? { waiting_for_receiver: true } : {}),
      ...(e.receiver_finishing === true ? { receiver_finishing: true } : {}),
      ...(e.bytes_written !== undefined ? { bytes_written: e.bytes_written } : {}),
    });
  }

  file(e: FileEvent): void {
    const { transfer_id, ...rest } = e;
    this.emit('file', transfer_id, rest);
  }

  warning(e: WarningEvent): void {
    this.emit('warning', e.transfer_id, { code: e.code, message: e.message });
  }

  completed(e: CompletedEvent): void {
    const { transfer_id, ...rest } = e;
    this.lastProgress.delete(transfer_id);
    this.finalShown.delete(transfer_id);
    this.emit('completed', transfer_id, rest);
  }

  error(err: WraithError, transferId: string | null): void {
    this.emit('error', transferId, { code: err.code, exit_code: err.exitCode, message: err.message, hint: err.hint });
  }

  close(): void {
    // Lines are written synchronously as they happen; nothing is buffered.
  }
}
