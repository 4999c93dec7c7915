/**
 * What the driver reports while sending or receiving, independent of how it is shown (NDJSON,
 * a TTY progress bar, or plain lines). Field names are the NDJSON schema's (docs/CLI.md).
 */
import type { WraithError } from '@wraith/core';

export interface StartedEvent {
  readonly transfer_id: string;
  readonly direction: 'send' | 'receive';
  /** "<id>@<host>:<port>" of the other side. */
  readonly peer: string;
  readonly files: number;
  readonly bytes_total: number;
}

export interface ProgressEvent {
  readonly transfer_id: string;
  readonly bytes_total: number;
  /** Payload bytes sent (a send) or verified (a receive), including those skipped by resume. */
  readonly bytes_done: number;
  readonly rate_bps: number;
  /** Seconds left at the current rate; null when unknown (rate 0). */
  readonly eta_s: number | null;
  /**
   * Sends only, while a file is being hashed: source bytes hashed so far, of bytes_total. A file
   * is hashed whole before its first chunk goes out, so on a big file this moves first.
   */
  readonly bytes_hashed?: number;
  /**
   * Sends only: every file in flight is offered and the receiver has accepted none yet (it may
   * be hashing a copy it already has, to tell "already present" from a conflict).
   */
  readonly waiting_for_receiver?: true;
  /**
   * Sends only: every byte is sent and the receiver has yet to confirm the last files (writing,
   * verifying, installing). A receiver's slow disk can hold a whole flow window (up to 32 MiB)
   * here; the rate and ETA of bytes sent say nothing about it.
   */
  readonly receiver_finishing?: true;
  /**
   * Sends only, while the receiver finishes, where it reports its disk's progress (WRITTEN
   * messages): bytes it holds, of bytes_total. eta_s then follows its pace.
   */
  readonly bytes_written?: number;
}

/** "hashing N%", "waiting for receiver" or "receiver finishing[, N% on disk]" while a send waits, else null. */
export function sendPhase(e: ProgressEvent): string | null {
  const p = hashingPercent(e);
  if (p !== null) return `hashing ${p}%`;
  if (e.waiting_for_receiver === true) return 'waiting for receiver';
  if (e.receiver_finishing !== true) return null;
  return e.bytes_written !== undefined && e.bytes_total > 0 ? `receiver finishing, ${Math.floor((e.bytes_written / e.bytes_total) * 100)}% on disk` : 'receiver finishing';
}

/** The percentage of the source hashed while a send is hashing, else null. */
export function hashingPercent(e: ProgressEvent): number | null {
  if (e.bytes_hashed === undefined || e.bytes_total === 0) return null;
  return Math.floor((e.bytes_hashed / e.bytes_total) * 100);
}

export interface FileEvent {
  readonly transfer_id: string;
  readonly name: string;
  readonly status: 'sent' | 'received' | 'already_present' | 'skipped';
  /** A directory entry of a tree (made, or given its metadata), or a file. */
  readonly kind: 'file' | 'dir';
  readonly bytes: number;
  /** Content root (hex). */
  readonly root: string | null;
  /** The name the receiver stored it under, when not `name` (on_conflict = "rename"). */
  readonly stored_as?: string;
  /** With --remove-source-files, on a file sent: whether this side's copy was removed. */
  readonly source_removed?: boolean;
}

export interface CompletedEvent {
  readonly transfer_id: string;
  /** Payload bytes sent once (retransmissions and resumed bytes excluded). */
  readonly payload_bytes_sent: number;
  readonly bytes_retransmitted: number;
  /** Bytes the receiver already held: resumed chunks, and files already present. */
  readonly bytes_skipped_resume: number;
  /** Of bytes_skipped_resume, those of files the receiver already had whole. */
  readonly bytes_already_present: number;
  /** Bytes of all-zero chunks, told as such and not sent (a sparse file's holes). */
  readonly bytes_zero: number;
  /** Of bytes_skipped_resume, chunks the receiver found in its older copy of a file under the name (not sent). */
  readonly bytes_reused: number;
  /** Manifest root (hex); for a single file, its content root. */
  readonly root: string | null;
}

export interface WarningEvent {
  readonly transfer_id: string | null;
  readonly code: string | null;
  readonly message: string;
}

/** One interface for all three renderings. */
export interface TransferUi {
  started(e: StartedEvent): void;
  progress(e: ProgressEvent): void;
  file(e: FileEvent): void;
  warning(e: WarningEvent): void;
  completed(e: CompletedEvent): void;
  /** A failure (of one file, or of the whole command when it is fatal). */
  error(err: WraithError, transferId: string | null): void;
  /** Stops the bar / flushes; call once at the end. */
  close(): void;
}

export type SendUi = TransferUi;
export type ReceiveUi = TransferUi;

/** A stream the UI writes to (process.stdout/stderr, or a buffer in tests). */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** ETA in seconds, or null when the rate is 0. */
export function etaSeconds(total: number, done: number, rateBps: number): number | null {
  if (rateBps <= 0) return null;
  return Math.max(0, (total - done) / rateBps);
}
