/**
 * SIGHUP (`systemctl reload wraith`) re-reads the daemon's config: trusted_peers, auto_accept, [peers]
 * and logging.level apply at once; other changed keys are named as waiting for a restart; a
 * broken file is reported and the running config stays. A sender taken out of trusted_peers loses
 * its running sessions at the reload. SIGHUP used to reopen the log file
 * only, so a reload after adding a trusted peer did nothing, silently.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, allocatedBytes, findPartials, sha256File, writeRandomFile } from '../support/procs.js';

const scope = new Scope('reload');
afterAll(() => scope.dispose());

describe('daemon config reload on SIGHUP', () => {
  it('a sender added to trusted_peers is let in without a restart; a broken file keeps the running config', async () => {
    const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
    const config = join(rx.dir, 'config.toml');
    await writeFile(config, '[receive]\ntrusted_peers = []\n');
    const daemon = await scope.daemon({ home: rx, autoAccept: false });
    const src = join(await scope.tempDir('src'), 'r.bin');
    const sum = await writeRandomFile(src, 100_000);
    const send = () => scope.send([src], daemon.peer(), { home: tx, args: ['--reconnect-for', '0s'] }).result(30_000);

    expect((await send()).code).toBe(4); // E_PEER_NOT_AUTHORIZED

    await writeFile(config, `[receive]\ntrusted_peers = ["${tx.peerId}"]\n[network]\nidle_timeout = "45s"\n`);
    daemon.signal('SIGHUP');
    await daemon.until(() => /"msg":"config reloaded"/.test(daemon.stderr), 10_000, 'reloaded');
    expect(daemon.stderr).toMatch(/"applied":\["receive.trusted_peers"\],"needs_restart":\["network.idle_timeout"\]/);
    expect(daemon.stderr).toMatch(/apply at the next restart: network.idle_timeout/);
    const ok = await send();
    expect(ok.code, ok.stderr).toBe(0);
    expect(await sha256File(join(daemon.output, 'r.bin'))).toBe(sum);

    await writeFile(config, '[receive]\ntrusted_peers = 5\n');
    daemon.signal('SIGHUP');
    await daemon.until(() => /config reload failed/.test(daemon.stderr), 10_000, 'the failed reload');
    expect(daemon.stderr).toMatch(/receive.trusted_peers: expected an array of peer ids, found 5/);
    expect(daemon.alive).toBe(true);
    const again = await scope.send([src], daemon.peer(), { home: tx, args: ['--reconnect-for', '0s'] }).result(30_000);
    expect(again.code, again.stderr).toBe(0); // still trusted: already present
    expect((await daemon.terminate()).code).toBe(0);
  }, 90_000);

  it('a sender taken out of trusted_peers is cut off at the reload: its running send ends with E_PEER_NOT_AUTHORIZED, another trusted sender goes on', async () => {
    const [rx, tx, other] = await Promise.all([scope.home('rx-revoke'), scope.home('tx-revoke'), scope.home('other')]);
    const config = join(rx.dir, 'config.toml');
    await writeFile(config, `[receive]\ntrusted_peers = ["${tx.peerId}", "${other.peerId}"]\n`);
    const daemon = await scope.daemon({ home: rx, autoAccept: false });
    const dir = await scope.tempDir('src-revoke');
    const [revoked, kept] = [join(dir, 'revoked.bin'), join(dir, 'kept.bin')];
    await writeRandomFile(revoked, 8 * 1024 * 1024);
    const keptSum = await writeRandomFile(kept, 8 * 1024 * 1024);
    // Slow enough to be running at the reload, with no re-dial to mask the cut.
    const a = scope.send([revoked], daemon.peer(), { home: tx, args: ['--rate', '2MiB', '--reconnect-for', '10s'] });
    const b = scope.send([kept], daemon.peer(), { home: other, args: ['--rate', '2MiB', '--reconnect-for', '10s'] });
    await a.until(async () => {
      const p = (await findPartials(daemon.output)).find((f) => f.includes('revoked.bin'));
      return p !== undefined && (await allocatedBytes(p)) >= 1024 * 1024;
    }, 30_000, 'the send under way', 50);
    await writeFile(config, `[receive]\ntrusted_peers = ["${other.peerId}"]\n`);
    const at = Date.now();
    daemon.signal('SIGHUP');
    const r = await a.result(30_000);
    expect(r.code, a.describe()).toBe(4);
    expect(Date.now() - at).toBeLessThan(5000);
    expect(r.events.filter((e) => e.type === 'error').at(-1), a.describe()).toMatchObject({ code: 'E_PEER_NOT_AUTHORIZED', message: expect.stringContaining('no longer trusts') });
    expect(daemon.stderr).toMatch(/ended the session of a peer this node no longer trusts/);
    const k = await b.result(60_000);
    expect(k.code, b.describe()).toBe(0);
    expect(await sha256File(join(daemon.output, 'kept.bin'))).toBe(keptSum);
    await expect(readFile(join(daemon.output, 'revoked.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(daemon.alive).toBe(true);
  }, 90_000);

  it('a [peers.NAME] added to the config can be sent to through the admin API after a reload, and a send root taken out is revoked, without a restart', async () => {
    const [a, b] = await Promise.all([scope.home('a'), scope.home('b')]);
    const rx = await scope.daemon({ home: b });
    const roots = await scope.tempDir('roots');
    const config = join(a.dir, 'config.toml');
    const base = `[admin]\nsend_roots = [${JSON.stringify(roots)}]\n`;
    await writeFile(config, base);
    const tx = await scope.daemon({ home: a, adminListen: '127.0.0.1:0' });
    const token = (await readFile(join(a.dir, 'admin.token'), 'utf8')).trim();
    const src = join(roots, 'p.bin');
    const sum = await writeRandomFile(src, 100_000);
    const post = () =>
      fetch(`${tx.ready['admin_url'] as string}/v1/transfers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ path: src, peer: 'b' }),
      });
    const before = await post();
    expect(before.status).toBe(400);
    expect(await before.json()).toMatchObject({ error: { code: 'E_PEER_UNKNOWN' } });

    await writeFile(config, `${base}[peers.b]\nid = "${rx.peerId}"\naddr = "${rx.addr}"\n`);
    tx.signal('SIGHUP');
    await tx.until(() => /"msg":"config reloaded"/.test(tx.stderr), 10_000, 'reloaded');
    expect(tx.stderr).toMatch(/"applied":\["peers"\],"needs_restart":\[\]/);
    const after = await post();
    expect(after.status).toBe(201);
    const id = ((await after.json()) as { id: string }).id;
    await tx.until(async () => {
      const r = await fetch(`${tx.ready['admin_url'] as string}/v1/transfers/${id}`, { headers: { authorization: `Bearer ${token}` } });
      return ((await r.json()) as { state: string }).state === 'completed';
    }, 30_000, 'the send through the reloaded peer');
    expect(await sha256File(join(rx.output, 'p.bin'))).toBe(sum);

    // Taking a directory out of send_roots revokes it at the reload, not at the next restart.
    await writeFile(config, `[admin]\nsend_roots = []\n[peers.b]\nid = "${rx.peerId}"\naddr = "${rx.addr}"\n`);
    tx.signal('SIGHUP');
    await tx.until(() => /"applied":\["admin.send_roots"\]/.test(tx.stderr), 10_000, 'the second reload');
    const revoked = await post();
    expect(revoked.status).toBe(403);
    expect(await revoked.json()).toMatchObject({ error: { code: 'E_ADMIN_SEND_DISABLED' } });
  }, 90_000);
});
