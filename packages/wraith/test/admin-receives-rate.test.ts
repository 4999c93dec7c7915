import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DaemonAdminProvider } from '../src/node/admin-provider.js';
import type { ReceiveEntry } from '../src/node/incoming.js';
import type { DaemonOptions } from '../src/node-api.js';
import type { WraithNode } from '../src/node/node.js';
import type { IncomingTransfers } from '../src/node/incoming.js';
import { tmpDir } from './helpers.js';

const MiB = 1024 * 1024;

describe('the admin API lists a receive', () => {
  it('with the rate of what arrived: a resume\'s held chunks are done, but did not arrive now', () => {
    const entry: ReceiveEntry = {
      key: '3/1', peerId: 'ab'.repeat(32), name: 'big.bin', size: 64 * MiB, done: 40 * MiB, resumed: 32 * MiB,
      state: 'receiving', startedMs: Date.now() - 2000, finishedMs: null, elapsedMs: 2000, error: null,
    };
    const incoming = { list: () => [entry] } as unknown as IncomingTransfers;
    const log = pino({ level: 'silent' });
    const opts = { config: { peers: {}, admin: { send_roots: [] } }, home: { stateDir: tmpDir() }, log: { logger: log, child: () => log } } as unknown as DaemonOptions;
    const provider = new DaemonAdminProvider({} as WraithNode, incoming, opts);
    const [t] = provider.transfers();
    expect(t).toMatchObject({ direction: 'receive', bytes_done: 40 * MiB, bytes_total: 64 * MiB, peer_name: null });
    expect(t!.rate_bps).toBe(4 * MiB); // 8 MiB in 2 s, not 40
    expect(t!.eta_s).toBe(6);
  });

  it('a receive not yet accepted (the node checks what it holds of the file) is running, in phase preparing', () => {
    const entry: ReceiveEntry = {
      key: '3/5', peerId: 'ab'.repeat(32), name: 'img.raw', size: 64 * MiB, done: 0, resumed: 0,
      state: 'preparing', startedMs: Date.now() - 2000, finishedMs: null, elapsedMs: 2000, error: null,
    };
    const incoming = { list: () => [entry] } as unknown as IncomingTransfers;
    const log = pino({ level: 'silent' });
    // Its sender has [peers.NAME] entries: listed by the first name in order.
    const peers = { zulu: { id: 'AB'.repeat(32) }, web1: { id: `0x${'ab'.repeat(32)}` }, other: { id: 'cd'.repeat(32) } };
    const opts = { config: { peers, admin: { send_roots: [] } }, home: { stateDir: tmpDir() }, log: { logger: log, child: () => log } } as unknown as DaemonOptions;
    const [t] = new DaemonAdminProvider({} as WraithNode, incoming, opts).transfers();
    expect(t).toMatchObject({ direction: 'receive', state: 'running', phase: 'preparing', bytes_done: 0, rate_bps: 0, eta_s: null, peer_name: 'web1' });
  });
});
