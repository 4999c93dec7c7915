/**
 * [transfer] max_concurrent on both ends: a receiver announces how many files it takes at once
 * (max_transfers in the handshake) and a sender keeps to the lower of its own limit and that.
 * A receiver limited to 2, sent a tree of 60 small files by a sender allowing 64: every file
 * arrives identical, none refused. (Without the peer's limit, offers past 2 were refused with
 * E_TRANSFER_REJECTED.) Big files go a few at a time whatever the limit: at most ~64 MiB of
 * unfinished files beyond the first are in flight, so they finish one after another.
 */
import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, randomTree, sha256File, snapshotTree, writeRandomFile } from '../support/procs.js';

const MiB = 1024 * 1024;

const scope = new Scope('concurrency');
afterAll(() => scope.dispose());

describe('max_concurrent', () => {
  it('a sender keeps to the receiver\'s lower limit: a 60-file tree to a receiver taking 2 at once arrives whole', async () => {
    const src = join(await scope.tempDir('src'), 'tree');
    await mkdir(src);
    await randomTree(src, { files: 60, maxSize: 20_000, dirs: 4 });
    const want = await snapshotTree(src);
    const daemon = await scope.daemon({ home: await scope.home('rx'), args: ['--max-concurrent', '2'] });
    const send = scope.send([src], daemon.peer(), { home: await scope.home('tx'), args: ['--reconnect-for', '0s', '--max-concurrent', '64'] });
    const r = await send.result(120_000);
    expect(r.code, send.describe()).toBe(0);
    expect(r.events.filter((e) => e.type === 'error')).toEqual([]);
    const got = await snapshotTree(join(daemon.output, 'tree'));
    let files = 0;
    for (const [name, e] of want) {
      if (e.kind !== 'file') continue;
      files++;
      expect(got.get(name)?.sha256, name).toBe(e.sha256);
    }
    expect(files).toBe(60);
  });

  it('a tree with empty files and copies of one file arrives whole (same content, other names, at once)', async () => {
    const src = join(await scope.tempDir('dups'), 'dups');
    await mkdir(join(src, 'sub'), { recursive: true });
    const copy = await writeRandomFile(join(src, 'one.bin'), 300_000);
    for (const n of ['two.bin', 'sub/three.bin']) await copyFile(join(src, 'one.bin'), join(src, n));
    for (const n of ['e1', 'e2', 'sub/e3']) await writeFile(join(src, n), '');
    const daemon = await scope.daemon({ home: await scope.home('rx') });
    const send = scope.send([src], daemon.peer(), { home: await scope.home('tx'), args: ['--reconnect-for', '0s'] });
    const r = await send.result(60_000);
    expect(r.code, send.describe()).toBe(0);
    expect(r.events.filter((e) => e.type === 'error')).toEqual([]);
    for (const n of ['one.bin', 'two.bin', 'sub/three.bin']) expect(await sha256File(join(daemon.output, 'dups', n)), n).toBe(copy);
    for (const n of ['e1', 'e2', 'sub/e3']) expect((await stat(join(daemon.output, 'dups', n))).size, n).toBe(0);
  });

  it('big files go a few at a time: five 40 MiB files never have more than three open at the receiver', async () => {
    const dir = join(await scope.tempDir('big'), 'big');
    await mkdir(dir);
    const sums = new Map<string, string>();
    for (let i = 0; i < 5; i++) sums.set(`big/f${i}.bin`, await writeRandomFile(join(dir, `f${i}.bin`), 40 * MiB + i));
    const daemon = await scope.daemon({ home: await scope.home('rx') });
    const send = scope.send([dir], daemon.peer(), { home: await scope.home('tx'), args: ['--reconnect-for', '0s'] });
    const r = await send.result(120_000);
    expect(r.code, send.describe()).toBe(0);
    for (const [name, sha] of sums) expect(await sha256File(join(daemon.output, name)), name).toBe(sha);
    // The receiver's log: "receiving" when it opens a file, "file received" when it installs it.
    let open = 0;
    let most = 0;
    for (const line of daemon.stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      const j = JSON.parse(line) as { msg?: string; name?: string };
      if (j.name === undefined || !j.name.startsWith('big/')) continue;
      if (j.msg === 'receiving') most = Math.max(most, ++open);
      if (j.msg === 'file received') open--;
    }
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(3);
  });
});

describe('the same send twice at once', () => {
  it('a second run of a send while the first is moving the file waits for it and ends already_present; both exit 0', async () => {
    const daemon = await scope.daemon({ home: await scope.home('twice-rx') });
    const tx = await scope.home('twice-tx');
    const src = join(await scope.tempDir('twice'), 'nightly.bin');
    const sent = await writeRandomFile(src, 32 * MiB);
    // 32 MiB at 16 MB/s: the first is still sending when the second offers the same file.
    const first = scope.send([src], daemon.peer(), { home: tx, args: ['--rate', '16M'] });
    await new Promise((res) => setTimeout(res, 700));
    const second = scope.send([src], daemon.peer(), { home: tx });
    const [a, b] = await Promise.all([first.result(120_000), second.result(120_000)]);
    expect(a.code, first.describe()).toBe(0);
    expect(b.code, second.describe()).toBe(0);
    expect(a.events.find((e) => e.type === 'file')).toMatchObject({ status: 'sent' });
    expect(b.events.find((e) => e.type === 'file')).toMatchObject({ status: 'already_present' });
    expect(await sha256File(join(daemon.output, 'nightly.bin'))).toBe(sent);
    await daemon.terminate();
  }, 180_000);

  it('three runs of a send started at once (their offers meet while the file is being opened): one sends, the others end already_present; all exit 0', async () => {
    const daemon = await scope.daemon({ home: await scope.home('thrice-rx') });
    const tx = await scope.home('thrice-tx');
    const src = join(await scope.tempDir('thrice'), 'cron.bin');
    const sent = await writeRandomFile(src, 16 * MiB);
    const sends = [0, 1, 2].map(() => scope.send([src], daemon.peer(), { home: tx, args: ['--rate', '32M'] }));
    const results = await Promise.all(sends.map((s) => s.result(120_000)));
    results.forEach((r, i) => expect(r.code, sends[i]!.describe()).toBe(0));
    const statuses = results.map((r) => r.events.find((e) => e.type === 'file')?.['status']).sort();
    expect(statuses).toEqual(['already_present', 'already_present', 'sent']);
    expect(await sha256File(join(daemon.output, 'cron.bin'))).toBe(sent);
    await daemon.terminate();
  }, 180_000);
});
