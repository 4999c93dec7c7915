/**
 * A sender that lies about names (or, in its OFFER, about how much of a file is zeros, or in
 * the leaf row a receiver asks for): the engine (Endpoint) over the UDP
 * transport with a minimal driver loop (the shape of
 * packages/wraith/src/node/driver.ts), which offers files under names the CLI
 * would never send ("../x", "/etc/x", "a\u0001b").
 *
 * The engine validates names before it sends an OFFER, so the lie is told
 * after that check: the session's control sender is wrapped and the name of
 * the next OFFER is replaced on its way to the wire. Everything else (keys,
 * root, chunks, proofs) is genuine, so a receiver that accepted the name
 * would really get the file.
 *
 *   const evil = await EvilSender.connect(daemon.peerId, { host: '127.0.0.1', port: daemon.port });
 *   const out = await evil.offer('../x', Buffer.from('hello'));   // { kind: 'rejected', code: 'E_PATH_INVALID', ... }
 *   await evil.close();
 */
import { randomFillSync } from 'node:crypto';
import {
  DatagramBatch,
  Endpoint,
  buildFileTree,
  loadBackend,
  parsePeerId,
  type SessionEvent,
  type SocketAddr,
  type Transport,
} from '@wraith/core';
import { nobleBlake3 } from '@wraith/core/noble';
import { createUdpTransport } from '@wraith/transport-udp';

export type OfferOutcome =
  | { kind: 'rejected'; code: string; reason: string; byPeer: boolean }
  | { kind: 'completed'; status: string };

const CHUNK = 16 * 1024;

function now(): number {
  return Math.floor(performance.now() * 1000);
}

interface ControlDeps {
  sendControl: (m: { type: string; name?: string; zeroBytes?: number; leaves?: Uint8Array }) => void;
}

export class EvilSender {
  private readonly out: DatagramBatch;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(e: SessionEvent) => void>();
  private closed = false;
  private session = -1;
  /** The name the next OFFER goes out with. */
  private nextWireName: string | null = null;
  /** The zero bytes the next OFFER claims. */
  private nextZeroBytes: number | null = null;
  /** LEAVES go out with a leaf changed. */
  private lieLeaves = false;
  /** LEAVES are not sent at all. */
  private withholdLeaves = false;
  private readonly data = new Map<number, Uint8Array>();

  private constructor(
    private readonly ep: Endpoint,
    private readonly transport: Transport,
  ) {
    this.out = new DatagramBatch(64, Math.max(2048, ep.config.maxDatagramSize));
    transport.onRecv((batch) => {
      const t = now();
      for (let i = 0; i < batch.count; i++) ep.handleDatagram(t, batch.addrs[i] as SocketAddr, batch.datagram(i));
      this.run();
    });
    transport.onWritable(() => this.run());
  }

  /** Dials `peerId@addr` and completes the handshake (the receiver must accept any peer). */
  static async connect(peerId: string, addr: SocketAddr, timeoutMs = 15_000): Promise<EvilSender> {
    const backend = await loadBackend('auto');
    const rng = { fill: (b: Uint8Array) => void randomFillSync(b) };
    const ep = new Endpoint({
      staticKey: backend.x25519GenerateKeyPair(rng),
      backend,
      hasher: nobleBlake3,
      rng,
      acceptIncoming: false,
    });
    const transport = await createUdpTransport({ bind: addr.host.includes(':') ? '[::1]:0' : '127.0.0.1:0' });
    const s = new EvilSender(ep, transport);
    try {
      s.session = ep.connect(now(), addr, parsePeerId(peerId));
      s.run();
      await s.waitEvent((e) => e.type === 'connected' && e.session === s.session, timeoutMs, 'the handshake');
      s.wrapControl();
      return s;
    } catch (e) {
      await s.close();
      throw e;
    }
  }

