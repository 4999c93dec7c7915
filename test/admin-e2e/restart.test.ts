/**
 * Sends started through the admin API outlive a restart of the daemon that runs them: daemon A
 * (send_roots, [peers.b]) is stopped with SIGTERM in the middle of a rate-capped send to daemon
 * B and started again; the send goes on under its id, resumes what B already holds, and arrives
 * identical. A kept send whose path left send_roots meanwhile is not taken up, with a warning;
 * one kept while the admin API is off waits for it, said at start.
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { adminDaemon, type Admin } from '../support/hostile.js';
import { Scope, freeUdpPort, sha256File, sleep, writeRandomFile } from '../support/procs.js';

const MiB = 1 << 20;
const scope = new Scope('admin-e2e-restart');
afterAll(() => scope.dispose());

interface Transfer {
  id: string;
  state: string;
  bytes_done: number;
  dest: string | null;
  exclude: string[] | null;
  started_at: string;
}

async function transfer(admin: Admin, id: string): Promise<Transfer> {
  const r = await admin.get(`/v1/transfers/${id}`);
  if (r.status !== 200) throw new Error(`GET /v1/transfers/${id}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as Transfer;
}

async function until(pred: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not ${what} within ${ms} ms`);
    await sleep(50);
  }
}

it('an API send interrupted by a restart goes on under its id and resumes (into its dest); one whose path left send_roots is dropped with a warning', async () => {
  const [homeA, homeB] = await Promise.all([scope.home('a'), scope.home('b')]);
  const dB = await scope.daemon({ home: homeB, name: 'daemon-b' });
  const root = await scope.tempDir('root');
  const outside = await scope.tempDir('outside');
  const src = join(root, 'big.bin');
  const sent = await writeRandomFile(src, 40 * MiB);
  await writeFile(join(homeA.dir, 'config.toml'), `[admin]\nsend_roots = [${JSON.stringify(root)}]\n\n[peers.b]\nid = ${JSON.stringify(dB.peerId)}\naddr = ${JSON.stringify(dB.addr)}\n`, { mode: 0o600 });

  // One port across the restart, as a daemon has: the new one then hears what B sends to the old.
  const bind = `127.0.0.1:${await freeUdpPort()}`;
  const first = await adminDaemon(scope, { home: homeA, name: 'daemon-a', bind });
  const post = await fetch(`${first.admin.url}/v1/transfers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first.admin.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ path: src, peer: 'b', rate: '8M', dest: 'kept/dir', exclude: ['*.partial'] }),
  });
  expect(post.status).toBe(201);
  const { id, started_at } = (await post.json()) as Transfer;
  const kept = join(homeA.dir, 'state', 'api-sends', `${id}.json`);
  expect(existsSync(kept)).toBe(true);
  await until(async () => (await transfer(first.admin, id)).bytes_done >= 12 * MiB, 30_000, '12 MiB sent');
  expect(await first.daemon.terminate()).toEqual({ code: 0, signal: null });
  expect(existsSync(kept), 'kept across the stop').toBe(true);

  // Another kept send, whose path is no longer in send_roots, and a file that is no record.
  const stray = '0123456789abcdef';
  const dir = join(homeA.dir, 'state', 'api-sends');
  await writeFile(join(outside, 'x'), 'x');
  await writeFile(join(dir, `${stray}.json`), JSON.stringify({ id: stray, path: join(outside, 'x'), peer: 'b', rate_bps: null, allow_growth: false, started_at }));
  await writeFile(join(dir, 'junk.json'), '{not json');

  const second = await adminDaemon(scope, { home: homeA, name: 'daemon-a again', bind });
  await until(async () => (await transfer(second.admin, id)).state === 'completed', 60_000, 'completed after the restart');
  const t = await transfer(second.admin, id);
  expect(t.started_at).toBe(started_at);
  expect(t.dest).toBe('kept/dir');
  expect(t.exclude).toEqual(['*.partial']);
  // Under its dest still: a send taken up without it would have begun big.bin anew at the top.
  expect(await sha256File(join(dB.output, 'kept', 'dir', 'big.bin'))).toBe(sent);
  expect(existsSync(join(dB.output, 'big.bin'))).toBe(false);
  const lines = second.daemon.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.find((l) => l['msg'] === 'taking up an API send that a restart interrupted')).toMatchObject({ transfer_id: id, path: src, peer: 'b' });
  expect(lines.find((l) => l['msg'] === 'an API send that a restart interrupted is not taken up')).toMatchObject({ transfer_id: stray, code: 'E_ADMIN_PATH_OUTSIDE' });
  expect(lines.some((l) => l['msg'] === 'a kept API send that is not a send record: left alone' && String(l['file']).endsWith('junk.json'))).toBe(true);
  // B resumed: its second receive of big.bin held chunks from the first.
  const receiving = dB.stderr.split('\n').filter((l) => l.includes('"msg":"receiving"') && l.includes('big.bin')).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(receiving.length, dB.stderr).toBeGreaterThanOrEqual(2);
  expect(Number(receiving.at(-1)!['resumed_chunks'])).toBeGreaterThan(0);
  await until(async () => !existsSync(kept), 5000, 'the record removed once completed');
  // The stop closed every session it had: the send did not dial again in the stop's grace
  // period, which would leave B a session nobody closes (found by a stateless reset later).
  expect(dB.stderr, dB.stderr).not.toContain('stateless reset: the peer restarted or lost the session');
  expect((await readdir(dir)).sort()).toEqual(['junk.json']);

  // Kept while the admin API is off: said at start, and kept for a start with it on.
  await second.daemon.terminate();
  const waiting = 'fedcba9876543210';
  await writeFile(join(dir, `${waiting}.json`), JSON.stringify({ id: waiting, path: src, peer: 'b', rate_bps: null, allow_growth: false, started_at }));
  // A start that fails (its admin port taken) leaves it as it was.
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  const busy = `127.0.0.1:${(holder.address() as AddressInfo).port}`;
  const failed = await scope.spawn(['daemon', '--json', '--bind', '127.0.0.1:0', '--output', await scope.tempDir('a-out'), '--admin-listen', busy], { home: homeA, name: 'daemon-a, admin port taken' }).result(30_000);
  holder.close();
  expect(failed.code, failed.stderr).toBe(5);
  expect(existsSync(join(dir, `${waiting}.json`))).toBe(true);
  const off = await scope.daemon({ home: homeA, name: 'daemon-a without the API', adminListen: 'off' });
  await until(async () => off.stderr.includes('before a restart wait for it'), 5000, 'the warning');
  expect(off.stderr).toContain(waiting);
  expect(existsSync(join(dir, `${waiting}.json`))).toBe(true);
}, 180_000);
