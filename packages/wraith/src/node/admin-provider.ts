import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { WraithError } from '@wraith/core';
import { monoMs } from '../clock.js';
import type { AdminProvider, PeerDto, SendRequest, StatusDto, TransferDto } from '../admin/provider.js';
import { WARNINGS_KEPT } from '../admin/dto.js';
import { orderTransfers } from '../admin/order.js';
import { startAdminServer } from '../admin/server.js';
import { packageVersion } from '../cli/version.js';
import type { DaemonOptions } from '../node-api.js';
import { formatAddr, namesById, parsePeer, type PeerSpec } from '../peer.js';
import { resolveSendPath } from '../admin/send-roots.js';
import type { TransferUi } from '../ui/types.js';
import type { IncomingTransfers } from './incoming.js';
import type { WraithNode } from './node.js';
import { OutgoingJob } from './outgoing.js';
import { hashCacheIn } from './hash-cache.js';
import { ApiSendStore, type ApiSendRecord } from './api-sends.js';
import { compileExcludes } from '../exclude.js';
import type { Logger } from 'pino';

/** Finished transfers kept for GET /v1/transfers. */
const KEEP_FINISHED = 200;

interface Job {
  dto: TransferDto;
  abort: AbortController;
}

/** The daemon's side of the admin API contract (../admin/provider.ts). */
export class DaemonAdminProvider implements AdminProvider {
  readonly events = new EventEmitter();
  private readonly jobs = new Map<string, Job>();
  /** The config as last (re)loaded: [peers] and [admin] send_roots apply on reload (SIGHUP). */
  private config: DaemonOptions['config'];
  private readonly saved: ApiSendStore;
  private readonly log: Logger;
  private closing = false;

  constructor(
    private readonly node: WraithNode,
    private readonly incoming: IncomingTransfers,
    private readonly opts: DaemonOptions,
  ) {
    this.events.setMaxListeners(100);
    this.config = opts.config;
    this.saved = new ApiSendStore(opts.home.stateDir);
    this.log = opts.log.child('admin-send');
  }

  status(): StatusDto {
    const d = this.node.transportDetails;
    const perPeer = [...this.node.sessionPeers.values()].map((p) => ({ peer_id: p.peerId, transport: this.node.transportName }));
    return {
      peer_id: this.opts.identity.peerId,
      version: packageVersion(),
      uptime_s: (monoMs() - this.node.startedMono) / 1000,
      listen: [formatAddr(this.node.localAddr)],
      transport: {
        active: this.node.transportName,
        per_peer: perPeer,
        changes: this.node.transportChanges.map((c) => ({ ...c })),
        probes: this.node.probes.map((p) => ({ name: p.name, ok: p.ok, code: p.code, reason: p.reason ?? '', remedy: p.remedy ?? '' })),
      },
      xdp_mode: typeof d['mode'] === 'string' ? (d['mode'] as string) : null,
      zero_copy: d['zeroCopy'] === true,
      queues: typeof d['queues'] === 'number' ? (d['queues'] as number) : 0,
      io_backend: this.node.io.backend,
      crypto_backend: this.node.cryptoName,
    };
  }

