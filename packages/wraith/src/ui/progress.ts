/**
 * Human output: a cli-progress bar on a TTY (bytes, rate, ETA), or plain lines when the output
 * is not a terminal (logs, pipes). Both write to stderr-like streams so stdout stays clean.
 */
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { WraithError } from '@wraith/core';
import type { ReceiveResult } from '../node-api.js';
import { monoMs } from '../clock.js';
import { humanBytes, humanDuration, humanRate } from '../units.js';
import { formatError } from './errors.js';
import { printable } from './printable.js';
import { sendPhase, type CompletedEvent, type FileEvent, type OutStream, type ProgressEvent, type StartedEvent, type TransferUi, type WarningEvent } from './types.js';

function summary(e: CompletedEvent): string {
  const parts = [`${humanBytes(e.payload_bytes_sent)} sent`];
  const resumed = e.bytes_skipped_resume - e.bytes_already_present - e.bytes_reused;
  if (resumed > 0) parts.push(`${humanBytes(resumed)} resumed`);
  if (e.bytes_reused > 0) parts.push(`${humanBytes(e.bytes_reused)} already in the receiver's copy`);
  if (e.bytes_already_present > 0) parts.push(`${humanBytes(e.bytes_already_present)} already present`);
  if (e.bytes_zero > 0) parts.push(`${humanBytes(e.bytes_zero)} all-zero (not sent)`);
  if (e.bytes_retransmitted > 0) parts.push(`${humanBytes(e.bytes_retransmitted)} retransmitted`);
  return `done: ${parts.join(', ')}${e.root !== null ? `; root ${e.root}` : ''}`;
}

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** The last line of a human `wraith receive`: what it received over its whole run. */
export function receiveSummary(r: ReceiveResult): string {
  const parts = [r.files === 0 ? 'nothing received' : `${count(r.files, 'file', 'files')}, ${humanBytes(r.bytes)} received`];
  if (r.present > 0) parts.push(`${count(r.present, 'file', 'files')} already present`);
  if (r.dirs > 0) parts.push(count(r.dirs, 'directory', 'directories'));
  if (r.errors.length > 0) parts.push(`${r.errors.length} failed`);
  if (r.interrupted > 0) parts.push(`${count(r.interrupted, 'file', 'files')} interrupted (kept for a resume)`);
  return `${r.interrupted > 0 ? 'stopped' : 'done'}: ${parts.join('; ')}`;
}

function fileLine(e: FileEvent): string {
  const what = e.status === 'already_present' ? 'already present' : e.status;
  const as = e.stored_as !== undefined ? `, stored as ${printable(e.stored_as)}` : '';
  // A directory has no size to tell; its slash tells it from an empty file.
  if (e.kind === 'dir') return `${what}: ${printable(e.name)}/${as !== '' ? ` (${as.slice(2)}/)` : ''}`;
  const removed = e.source_removed === true ? ', source removed' : '';
  return `${what}: ${printable(e.name)} (${humanBytes(e.bytes)}${as})${removed}`;
}

/** `sep` + "hashing 35%" or "waiting for receiver" while a send cannot move data yet, else nothing. */
function phase(e: ProgressEvent, sep: string): string {
  const p = sendPhase(e);
  return p === null ? '' : `${sep}${p}`;
}

// cli-progress takes ~10 ms to import: loaded when a bar is drawn, not for --json or plain lines.
const require = createRequire(import.meta.url);

/** A single cli-progress bar; file lines and warnings are printed above it. */
export class ProgressBarUi implements TransferUi {
  private readonly multi: cliProgress.MultiBar;
  private bar: cliProgress.SingleBar | null = null;

  constructor(private readonly out: OutStream) {
    const { MultiBar, Presets } = require('cli-progress') as typeof cliProgress;
    this.multi = new MultiBar(
      {
        stream: out as unknown as NodeJS.WritableStream,
        // `total`, `eta` and `value` are cli-progress's own placeholders: ours are suffixed _h.
        format: ' {bar} {percentage}% | {done_h} / {total_h} | {rate_h} | ETA {eta_h}{hash_h}',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        fps: 10,
        barsize: 30,
      },
      Presets.shades_classic,
    );
  }

  /** A line above the bar (or plain, when no bar is drawn yet). */
  private line(text: string): void {
    if (this.bar === null) {
      this.out.write(`${text}\n`);
      return;
    }
    this.multi.log(`${text}\n`);
    this.multi.update(); // draws the logged line now, not at the next tick
  }

