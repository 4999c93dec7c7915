// The admin API's peer list: [peers.NAME] entries, with or without addr, and unnamed sessions.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DaemonAdminProvider } from '../src/node/admin-provider.js';
import type { DaemonOptions } from '../src/node-api.js';
import type { WraithNode } from '../src/node/node.js';
import type { IncomingTransfers } from '../src/node/incoming.js';
import { tmpDir } from './helpers.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

describe('the admin API lists peers', () => {
  it("an entry without addr shows where its session comes from while connected, null when not; an unnamed session its own address", () => {
    const sessionPeers = new Map([
      [1, { peerId: A, addr: { host: '192.0.2.7', port: 41000 }, since: 0 }],
      [2, { peerId: C, addr: { host: '192.0.2.9', port: 42000 }, since: 0 }],
    ]);
    const node = { sessionPeers, endpoint: { listSessions: () => [] }, transportName: 'udp' } as unknown as WraithNode;
    const log = pino({ level: 'silent' });
    const peers = { web1: { id: A }, web2: { id: B }, backup: { id: C, addr: 'backup.example.net:40000' } };
    const opts = { config: { peers, admin: { send_roots: [] } }, home: { stateDir: tmpDir() }, log: { logger: log, child: () => log } } as unknown as DaemonOptions;
    const list = new DaemonAdminProvider(node, {} as IncomingTransfers, opts).peers();
    expect(list.map((p) => [p.name, p.addr, p.connected])).toEqual([
      ['web1', '192.0.2.7:41000', true],
      ['web2', null, false],
      ['backup', 'backup.example.net:40000', true],
    ]);
  });
});
