/** An in-memory AdminProvider for the admin API tests: canned status, peers and transfers. */
import { EventEmitter } from 'node:events';
import { Stats } from '../../src/stats.js';
import type { AdminEvent, AdminProvider, PeerDto, SendRequest, StatusDto, TransferDto } from '../../src/admin/provider.js';

export const PEER_A = 'a'.repeat(64);
export const PEER_B = 'b'.repeat(64);

export function transferDto(over: Partial<TransferDto> = {}): TransferDto {
  return {
    id: 't-0001',
    direction: 'send',
    peer_id: PEER_A,
    peer_name: 'alpha',
    path: '/srv/out/file.bin',
    dest: null,
    exclude: null,
    state: 'running',
    phase: null,
    bytes_done: 1_048_576,
    bytes_total: 4_194_304,
    files_done: 0,
    files_total: 1,
    rate_bps: 1_000_000,
    rate_limit_bps: null,
    bytes_written: null,
    eta_s: 3.1,
    started_at: '2024-01-01T00:00:00.000Z',
    finished_at: null,
    errors: [],
    warnings: [],
    warnings_total: 0,
    ...over,
  };
}

export class FakeProvider implements AdminProvider {
  readonly events = new EventEmitter();
  readonly stats = new Stats();
  roots: string[] = [];
  names: string[] = ['alpha', 'beta'];
  list: TransferDto[] = [transferDto(), transferDto({ id: 't-0002', state: 'completed', bytes_done: 10, bytes_total: 10, rate_bps: 0, eta_s: null, finished_at: '2024-01-01T00:01:00.000Z' })];
  started: Array<{ path: string; peer: string; rateBps: number | null; allowGrowth: boolean; dest?: string; exclude?: readonly string[] }> = [];
  cancelled: string[] = [];
  private next = 3;

  status(): StatusDto {
    return {
      peer_id: PEER_B,
      version: '0.1.0',
      uptime_s: 42,
      listen: ['0.0.0.0:40000'],
      transport: {
        active: 'xdp',
        per_peer: [{ peer_id: PEER_A, transport: 'xdp' }],
        changes: [],
        probes: [
          { name: 'kernel', ok: true, code: null, reason: 'Linux 6.18', remedy: '' },
          { name: 'capabilities', ok: false, code: 'E_XDP_UNAVAILABLE', reason: 'missing CAP_BPF', remedy: 'AmbientCapabilities=CAP_BPF' },
        ],
      },
      xdp_mode: 'native',
      zero_copy: false,
      queues: 1,
      io_backend: 'io_uring',
      crypto_backend: 'node',
    };
  }

  peers(): PeerDto[] {
    return [
      { name: 'alpha', peer_id: PEER_A, addr: '10.0.0.1:40000', connected: true, sessions: 1, rtt_ms: 0.25, datagram_size: 1452, transport: 'xdp' },
      { name: 'beta', peer_id: 'c'.repeat(64), addr: '10.0.0.2:40000', connected: false, sessions: 0, rtt_ms: null, datagram_size: null, transport: null },
    ];
  }

  transfers(): TransferDto[] {
    return this.list;
  }

  transfer(id: string): TransferDto | null {
    return this.list.find((t) => t.id === id) ?? null;
  }

  async startTransfer(req: SendRequest): Promise<TransferDto> {
    const { path, peerName, rateBps, allowGrowth } = req;
    this.started.push({ path, peer: peerName, rateBps, allowGrowth, ...(req.dest !== undefined ? { dest: req.dest } : {}), ...(req.exclude !== undefined ? { exclude: req.exclude } : {}) });
    const t = transferDto({ id: `t-${String(this.next++).padStart(4, '0')}`, path, peer_name: peerName, state: 'queued', bytes_done: 0, bytes_total: null, rate_bps: 0, eta_s: null });
    this.list.push(t);
    return t;
  }

  cancel(id: string): boolean {
    const i = this.list.findIndex((t) => t.id === id);
    const t = this.list[i];
    if (t === undefined || t.state === 'completed' || t.state === 'failed' || t.state === 'cancelled') return false;
    this.list[i] = { ...t, state: 'cancelled', finished_at: new Date(0).toISOString() };
    this.cancelled.push(id);
    return true;
  }

  async metrics(): Promise<string> {
    this.stats.packets.inc({ direction: 'tx' }, 7);
    return this.stats.metrics();
  }

  sendRoots(): string[] {
    return this.roots;
  }

  peerNames(): string[] {
    return this.names;
  }

  emit(event: AdminEvent): void {
    this.events.emit('event', event);
  }
}