  peers(): PeerDto[] {
    const out: PeerDto[] = [];
    const connected = new Map<string, number>();
    /** Where a connected peer's first session comes from: a [peers.NAME] without addr shows it. */
    const from = new Map<string, string>();
    for (const p of this.node.sessionPeers.values()) {
      connected.set(p.peerId, (connected.get(p.peerId) ?? 0) + 1);
      if (!from.has(p.peerId)) from.set(p.peerId, formatAddr(p.addr));
    }
    const rtt = new Map<string, number>();
    const datagram = new Map<string, number>();
    for (const s of this.node.endpoint.listSessions()) {
      if (!s.peerId) continue;
      const m = s.metrics()['srtt_us'];
      if (m) rtt.set(s.peerId, m / 1000);
      datagram.set(s.peerId, Math.min(datagram.get(s.peerId) ?? Infinity, s.datagramSize));
    }
    const named = new Set<string>();
    for (const [name, p] of Object.entries(this.config.peers)) {
      const id = p.id.toLowerCase().replace(/^0x/, '');
      named.add(id);
      out.push({
        name,
        peer_id: id,
        addr: p.addr ?? from.get(id) ?? null,
        connected: connected.has(id),
        sessions: connected.get(id) ?? 0,
        rtt_ms: rtt.get(id) ?? null,
        datagram_size: connected.has(id) ? (datagram.get(id) ?? null) : null,
        transport: connected.has(id) ? this.node.transportName : null,
      });
    }
    for (const p of this.node.sessionPeers.values()) {
      if (named.has(p.peerId)) continue;
      named.add(p.peerId);
      out.push({
        name: null,
        peer_id: p.peerId,
        addr: formatAddr(p.addr),
        connected: true,
        sessions: connected.get(p.peerId) ?? 1,
        rtt_ms: rtt.get(p.peerId) ?? null,
        datagram_size: datagram.get(p.peerId) ?? null,
        transport: this.node.transportName,
      });
    }
    return out;
  }

  transfers(): TransferDto[] {
    // A sender with a [peers.NAME] entry is listed by that name.
    const names = namesById(this.config.peers);
    const rx: TransferDto[] = this.incoming.list().map((r) => {
      const finished = r.finishedMs !== null;
      // The average since the offer was taken (a receive has no rate meter of its own), of what
      // arrived: a resume's held chunks did not.
      const secs = r.elapsedMs / 1000;
      const rate = !finished && secs > 0 ? (r.done - r.resumed) / secs : 0;
      return {
        id: rxId(r.key),
        direction: 'receive',
        peer_id: r.peerId,
        peer_name: names.get(r.peerId) ?? null,
        path: r.name,
        dest: null,
        exclude: null,
        state: finished ? r.state as 'completed' | 'failed' | 'cancelled' : 'running',
        phase: r.state === 'preparing' ? 'preparing' : null,
        bytes_done: r.done,
        bytes_written: null,
        bytes_total: r.size,
        files_done: r.state === 'completed' ? 1 : 0,
        files_total: 1,
        rate_bps: rate,
        rate_limit_bps: null,
        eta_s: rate > 0 ? Math.max(0, (r.size - r.done) / rate) : null,
        started_at: new Date(r.startedMs).toISOString(),
        finished_at: finished ? new Date(r.finishedMs as number).toISOString() : null,
        errors: r.error === null ? [] : [{ ...r.error, path: r.name }],
        warnings: [],
        warnings_total: 0,
      };
    });
    return orderTransfers([...[...this.jobs.values()].map((j) => ({ ...j.dto })), ...rx]);
  }

  transfer(id: string): TransferDto | null {
    return this.transfers().find((t) => t.id === id) ?? null;
  }

  async startTransfer(req: SendRequest): Promise<TransferDto> {
    const peer = parsePeer(req.peerName, this.config.peers);
    const rec: ApiSendRecord = {
      id: randomBytes(8).toString('hex'),
      path: req.path,
      peer: req.peerName,
      rate_bps: req.rateBps,
      allow_growth: req.allowGrowth,
      ...(req.dest !== undefined ? { dest: req.dest } : {}),
      ...(req.exclude !== undefined ? { exclude: req.exclude } : {}),
      started_at: new Date().toISOString(),
    };
    await this.saved.save(rec).catch((e: Error) =>
      this.log.warn({ transfer_id: rec.id, err: e.message }, 'this API send is not kept for a restart: a daemon restarted before it ends will not take it up'),
    );
    return this.launch(rec, peer);
  }

