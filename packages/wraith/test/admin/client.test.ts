/** The CLI clients against a real server found through run/daemon.json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWraithError, type WraithError } from '@wraith/core';
import { runCancel, runPeers, runStatus, runTransfers } from '../../src/admin/commands.js';
import { AdminClient, findDaemon } from '../../src/admin/client.js';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { homePaths } from '../../src/home/home.js';
import { writeRunInfo } from '../../src/home/runinfo.js';
import { MemStream, tmpDir } from '../helpers.js';
import { FakeProvider, PEER_A } from './fake-provider.js';

let home: string;
let server: AdminServer;
let provider: FakeProvider;

beforeAll(async () => {
  home = tmpDir('wraith-client-');
  mkdirSync(join(home, 'run'), { mode: 0o700 });
  provider = new FakeProvider();
  server = await startAdminServer({ listen: '127.0.0.1:0', allowRemote: false, home, provider, logger: pino({ level: 'silent' }) });
  await writeRunInfo(homePaths(home), { pid: process.pid, peer_id: PEER_A, udp_addrs: ['127.0.0.1:40000'], admin_url: server.url, transport: 'udp' });
});
afterAll(async () => {
  await server.close();
});

async function failure(p: Promise<unknown>): Promise<WraithError> {
  try {
    await p;
  } catch (e) {
    if (isWraithError(e)) return e;
    throw e;
  }
  throw new Error('expected a WraithError');
}

describe('human output', () => {
  it('runStatus prints the status block with probes', async () => {
    const out = new MemStream();
    const s = await runStatus(home, false, { out });
    expect(s.peer_id).toBe('b'.repeat(64));
    expect(out.text).toMatch(/^peer id\s+b{64}$/m);
    expect(out.text).toMatch(/^transport\s+xdp \(native mode, copy, 1 queue\)$/m);
    expect(out.text).toMatch(/^capabilities\s+fail E_XDP_UNAVAILABLE\s+missing CAP_BPF; AmbientCapabilities=CAP_BPF$/m);
  });

  it('runTransfers prints a table', async () => {
    const out = new MemStream();
    const list = await runTransfers(home, false, { out });
    expect(list).toHaveLength(2);
    const lines = out.lines();
    expect(lines[0]).toMatch(/^ID\s+DIR\s+PEER\s+STATE\s+PROGRESS\s+RATE\s+ETA\s+PATH$/);
    expect(lines[1]).toMatch(/^t-0001\s+send\s+alpha\s+running\s+25\.0% of 4\.00 MiB\s+8\.00 Mbit\/s\s+3s\s+\/srv\/out\/file\.bin$/);
    expect(lines[2]).toMatch(/^t-0002\s+send\s+alpha\s+completed\s+100\.0% of 10 B\s+-\s+-/);
  });

  it('runPeers prints a table', async () => {
    const out = new MemStream();
    await runPeers(home, false, { out });
    expect(out.lines()[0]).toMatch(/RTT\s+DATAGRAM\s+TRANSPORT$/);
    expect(out.lines()[1]).toMatch(/^alpha\s+a{12}…\s+10\.0\.0\.1:40000\s+connected\s+1\s+0\.25 ms\s+1452 B\s+xdp$/);
    expect(out.lines()[2]).toMatch(/^beta\s+c{12}…\s+10\.0\.0\.2:40000\s+idle\s+0\s+-\s+-\s+-$/);
  });
});

describe('--json output (NDJSON lines)', () => {
  it('status: one line', async () => {
    const out = new MemStream();
    await runStatus(home, true, { out });
    expect(out.lines()).toHaveLength(1);
    const line = JSON.parse(out.lines()[0]!);
    expect(line).toMatchObject({ v: 1, type: 'status', transfer_id: null, peer_id: 'b'.repeat(64), transport: { active: 'xdp' } });
  });

  it('transfers and peers: one line each', async () => {
    const out = new MemStream();
    await runTransfers(home, true, { out });
    expect(out.lines().map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ type: 'transfer', transfer_id: 't-0001', bytes_done: 1_048_576 }),
      expect.objectContaining({ type: 'transfer', transfer_id: 't-0002', state: 'completed' }),
    ]);
    const peers = new MemStream();
    await runPeers(home, true, { out: peers });
    expect(peers.lines()).toHaveLength(2);
    expect(JSON.parse(peers.lines()[0]!)).toMatchObject({ type: 'peer', name: 'alpha', connected: true, datagram_size: 1452 });
  });
});

describe('cancel', () => {
  it('cancels a running transfer', async () => {
    const out = new MemStream();
    const t = await runCancel(home, 't-0001', true, { out });
    expect(t.state).toBe('cancelled');
    expect(provider.cancelled).toContain('t-0001');
    expect(JSON.parse(out.lines()[0]!)).toMatchObject({ type: 'cancelled', transfer_id: 't-0001', state: 'cancelled' });
  });

  it('an unknown id throws the server\'s coded error (E_TRANSFER_UNKNOWN, exit code 6)', async () => {
    const err = await failure(runCancel(home, 't-4242', false, { out: new MemStream() }));
    expect(err.code).toBe('E_TRANSFER_UNKNOWN');
    expect(err.exitCode).toBe(6);
    expect(err.message).toContain('t-4242');
  });
});

describe('finding the daemon', () => {
  it('no daemon.json: E_DAEMON_NOT_RUNNING with a hint', async () => {
    const empty = tmpDir('wraith-client-');
    const err = await failure(runStatus(empty, false, { out: new MemStream() }));
    expect(err.code).toBe('E_DAEMON_NOT_RUNNING');
    expect(err.hint).toContain('wraith daemon');
  });

  it('a daemon.json of a dead pid is ignored: E_DAEMON_NOT_RUNNING', async () => {
    const other = tmpDir('wraith-client-');
    mkdirSync(join(other, 'run'), { mode: 0o700 });
    writeFileSync(join(other, 'run', 'daemon.json'), JSON.stringify({ pid: 2 ** 22 + 7, peer_id: PEER_A, udp_addrs: [], admin_url: server.url, transport: 'udp' }));
    expect((await failure(runPeers(other, false, { out: new MemStream() }))).code).toBe('E_DAEMON_NOT_RUNNING');
  });

  it('admin_url null: E_ADMIN_OFF', async () => {
    const other = tmpDir('wraith-client-');
    mkdirSync(join(other, 'run'), { mode: 0o700 });
    await writeRunInfo(homePaths(other), { pid: process.pid, peer_id: PEER_A, udp_addrs: [], admin_url: null, transport: 'udp' });
    expect((await failure(findDaemon(other))).code).toBe('E_ADMIN_OFF');
  });

  it('a URL where nothing listens: E_DAEMON_NOT_RUNNING naming it', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const client = new AdminClient({ url: `http://127.0.0.1:${port}`, token: 'x' });
    const err = await failure(client.status());
    expect(err.code).toBe('E_DAEMON_NOT_RUNNING');
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });

  it('a wrong token comes back as E_ADMIN_FORBIDDEN', async () => {
    const client = new AdminClient({ url: server.url!, token: '0'.repeat(64) });
    expect((await failure(client.peers())).code).toBe('E_ADMIN_FORBIDDEN');
  });

  it('metrics and startTransfer through the client', async () => {
    const client = await AdminClient.forHome(home);
    expect(await client.metrics()).toContain('wraith_packets_total');
    expect((await failure(client.startTransfer('/tmp', 'alpha'))).code).toBe('E_ADMIN_SEND_DISABLED');
  });
});