  started(e: StartedEvent): void {
    this.line(`${e.direction === 'send' ? 'sending' : 'receiving'} ${e.files} file${e.files === 1 ? '' : 's'}, ${humanBytes(e.bytes_total)} ${e.direction === 'send' ? 'to' : 'from'} ${e.peer}`);
    this.bar = this.multi.create(Math.max(1, e.bytes_total), 0, { done_h: humanBytes(0), total_h: humanBytes(e.bytes_total), rate_h: '-', eta_h: '-', hash_h: '' });
  }

  progress(e: ProgressEvent): void {
    this.bar?.update(e.bytes_done, {
      done_h: humanBytes(e.bytes_done),
      total_h: humanBytes(e.bytes_total),
      rate_h: humanRate(e.rate_bps),
      eta_h: e.eta_s === null ? '-' : humanDuration(e.eta_s),
      hash_h: phase(e, ' | '),
    });
  }

  file(e: FileEvent): void {
    this.line(fileLine(e));
  }

  warning(e: WarningEvent): void {
    this.line(`warning: ${printable(e.message)}`);
  }

  private stop(): void {
    if (this.bar === null) return;
    this.multi.update();
    this.multi.stop();
    this.bar = null;
  }

  completed(e: CompletedEvent): void {
    this.stop();
    this.out.write(`${summary(e)}\n`);
  }

  error(err: WraithError): void {
    this.stop();
    this.out.write(formatError(err));
  }

  close(): void {
    this.stop();
    this.multi.stop();
  }
}

/** Plain lines for non-TTY output: progress at most every `progressIntervalMs` (default 10 s). */
/** A received file under this size gets only its "received:" line in plain output. */
const QUIET_RECEIVE_BYTES = 1 << 20;

export class PlainUi implements TransferUi {
  private lastProgress: number | null = null;
  private finalShown = false;
  /** Receives in progress (each received file is a transfer of its own). */
  private readonly receives = new Set<string>();
  private readonly interval: number;
  private readonly now: () => number;

  constructor(
    private readonly out: OutStream,
    opts: { progressIntervalMs?: number; now?: () => number } = {},
  ) {
    this.interval = opts.progressIntervalMs ?? 10_000;
    this.now = opts.now ?? monoMs; // a throttle: monotonic
  }

  started(e: StartedEvent): void {
    if (e.direction === 'receive') {
      this.receives.add(e.transfer_id);
      // A tree of small files would print three lines per file; its "received:" lines say it all.
      if (e.bytes_total < QUIET_RECEIVE_BYTES) return;
    }
    this.out.write(`${e.direction === 'send' ? 'sending' : 'receiving'} ${e.files} file${e.files === 1 ? '' : 's'}, ${humanBytes(e.bytes_total)} ${e.direction === 'send' ? 'to' : 'from'} ${e.peer} (transfer ${e.transfer_id})\n`);
  }

  progress(e: ProgressEvent): void {
    // A receive's end is its "received:" line.
    if (this.receives.has(e.transfer_id) && (e.bytes_done >= e.bytes_total || e.bytes_total < QUIET_RECEIVE_BYTES)) return;
    const t = this.now();
    // The first line at 100% always; after it the interval holds (a receiver still writing).
    const final = e.bytes_done >= e.bytes_total && !this.finalShown;
    if (this.lastProgress !== null && t - this.lastProgress < this.interval && !final) return;
    this.lastProgress = t;
    this.finalShown = e.bytes_done >= e.bytes_total;
    const pct = e.bytes_total === 0 ? 100 : Math.floor((e.bytes_done / e.bytes_total) * 100);
    this.out.write(
      `progress: ${pct}% ${humanBytes(e.bytes_done)} / ${humanBytes(e.bytes_total)}, ${humanRate(e.rate_bps)}, ETA ${e.eta_s === null ? '-' : humanDuration(e.eta_s)}${phase(e, ', ')}\n`,
    );
  }

  file(e: FileEvent): void {
    this.receives.delete(e.transfer_id);
    this.out.write(`${fileLine(e)}\n`);
  }

  warning(e: WarningEvent): void {
    this.out.write(`warning: ${printable(e.message)}\n`);
  }

  completed(e: CompletedEvent): void {
    this.out.write(`${summary(e)}\n`);
  }

  error(err: WraithError, transferId: string | null): void {
    if (transferId !== null) this.receives.delete(transferId);
    this.out.write(formatError(err));
  }

  close(): void {}
}
