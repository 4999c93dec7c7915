/**
 * GET /v1/transfers on a receiving daemon: files it received stay listed once finished (the
 * last 200), with when they started and finished, not only while they arrive. DELETE (and
 * `wraith cancel`) stops a receive: the sender is told, the rest of its files still arrive.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, findPartials, sha256File, writeRandomFile } from '../support/procs.js';

const scope = new Scope('admin-receives');
afterAll(() => scope.dispose());

interface Transfer {
  id: string;
  direction: string;
  path: string | null;
  state: string;
  bytes_done: number;
  bytes_total: number | null;
  files_done: number;
  started_at: string;
  finished_at: string | null;
  errors: unknown[];
}

describe('a receiving daemon lists its receives', () => {
  it('finished receives stay in GET /v1/transfers as completed, with start and finish times', async () => {
    const rx = await scope.home('rx');
    const daemon = await scope.daemon({ home: rx, adminListen: '127.0.0.1:0' });
    const url = daemon.ready['admin_url'];
    if (typeof url !== 'string') throw new Error(`no admin_url in the ready line: ${JSON.stringify(daemon.ready)}`);
    const token = (await readFile(join(rx.dir, 'admin.token'), 'utf8')).trim();
    const src = join(await scope.tempDir('src'), 'three');
    await mkdir(src);
    const sizes = new Map([['three/a.bin', 1000], ['three/b.bin', 300_000], ['three/c.bin', 5]]);
    for (const [name, size] of sizes) await writeRandomFile(join(src, name.slice('three/'.length)), size);
    const t0 = Date.now();
    const send = scope.send([src], daemon.peer(), { home: await scope.home('tx'), args: ['--reconnect-for', '0s'] });
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(0);

    const res = await fetch(`${url}/v1/transfers`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    const { transfers } = (await res.json()) as { transfers: Transfer[] };
    const receives = transfers.filter((t) => t.direction === 'receive');
    expect(receives.map((t) => t.path).sort()).toEqual([...sizes.keys()].sort());
    for (const t of receives) {
      const size = sizes.get(t.path as string) as number;
      expect(t, JSON.stringify(t)).toMatchObject({ state: 'completed', bytes_done: size, bytes_total: size, files_done: 1, errors: [], rate_limit_bps: null });
      const started = Date.parse(t.started_at);
      expect(started).toBeGreaterThanOrEqual(t0 - 1000);
      expect(Date.parse(t.finished_at ?? '')).toBeGreaterThanOrEqual(started);
    }
  });

  it('a receive is cancelled by its id: the sender fails that file with E_TRANSFER_CANCELLED, the others arrive, the partial stays', async () => {
    const rx = await scope.home('rx');
    const daemon = await scope.daemon({ home: rx, adminListen: '127.0.0.1:0' });
    const src = join(await scope.tempDir('src'), 'two');
    await mkdir(src);
    await writeRandomFile(join(src, 'big.bin'), 24 * 1024 * 1024);
    const smallSum = await writeRandomFile(join(src, 'small.bin'), 2000);
    const send = scope.send([src], daemon.peer(), { home: await scope.home('tx'), args: ['--reconnect-for', '0s', '--rate', '4MiB'] });
    await send.waitFor((e) => e.type === 'progress' && typeof e.bytes_done === 'number' && e.bytes_done > 1024 * 1024, 30_000, 'the big file under way');

    const list = await scope.run(['--home', rx.dir, 'transfers', '--json']);
    const all = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as Transfer); // NDJSON
    const big = all.find((t) => t.path === 'two/big.bin' && t.state === 'running');
    if (big === undefined) throw new Error(`no running receive of two/big.bin in ${list.stdout}`);
    const cancel = await scope.run(['--home', rx.dir, 'cancel', big.id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    // A finished one cannot be cancelled again: 409 E_TRANSFER_FINISHED (exit 6).
    const again = await scope.run(['--home', rx.dir, 'cancel', big.id]);
    expect(again.code, again.stderr).toBe(6);
    expect(again.stderr).toMatch(/E_TRANSFER_FINISHED/);

    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(130);
    const errors = r.events.filter((e) => e.type === 'error');
    expect(errors.map((e) => e.code), send.describe()).toEqual(['E_TRANSFER_CANCELLED']);
    expect(String(errors[0]!.message)).toMatch(/receiver's operator/);
    expect(await sha256File(join(daemon.output, 'two', 'small.bin'))).toBe(smallSum);
    expect(await findPartials(daemon.output)).toHaveLength(1);
    const after = await scope.run(['--home', rx.dir, 'transfers', '--json']);
    expect(after.stdout).toMatch(/"cancelled"/);
  });
});
