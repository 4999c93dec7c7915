/**
 * A receiver under a small open-files limit (RLIMIT_NOFILE 96, soft = hard, so Node cannot
 * raise it) takes three tree sends at once, each offering 64 files at a time. It used to open
 * a partial per offer until EMFILE, and failed those files (hundreds of E_IO refusals, exit 7);
 * now offers beyond what the limit allows wait for a slot, and every file arrives.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope, diffTrees, randomTree, snapshotTree } from '../support/procs.js';

const scope = new Scope('fd-limit');
afterAll(() => scope.dispose());

const SENDERS = 3;
const FILES = 120;

describe('many files from many senders under a low descriptor limit', () => {
  it(`${SENDERS} senders × ${FILES} files, --max-concurrent 64, receiver at RLIMIT_NOFILE 96: every file arrives, identical`, async () => {
    const rx = await scope.home('rx');
    const daemon = await scope.daemon({ home: rx, prefix: ['prlimit', '--nofile=96:96', '--'] });
    const trees = await Promise.all(
      Array.from({ length: SENDERS }, async (_, i) => {
        const root = join(await scope.tempDir('src'), `tree${i}`);
        await mkdir(root);
        await randomTree(root, { files: FILES, minSize: 1, maxSize: 64 * 1024, dirs: 4 });
        return { root, home: await scope.home(`tx${i}`) };
      }),
    );
    const sends = trees.map((t, i) => scope.send([t.root], daemon.peer(), { home: t.home, name: `send${i}`, args: ['--max-concurrent', '64'] }));
    const results = await Promise.all(sends.map((s) => s.result(120_000)));
    results.forEach((r, i) => expect(r.code, sends[i]!.describe()).toBe(0));
    for (const [i, t] of trees.entries()) {
      const diff = diffTrees(await snapshotTree(t.root), await snapshotTree(join(daemon.output, `tree${i}`)), { mtime: false });
      expect(diff).toEqual([]);
    }
    // The limit was met (this is what the test is about), and said once per busy spell.
    expect(daemon.stderr).toMatch(/as many files are being received as descriptors allow/);
    expect(daemon.stderr).not.toMatch(/EMFILE/);
    await daemon.terminate();
  }, 180_000);
});

describe('a sender under a low descriptor limit', () => {
  // 48: the sender keeps 48 descriptors for itself, so one file is in flight, as at any lower limit;
  // starting takes about 40 at once (the module loader opens the bundle's chunks together).
  it('RLIMIT_NOFILE 48 on the sender, 150 files, --max-concurrent 64: it keeps fewer in flight and every file arrives, identical', async () => {
    const daemon = await scope.daemon({ home: await scope.home('rx-s') });
    const root = join(await scope.tempDir('src-s'), 'tree');
    await mkdir(root);
    await randomTree(root, { files: 150, minSize: 1, maxSize: 64 * 1024, dirs: 3 });
    const send = scope.send([root], daemon.peer(), { home: await scope.home('tx-s'), args: ['--max-concurrent', '64', '--verbose'], prefix: ['prlimit', '--nofile=48:48', '--'] });
    const r = await send.result(120_000);
    expect(r.code, send.describe()).toBe(0);
    expect(diffTrees(await snapshotTree(root), await snapshotTree(join(daemon.output, 'tree')), { mtime: false })).toEqual([]);
    expect(r.stderr).toMatch(/the open-files limit \(RLIMIT_NOFILE\) allows 1 files in flight at once/);
    await daemon.terminate();
  }, 120_000);

  it('a limit too low to start (RLIMIT_NOFILE 24): E_IO naming EMFILE and what to raise, exit 7, not a crash', async () => {
    const root = join(await scope.tempDir('src-low'), 'f.bin');
    await writeFile(root, 'x');
    const r = await scope.send([root], `${'a'.repeat(64)}@127.0.0.1:9`, { home: await scope.home('tx-low'), json: false, prefix: ['prlimit', '--nofile=24:24', '--'] }).result(60_000);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/^error\[E_IO\]: EMFILE: too many open files, open '[^']+'\n  hint: raise the open-files limit \(ulimit -n; LimitNOFILE= in a systemd unit\)\n$/);
  });
});
