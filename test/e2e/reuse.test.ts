/**
 * A file sent again after it changed (a database dump, a VM image, a log that grew): the
 * receiver compares the copy it holds under the name with the offer's leaf row and only the
 * chunks that differ cross the wire, under on_conflict = "overwrite" (the copy is replaced) and
 * "rename" (the copy stays, the new version is stored beside it).
 */
import { open, readFile, stat } from 'node:fs/promises';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminDaemon, type Admin } from '../support/hostile.js';
import { EvilSender } from './evil-sender.js';
import { basename } from 'node:path';
import { Scope, allocatedBytes, findPartials, sha256File, writeRandomAt, writeRandomFile, type Daemon, type TestHome } from '../support/procs.js';

const MiB = 1024 * 1024;
const CHUNK = 256 * 1024; // config/ default chunk_size
const SIZE = 48 * MiB;

const scope = new Scope('reuse');
let tx: TestHome;
let admin: Admin;
let overwrite: Daemon;
let rename: Daemon;
let plain: Daemon;
let noReuse: Daemon;

beforeAll(async () => {
  const [rx, rx2, rx3, rx4] = await Promise.all([scope.home('rx'), scope.home('rx2'), scope.home('rx3'), scope.home('rx4')]);
  tx = await scope.home('tx');
  const [withAdmin, r, p, n] = await Promise.all([
    adminDaemon(scope, { home: rx, args: ['--on-conflict', 'overwrite'] }),
    scope.daemon({ home: rx2, args: ['--on-conflict', 'rename'] }),
    scope.daemon({ home: rx3 }), // the default: on_conflict = "refuse"
    scope.daemon({ home: rx4, args: ['--on-conflict', 'overwrite', '--no-reuse-existing'] }),
  ]);
  [overwrite, admin, rename, plain, noReuse] = [withAdmin.daemon, withAdmin.admin, r, p, n];
});
afterAll(() => scope.dispose());


async function send(path: string, d: Daemon): Promise<Record<string, unknown>> {
  const s = scope.send([path], d.peer(), { home: tx });
  const r = await s.result(120_000);
  expect(r.code, s.describe()).toBe(0);
  return r.events.at(-1) as Record<string, unknown>;
}