  /**
   * At start: API sends that a stop or a crash interrupted go on, under their ids. Each is
   * checked again as a request would be: a path no longer in send_roots, or a [peers.NAME]
   * taken out, is not sent, with a warning.
   */
  async resumeSaved(): Promise<void> {
    const { records, unreadable } = await this.saved.list().catch((e: Error) => {
      this.log.warn({ err: e.message }, 'the API sends kept for a restart cannot be read');
      return { records: [], unreadable: [] };
    });
    for (const file of unreadable) this.log.warn({ file }, 'a kept API send that is not a send record: left alone');
    for (const rec of records) {
      try {
        if (!Object.hasOwn(this.config.peers, rec.peer)) throw new WraithError('E_PEER_UNKNOWN', `no [peers.${rec.peer}] entry in the config any more`, { peer: rec.peer });
        const real = await resolveSendPath(rec.path, this.config.admin.send_roots);
        const peer = parsePeer(rec.peer, this.config.peers);
        this.log.info({ transfer_id: rec.id, path: real, peer: rec.peer, started_at: rec.started_at }, 'taking up an API send that a restart interrupted');
        this.launch({ ...rec, path: real }, peer);
      } catch (e) {
        const err = e instanceof WraithError ? e : new WraithError('E_INTERNAL', (e as Error).message);
        this.log.warn({ transfer_id: rec.id, path: rec.path, peer: rec.peer, code: err.code, err: err.message }, 'an API send that a restart interrupted is not taken up');
        await this.saved.remove(rec.id).catch(() => undefined);
      }
    }
  }

  /** The daemon is stopping: the sends still running stay kept, to go on at the next start. */
  stopping(): void {
    this.closing = true;
  }

  private launch(rec: ApiSendRecord, peer: PeerSpec): TransferDto {
    const { id, path } = rec;
    const peerName = rec.peer;
    const rateBps = rec.rate_bps;
    const allowGrowth = rec.allow_growth;
    const abort = new AbortController();
    const dto: TransferDto = {
      id,
      direction: 'send',
      peer_id: peer.id,
      peer_name: peerName,
      path,
      dest: rec.dest ?? null,
      exclude: rec.exclude !== undefined ? [...rec.exclude] : null,
      state: 'queued',
      phase: null,
      bytes_done: 0,
      bytes_written: null,
      bytes_total: null,
      files_done: 0,
      files_total: null,
      rate_bps: 0,
      rate_limit_bps: rateBps,
      eta_s: null,
      started_at: rec.started_at,
      finished_at: null,
      errors: [],
      warnings: [],
      warnings_total: 0,
    };
    const job: Job = { dto, abort };
    this.jobs.set(id, job);
    this.trim();
    const emit = (type: 'progress' | 'transfer'): void => {
      // docs/ADMIN.md section 6: events name their transfer as transfer_id.
      this.events.emit('event', { type, transfer_id: dto.id, ...dto });
    };
    const ui: TransferUi = {
      started: () => {
        if (abort.signal.aborted) return;
        dto.state = 'running';
        emit('transfer');
      },
      progress: (e) => {
        dto.phase = e.bytes_hashed !== undefined ? 'hashing' : e.waiting_for_receiver === true ? 'waiting_for_receiver' : e.receiver_finishing === true ? 'receiver_finishing' : null;
        dto.bytes_done = e.bytes_done;
        dto.bytes_written = e.bytes_written ?? null;
        dto.bytes_total = e.bytes_total;
        dto.rate_bps = e.rate_bps;
        dto.eta_s = e.eta_s;
        emit('progress');
      },
      file: () => {
        dto.files_done++;
      },
      warning: (w) => {
        if (dto.warnings.length < WARNINGS_KEPT) dto.warnings.push({ code: w.code, message: w.message });
        dto.warnings_total++;
      },
      completed: () => {},
      error: (err) => {
        dto.errors.push({ code: err.code, message: err.message });
      },
      close: () => {},
    };
    dto.state = 'connecting';
    const run = new OutgoingJob({
      node: this.node,
      peer,
      paths: [path],
      followSymlinks: false,
      allowGrowth,
      ...(rec.dest !== undefined ? { dest: rec.dest } : {}),
      ...(rec.exclude !== undefined ? { exclude: compileExcludes(rec.exclude) } : {}),
      reconnectForMs: 60_000,
      rateBps,
      chunkSize: this.opts.config.transfer.chunk_size,
      maxConcurrent: this.opts.config.transfer.max_concurrent,
      ui,
      log: this.log,
      stats: this.opts.stats,
      signal: abort.signal,
      transferId: id,
      hashCache: hashCacheIn(this.opts.home.stateDir, this.opts.config.transfer.hash_cache),
    });
    void run
      .run()
      .then((r) => {
        dto.files_total = r.files + r.errors.length;
        dto.state = r.errors.length === 0 ? 'completed' : 'failed';
        if (r.errors.length === 0 && dto.bytes_total !== null) dto.bytes_done = dto.bytes_total;
      })
      .catch((e: unknown) => {
        const err = e instanceof WraithError ? e : new WraithError('E_INTERNAL', String(e));
        dto.state = err.code === 'E_CANCELLED' || abort.signal.aborted ? 'cancelled' : 'failed';
        dto.errors.push({ code: err.code, message: err.message });
      })
      .finally(() => {
        dto.finished_at = new Date().toISOString();
        dto.eta_s = null;
        dto.phase = null;
        dto.bytes_written = null;
        emit('transfer');
        // Ended by the daemon's stop: kept, to go on at the next start.
        if (!this.closing || dto.state === 'completed') {
          this.saved.remove(id).catch((e: Error) => this.log.warn({ transfer_id: id, err: e.message }, 'a finished API send record could not be removed'));
        }
      });
    return { ...dto };
  }

