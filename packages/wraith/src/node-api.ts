/**
 * The seam between the CLI and the node (the driver in ./node/). The CLI parses flags, loads
 * the config, home, identity, logger and stats, then calls these functions; ./node/index.ts
 * implements them:
 *
 *   export const startDaemon: NodeModule['startDaemon'] = async (opts) => { ... };
 *   export const runSend: NodeModule['runSend'] = ...; runReceive, runDemo likewise.
 *
 * The node is imported only by the commands that run one, so the others start without it.
 */
import type { WraithError } from '@wraith/core';
import type { ResolvedConfig } from './config/schema.js';
import type { Home } from './home/home.js';
import type { Identity } from './home/identity.js';
import type { RunInfo } from './home/runinfo.js';
import type { Log } from './log.js';
import type { PeerSpec } from './peer.js';
import type { EarlyHash } from './node/hash-jobs.js';
import type { Excludes } from './exclude.js';
import type { Stats } from './stats.js';
import type { ReceiveUi, SendUi, TransferUi } from './ui/types.js';

export interface NodeContext {
  /** Effective config: flags (--bind, --output, --auto-accept, ...) are already merged in. */
  readonly config: ResolvedConfig;
  readonly home: Home;
  readonly identity: Identity;
  readonly log: Log;
  readonly stats: Stats;
  /** Aborted on SIGINT / SIGTERM: finish or checkpoint, then return. */
  readonly signal: AbortSignal;
}

export interface DaemonOptions extends NodeContext {
  /** Admin API bearer token (<home>/admin.token); null when the admin API is off. */
  readonly adminToken: string | null;
}

export interface DaemonHandle {
  /** Written by the CLI to <home>/run/daemon.json (with pid and peer_id). */
  readonly info: Omit<RunInfo, 'pid' | 'peer_id'>;
  /** Settles when the daemon stops on its own (rejects on a fatal error). */
  readonly done: Promise<void>;
  /** Calls `cb` with the new info when it changes (the XDP watchdog fell back to UDP). */
  onInfoChanged(cb: (info: Omit<RunInfo, 'pid' | 'peer_id'>) => void): void;
  /** Applies the keys a running daemon can change (config/reload.ts LIVE_KEYS) from a reloaded config. */
  reload(config: ResolvedConfig): void;
  /** Graceful shutdown: stop accepting, checkpoint transfers, close sockets. */
  close(): Promise<void>;
}

export interface SendOptions extends NodeContext {
  /** PATH arguments, to walk with walk() from ../walk.js. */
  readonly paths: readonly string[];
  readonly peer: PeerSpec;
  /** --rate in bytes/s; null: no limit beyond congestion control. */
  readonly rateBps: number | null;
  /** --reconnect-for: how long to keep re-dialling a lost peer (ms). */
  readonly reconnectForMs: number;
  readonly followSymlinks: boolean;
  /** --allow-growth: files that grow while sent (logs) go as they were when opened. */
  readonly allowGrowth?: boolean;
  /** --dest: the directory below the receiver's download directory that everything goes into. */
  readonly dest?: string;
  /** --exclude: what the walk leaves out. */
  readonly exclude?: Excludes;
  /** --relative: PATHs are named by the path given (walk's rootName). */
  readonly relative?: boolean;
  /** --files-from: paths sent alone after the PATHs (walk's `listed`). */
  readonly listed?: readonly string[];
  /** --remove-source-files: each file the receiver confirmed is removed here, if unchanged. */
  readonly removeSourceFiles?: boolean;
  /** The first file's hashing, begun while the node loaded (EarlyHash.start); runSend owns it. */
  readonly earlyHash?: EarlyHash | null;
}

export interface SendResult {
  readonly transfer_id: string;
  readonly files: number;
  readonly payload_bytes_sent: number;
  readonly bytes_retransmitted: number;
  readonly bytes_skipped_resume: number;
  readonly bytes_already_present: number;
  /** Bytes of all-zero chunks, told as such and not sent. */
  readonly bytes_zero: number;
  /** Of bytes_skipped_resume, chunks the receiver found in its older copy of a file under the name. */
  readonly bytes_reused: number;
  readonly root: string | null;
  /** Per-file failures (the command exits with the first one's code); empty on success. */
  readonly errors: readonly WraithError[];
}

export interface ReceiveOptions extends NodeContext {
  /** Exit after the first sender's transfers finish. */
  readonly once: boolean;
}

export interface ReceiveResult {
  /** Files received and verified, and their bytes. */
  readonly files: number;
  readonly bytes: number;
  /** Files already held whole, and directories of trees. */
  readonly present: number;
  readonly dirs: number;
  readonly errors: readonly WraithError[];
  /** Files still arriving when the receiver was stopped (their partials stay for a resume). */
  readonly interrupted: number;
}

export interface DemoOptions {
  readonly config: ResolvedConfig;
  readonly log: Log;
  readonly stats: Stats;
  readonly signal: AbortSignal;
  /** Bytes of random data to send between two in-process nodes. */
  readonly size: number;
}

export interface DemoResult {
  readonly bytes: number;
  readonly seconds: number;
  /** The received file's hash equals the sent one's. */
  readonly verified: boolean;
}

/** `wraith hash`: what it reads, and how files are named as a send would name them. */
export interface HashOptions {
  readonly paths: readonly string[];
  readonly exclude?: Excludes;
  readonly relative?: boolean;
  readonly listed?: readonly string[];
  readonly chunkSize: number;
  readonly followSymlinks: boolean;
  readonly ioBackend: ResolvedConfig['io']['backend'];
  readonly signal: AbortSignal;
}

export interface HashUi {
  /** `name` as a send would offer it (the PATH's base name, then the path below it); `root` hex. */
  file(e: { name: string; path: string; root: string; bytes: number }): void;
  warning(message: string): void;
  error(err: WraithError): void;
}

/** `wraith hash --check`: these files, each at its own chunk size (a list may say which). */
export interface HashListedOptions {
  readonly files: readonly { readonly path: string; readonly chunkSize: number }[];
  readonly ioBackend: ResolvedConfig['io']['backend'];
  readonly signal: AbortSignal;
}

/** Per file of HashListedOptions.files, by index, in order: its root (hex), or why it could not be read. */
export interface HashListedUi {
  file(index: number, e: { root: string; bytes: number }): void;
  error(index: number, err: WraithError): void;
}

export interface NodeModule {
  startDaemon(opts: DaemonOptions): Promise<DaemonHandle>;
  runHash(opts: HashOptions, ui: HashUi): Promise<void>;
  runHashListed(opts: HashListedOptions, ui: HashListedUi): Promise<void>;
  runSend(opts: SendOptions, ui: SendUi): Promise<SendResult>;
  runReceive(opts: ReceiveOptions, ui: ReceiveUi): Promise<ReceiveResult>;
  runDemo(opts: DemoOptions, ui: TransferUi): Promise<DemoResult>;
}

/** The node's `fn`, from ./node/index.js (imported on first use). */
export async function loadNode<K extends keyof NodeModule>(fn: K): Promise<NodeModule[K]> {
  const mod: NodeModule = await import('./node/index.js');
  return mod[fn];
}