describe('a changed file sent again', () => {
  it('overwrite: only the changed chunks and the new tail are sent; the file is replaced, identical', async () => {
    const src = join(await scope.tempDir('src'), 'db.dump');
    await (await open(src, 'wx', 0o600)).close();
    await writeRandomAt(src, [[0, SIZE]]);
    const first = await send(src, overwrite);
    expect(first).toMatchObject({ type: 'completed', payload_bytes_sent: SIZE, bytes_reused: 0 });

    // Bytes changed in chunks 3, 100 and 101 (one write across their boundary), 2.5 MiB appended.
    await writeRandomAt(src, [
      [3 * CHUNK + 77, 10],
      [101 * CHUNK - 5, 10],
      [SIZE, 2.5 * MiB],
    ]);
    const size = (await stat(src)).size;
    const sent = 3 * CHUNK + 2.5 * MiB;
    const done = await send(src, overwrite);
    expect(done).toMatchObject({ type: 'completed', payload_bytes_sent: sent, bytes_reused: size - sent, bytes_skipped_resume: size - sent, bytes_already_present: 0 });
    const out = join(overwrite.output, 'db.dump');
    expect(await sha256File(out)).toBe(await sha256File(src));
    expect((await admin.metrics()).get('wraith_transfer_reused_bytes_total')).toBe(size - sent);
  });

  it('rename: the new version is stored beside the old one, built from it, and the old one is untouched', async () => {
    const src = join(await scope.tempDir('src'), 'disk.img');
    await (await open(src, 'wx', 0o600)).close();
    await writeRandomAt(src, [[0, 16 * MiB]]);
    await send(src, rename);
    const old = join(rename.output, 'disk.img');
    const oldSum = await sha256File(old);
    await writeRandomAt(src, [[5 * CHUNK, 100]]);
    const done = await send(src, rename);
    expect(done).toMatchObject({ type: 'completed', payload_bytes_sent: CHUNK, bytes_reused: 16 * MiB - CHUNK });
    expect(await sha256File(join(rename.output, 'disk (1).img'))).toBe(await sha256File(src));
    expect(await sha256File(old)).toBe(oldSum);
  });

  it('reuse_existing = false: every chunk is received', async () => {
    const src = join(await scope.tempDir('src'), 'log.txt');
    await (await open(src, 'wx', 0o600)).close();
    await writeRandomAt(src, [[0, 4 * MiB]]);
    await send(src, noReuse);
    await writeRandomAt(src, [[4 * MiB, 1000]]);
    const done = await send(src, noReuse);
    expect(done).toMatchObject({ payload_bytes_sent: 4 * MiB + 1000, bytes_reused: 0, bytes_skipped_resume: 0 });
    expect(await sha256File(join(noReuse.output, 'log.txt'))).toBe(await sha256File(src));
  });

  it('a sender whose leaf row does not hash to the root is refused with E_INTEGRITY; the file under the name stays as it was', async () => {
    const evil = await EvilSender.connect(overwrite.peerId, { host: '127.0.0.1', port: overwrite.port });
    try {
      const v1 = randomFillSync(new Uint8Array(64 * 16 * 1024));
      expect(await evil.offer('row.bin', v1)).toEqual({ kind: 'completed', status: 'verified' });
      const out = join(overwrite.output, 'row.bin');
      const before = await sha256File(out);
      const v2 = v1.slice();
      v2[5] = (v2[5] as number) ^ 1;
      const r = await evil.offer('row.bin', v2, 20_000, { leafRow: true });
      expect(r).toMatchObject({ kind: 'rejected', code: 'E_INTEGRITY', byPeer: true });
      expect(await sha256File(out)).toBe(before);
      // The engine refuses the row as it arrives; the node deletes the partial just after.
      let partials = await findPartials(overwrite.output);
      for (let i = 0; i < 40 && partials.length > 0; i++) {
        await new Promise((res) => setTimeout(res, 50));
        partials = await findPartials(overwrite.output);
      }
      expect(partials).toEqual([]);
      // The session goes on: the same version told truly is received, from the copy but chunk 0.
      expect(await evil.offer('row.bin', v2)).toEqual({ kind: 'completed', status: 'verified' });
      expect(Buffer.compare(await readFile(out), v2)).toBe(0);
    } finally {
      await evil.close();
    }
  });

  it('while it compares, the receive is listed as preparing; a sender gone meanwhile ends it', async () => {
    const evil = await EvilSender.connect(overwrite.peerId, { host: '127.0.0.1', port: overwrite.port });
    const v1 = randomFillSync(new Uint8Array(64 * 16 * 1024));
    expect(await evil.offer('slow.bin', v1)).toEqual({ kind: 'completed', status: 'verified' });
    const v2 = v1.slice();
    v2[7] = (v2[7] as number) ^ 1;
    // It asks for the row, which never comes.
    const pending = evil.offer('slow.bin', v2, 20_000, { withholdRow: true }).catch((e: Error) => e);
    const listed = async (): Promise<Record<string, unknown> | undefined> => {
      const r = await admin.get('/v1/transfers');
      return (JSON.parse(r.body) as { transfers: Array<Record<string, unknown>> }).transfers.find((t) => t['path'] === 'slow.bin' && t['state'] === 'running');
    };
    let t: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && t === undefined; i++) {
      t = await listed();
      if (t === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(t).toMatchObject({ direction: 'receive', phase: 'preparing', bytes_done: 0, bytes_total: v2.length });
    await evil.close();
    expect(await pending).toMatchObject({ kind: 'rejected', code: 'E_PEER_CLOSED' }); // its own close
    for (let i = 0; i < 100 && t !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      t = await listed();
    }
    if (t !== undefined) console.log('still listed; the daemon said:\n' + overwrite.stderr.split('\n').filter((l) => !l.includes('"component":"admin"')).slice(-15).join('\n'));
    expect(t).toBeUndefined();
    expect(await findPartials(overwrite.output)).toEqual([]);
    expect(Buffer.compare(await readFile(join(overwrite.output, 'slow.bin')), v1)).toBe(0);
  });

  it('DELETE of a receive still preparing refuses the offer: the sender hears E_TRANSFER_CANCELLED, nothing changes here', async () => {
    const evil = await EvilSender.connect(overwrite.peerId, { host: '127.0.0.1', port: overwrite.port });
    try {
      const v1 = randomFillSync(new Uint8Array(64 * 16 * 1024));
      expect(await evil.offer('stop.bin', v1)).toEqual({ kind: 'completed', status: 'verified' });
      const v2 = v1.slice();
      v2[9] = (v2[9] as number) ^ 1;
      const pending = evil.offer('stop.bin', v2, 20_000, { withholdRow: true });
      let id: string | undefined;
      for (let i = 0; i < 100 && id === undefined; i++) {
        const r = await admin.get('/v1/transfers');
        const t = (JSON.parse(r.body) as { transfers: Array<Record<string, unknown>> }).transfers.find((x) => x['path'] === 'stop.bin' && x['phase'] === 'preparing');
        id = t?.['id'] as string | undefined;
        if (id === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      expect(id).toBeDefined();
      const del = await fetch(`${admin.url}/v1/transfers/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.token}` } });
      expect(del.status).toBe(200);
      expect(await del.json()).toMatchObject({ state: 'cancelled', errors: [{ code: 'E_TRANSFER_CANCELLED', message: "stop.bin: cancelled by the receiver's operator" }] });
      expect(await pending).toMatchObject({ kind: 'rejected', code: 'E_TRANSFER_CANCELLED', byPeer: true });
      // It stays listed as cancelled, once; the file under the name is untouched and no partial is left.
      await new Promise((r) => setTimeout(r, 300));
      const after = (JSON.parse((await admin.get('/v1/transfers')).body) as { transfers: Array<Record<string, unknown>> }).transfers.filter((x) => x['id'] === id);
      expect(after).toHaveLength(1);
      expect(after[0]).toMatchObject({ state: 'cancelled' });
      expect(Buffer.compare(await readFile(join(overwrite.output, 'stop.bin')), v1)).toBe(0);
      expect(await findPartials(overwrite.output)).toEqual([]);
    } finally {
      await evil.close();
    }
  });

  it('interrupted, then changed: the partial of the earlier version gives the new one what it holds of it (default config)', async () => {
    const src = join(await scope.tempDir('src'), 'vm.img');
    await writeRandomFile(src, SIZE);
    const first = scope.send([src], plain.peer(), { home: tx, args: ['--rate', '16MiB'] });
    let held = 0;
    await first.until(
      async () => {
        const p = (await findPartials(plain.output)).find((f) => basename(f).startsWith('.vm.img.'));
        held = p === undefined ? 0 : await allocatedBytes(p);
        return held >= SIZE / 2;
      },
      60_000,
      'half of vm.img on disk',
      25,
    );
    await first.kill9();
    // A write in chunk 2, which the earlier partial holds: that chunk is sent again.
    await writeRandomAt(src, [[2 * CHUNK + 9, 4]]);
    const done = await send(src, plain);
    const reused = done['bytes_reused'] as number;
    // The resume state trails the writes by a few MiB; what it named is reused, but chunk 2.
    expect(reused).toBeGreaterThanOrEqual(SIZE / 4);
    expect(reused % CHUNK).toBe(0);
    expect(done).toMatchObject({ bytes_skipped_resume: reused, payload_bytes_sent: SIZE - reused });
    expect(await sha256File(join(plain.output, 'vm.img'))).toBe(await sha256File(src));
    expect(await findPartials(plain.output)).toEqual([]);
    // No file was under the name: the earlier partial was the copy.
    expect(plain.stderr).toMatch(/removed the partial of an earlier version/);
    expect(plain.stderr).toMatch(new RegExp(`"reused_bytes":${reused}\\b`));
  });
});