  async cancel(id: string): Promise<boolean> {
    const rx = this.incoming.list().find((r) => r.finishedMs === null && rxId(r.key) === id);
    if (rx !== undefined) return this.incoming.cancel(rx.key);
    const j = this.jobs.get(id);
    if (!j || j.dto.finished_at !== null) return false;
    j.abort.abort();
    // The job stops at its next step; DELETE answers with the state it is going to (docs/ADMIN.md section 4).
    j.dto.state = 'cancelled';
    return true;
  }

  metrics(): Promise<string> {
    return this.opts.stats.metrics();
  }

  sendRoots(): string[] {
    return this.config.admin.send_roots;
  }

  peerNames(): string[] {
    return Object.keys(this.config.peers);
  }

  /** Requests after a reload use its [peers] and send_roots. */
  reload(config: DaemonOptions['config']): void {
    this.config = config;
  }

  private trim(): void {
    if (this.jobs.size <= KEEP_FINISHED) return;
    for (const [id, j] of this.jobs) {
      if (j.dto.finished_at !== null) this.jobs.delete(id);
      if (this.jobs.size <= KEEP_FINISHED) break;
    }
  }
}

/** Start the admin API for a daemon; returns its URL (null when off). */
export async function startAdmin(a: { node: WraithNode; incoming: IncomingTransfers; opts: DaemonOptions }): Promise<{
  url: string | null;
  close(): Promise<void>;
  /** [peers] and send_roots from a reloaded config: requests after it use them. */
  reload(config: DaemonOptions['config']): void;
}> {
  const c = a.opts.config.admin;
  const provider = new DaemonAdminProvider(a.node, a.incoming, a.opts);
  a.node.events.on('event', (e: { type: string }) => {
    if (e.type === 'transport_changed') provider.events.emit('event', e);
  });
  const server = await startAdminServer({
    listen: c.listen,
    unixSocket: c.unix_socket,
    allowRemote: c.allow_remote,
    tlsCert: c.tls_cert,
    tlsKey: c.tls_key,
    home: a.opts.home.dir,
    provider,
    logger: a.opts.log.logger,
  });
  // Once the API listens: a start that fails before this leaves the kept sends as they were.
  await provider.resumeSaved();
  return {
    url: server.url,
    close: () => {
      provider.stopping();
      return server.close();
    },
    reload: (config) => {
      provider.reload(config);
    },
  };
}

/** The admin API id of a receive ("rx-" and its session/transfer key). */
function rxId(key: string): string {
  return `rx-${key.replace('/', '-')}`;
}