  /**
   * Offers `data` under `wireName`. Resolves with the receiver's answer: a
   * rejection (code and reason), or the completed transfer when it accepted.
   */
  async offer(wireName: string, data: Uint8Array, timeoutMs = 20_000, lie: { zeroBytes?: number; leafRow?: boolean; withholdRow?: boolean } = {}): Promise<OfferOutcome> {
    const { manifest, tree } = buildFileTree(nobleBlake3, 'placeholder', data, CHUNK, { mode: 0o644, mtimeMs: Date.now() });
    this.nextWireName = wireName;
    this.nextZeroBytes = lie.zeroBytes ?? null;
    this.lieLeaves = lie.leafRow === true;
    this.withholdLeaves = lie.withholdRow === true;
    const id = this.ep.offer(this.session, manifest, tree);
    this.nextWireName = null;
    this.nextZeroBytes = null;
    this.data.set(id, data);
    this.run();
    const e = await this.waitEvent(
      (x) => (x.type === 'transfer_failed' || x.type === 'transfer_complete') && x.transferId === id,
      timeoutMs,
      `the answer to ${JSON.stringify(wireName)}`,
    );
    this.data.delete(id);
    if (e.type === 'transfer_failed') return { kind: 'rejected', code: e.code, reason: e.reason, byPeer: e.byPeer };
    if (e.type === 'transfer_complete') return { kind: 'completed', status: e.status };
    throw new Error('unreachable');
  }

  /**
   * Offers `data` as `name` and cancels it in the same flight, before the receiver can have
   * answered; resolves once the CANCEL is acknowledged.
   */
  async offerAndCancel(name: string, data: Uint8Array, timeoutMs = 10_000): Promise<void> {
    const { manifest, tree } = buildFileTree(nobleBlake3, name, data, CHUNK, { mode: 0o644, mtimeMs: Date.now() });
    const id = this.ep.offer(this.session, manifest, tree);
    this.ep.cancel(this.session, id, 'E_CANCELLED', 'changed my mind');
    this.run();
    const until = Date.now() + timeoutMs;
    while (!this.ep.controlSettled(this.session)) {
      if (Date.now() > until) throw new Error(`the CANCEL of ${JSON.stringify(name)} was not acknowledged within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.session >= 0 && this.ep.hasSession(this.session)) {
      this.ep.close(now(), this.session, null, 'done');
      this.run();
      await new Promise((r) => setTimeout(r, 50));
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.transport.close();
  }

  /** Swap the name of the next OFFER after the engine checked it. */
  private wrapControl(): void {
    const deps = (this.ep.session(this.session) as unknown as { transfers: { d: ControlDeps } }).transfers.d;
    const send = deps.sendControl.bind(deps);
    deps.sendControl = (m) => {
      if (m.type === 'leaves' && this.withholdLeaves) return;
      if (m.type === 'leaves' && this.lieLeaves && m.leaves !== undefined) {
        const leaves = m.leaves.slice();
        leaves[0] = (leaves[0] as number) ^ 1;
        return send({ ...m, leaves });
      }
      if (m.type !== 'offer' || this.nextWireName === null) return send(m);
      send({ ...m, name: this.nextWireName, ...(this.nextZeroBytes !== null ? { zeroBytes: this.nextZeroBytes } : {}) });
    };
  }

  private waitEvent(pred: (e: SessionEvent) => boolean, timeoutMs: number, what: string): Promise<SessionEvent> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`evil sender: no answer for ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const l = (e: SessionEvent): void => {
        if (e.type === 'closed' && e.session === this.session) {
          clearTimeout(t);
          this.listeners.delete(l);
          reject(new Error(`evil sender: the session closed (${e.code}: ${e.reason}) while waiting for ${what}`));
          return;
        }
        if (!pred(e)) return;
        clearTimeout(t);
        this.listeners.delete(l);
        resolve(e);
      };
      this.listeners.add(l);
    });
  }

  /** The driver loop: timeouts, events, transmit, re-arm. */
  private run(): void {
    if (this.closed) return;
    const t = now();
    if (this.ep.pollTimeout() <= t) this.ep.handleTimeout(t);
    for (let e = this.ep.pollEvent(); e; e = this.ep.pollEvent()) this.onEvent(e);
    for (let rounds = 0; rounds < 64; rounds++) {
      this.out.clear();
      if (this.ep.pollTransmit(t, this.out) === 0) break;
      this.transport.send(this.out);
    }
    for (let e = this.ep.pollEvent(); e; e = this.ep.pollEvent()) this.onEvent(e);
    const at = this.ep.pollTimeout();
    if (this.timer) clearTimeout(this.timer);
    this.timer = at === Infinity ? null : setTimeout(() => this.run(), Math.max(0, (at - now()) / 1000));
  }

  private onEvent(e: SessionEvent): void {
    if (e.type === 'read_chunks') {
      const data = this.data.get(e.transferId);
      if (data) {
        for (const i of e.chunks) this.ep.supplyChunk(e.session, e.transferId, i, data.subarray(i * CHUNK, Math.min(data.length, (i + 1) * CHUNK)));
        setImmediate(() => this.run());
      }
    }
    for (const l of [...this.listeners]) l(e);
  }
}
