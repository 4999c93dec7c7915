/**
 * Transfers between two real processes on loopback: a daemon (`--json`,
 * `--auto-accept`) and `wraith send --json`. Every test compares what arrived
 * with what was sent by sha256 (and the tree tests also mode and mtime).
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Scope,
  diffTrees,
  randomTree,
  sha256File,
  snapshotTree,
  writeRandomFile,
  type Daemon,
  type TestHome,
  type TreeEntry,
} from '../support/procs.js';

const GiB = 1024 ** 3;
/** The big file: 1 GiB (the only one of that size in the default run), 4 GiB with WRAITH_LONG=1. */
const BIG = process.env.WRAITH_LONG === '1' ? 4 * GiB : GiB;
const scope = new Scope('transfer');
let rx: TestHome;
let tx: TestHome;
let daemon: Daemon;
const UMASK = 0o027;

beforeAll(async () => {
  [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
  // A umask other than the usual 022: received modes are the sender's less it.
  daemon = await scope.daemon({ home: rx, prefix: ['sh', '-c', `umask ${UMASK.toString(8)}; exec "$@"`, 'sh'] });
});
afterAll(() => scope.dispose());

/** The send's NDJSON lines all carry the schema's leading fields, in order. */
function expectSchema(events: Array<Record<string, unknown>>): void {
  for (const e of events) {
    expect(Object.keys(e).slice(0, 4)).toEqual(['v', 'type', 'ts', 'transfer_id']);
    expect(e['v']).toBe(1);
    expect(e['ts']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
}

/**
 * The expected receive-side view of a sent tree: symlinks and FIFOs gone, setuid/setgid/sticky
 * stripped, the daemon's umask applied.
 */
function expectedTree(src: Map<string, TreeEntry>, top: string, srcRoot: TreeEntry): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>([[top, { ...srcRoot, mode: srcRoot.mode & 0o777 & ~UMASK }]]);
  for (const [name, e] of src) {
    if (e.kind !== 'file' && e.kind !== 'dir') continue;
    out.set(`${top}/${name}`, { ...e, mode: e.mode & 0o777 & ~UMASK });
  }
  return out;
}

describe('transfers', () => {
  it(`one ${BIG / GiB} GiB random file arrives identical`, async () => {
    const src = join(await scope.tempDir('big'), 'big.bin');
    const t0 = Date.now();
    const sent = await writeRandomFile(src, BIG);
    const tWrite = Date.now();
    const send = scope.send([src], daemon.peer(), { home: tx });
    const r = await send.result(15 * 60_000);
    const tSend = Date.now();
    expect(r.code, send.describe()).toBe(0);
    expectSchema(r.events);
    const completed = r.events.find((e) => e.type === 'completed');
    expect(completed, send.describe()).toBeDefined();
    expect(completed!['bytes_skipped_resume']).toBe(0);
    // Sent once: retransmissions are counted apart.
    expect(completed!['payload_bytes_sent']).toBe(BIG);
    const file = r.events.find((e) => e.type === 'file');
    expect(file).toMatchObject({ name: 'big.bin', status: 'sent', bytes: BIG });
    const got = await sha256File(join(daemon.output, 'big.bin'));
    expect(got).toBe(sent);
    const s = (tSend - tWrite) / 1000;
    console.log(
      `${BIG / GiB} GiB: written in ${((tWrite - t0) / 1000).toFixed(1)} s, sent and verified in ${s.toFixed(1)} s ` +
        `(${(BIG / s / 1e6).toFixed(1)} MB/s, retransmitted ${String(completed!['bytes_retransmitted'])} B)`,
    );
    if (BIG === GiB && s > 180) console.warn(`1 GiB transfer took ${s.toFixed(0)} s, over the ~3 min budget of the default run`);
  }, 20 * 60_000);

  it('a directory tree: 1,000 small files in nested folders, an empty file and directory; symlink and FIFO skipped; modes (less the receiver umask) and mtimes kept, setuid stripped', async () => {
    const base = await scope.tempDir('tree');
    const root = join(base, 'tree');
    await mkdir(root);
    const { dirs } = await randomTree(root, { files: 1000, minSize: 1, maxSize: 8192, dirs: 60, depth: 4 });
    await writeFile(join(root, 'empty.txt'), '');
    await mkdir(join(root, 'empty-dir'));
    await chmod(join(root, 'empty-dir'), 0o750);
    const deep = dirs.find((d) => d.split('/').length === 4)!;
    await writeFile(join(root, deep, 'setuid.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(root, deep, 'setuid.sh'), 0o4755);
    await mkdir(join(root, 'sticky'));
    await chmod(join(root, 'sticky'), 0o1777);
    await writeFile(join(root, 'sticky', 'f'), 'x');
    await chmod(join(root, 'sticky', 'f'), 0o666);
    await symlink('d0', join(root, 'link-to-d0'));
    await symlink('/etc/passwd', join(root, 'd1-link'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    // Directory modes other than the default, and distinct mtimes (files get them from randomTree).
    await chmod(join(root, dirs[1]!), 0o750);
    await chmod(join(root, dirs[2]!), 0o700);
    await chmod(join(root, deep), 0o711);
    const srcSnap = await snapshotTree(root);
    const past = Math.floor(Date.now() / 1000) - 3 * 86_400;
    let k = 0;
    for (const [name, e] of [...srcSnap].sort((a, b) => b[0].split('/').length - a[0].split('/').length)) {
      if (e.kind === 'dir') await utimes(join(root, name), past + k, past + k++);
    }
    await utimes(root, past - 1, past - 1);
    const src = await snapshotTree(root);
    const srcRoot = (await snapshotTree(base)).get('tree')!;

    const send = scope.send([root], daemon.peer(), { home: tx });
    const r = await send.result(4 * 60_000);
    expect(r.code, send.describe()).toBe(0);
    expectSchema(r.events);
    const warnings = r.events.filter((e) => e.type === 'warning').map((e) => String(e['message']));
    expect(warnings.some((m) => m.includes('link-to-d0') && /symlink/.test(m)), warnings.join('\n')).toBe(true);
    expect(warnings.some((m) => m.includes('fifo') && /FIFO/.test(m)), warnings.join('\n')).toBe(true);
    const want = expectedTree(src, 'tree', srcRoot);
    // One `file` line per sent entry (directories included, with root null), each `sent`.
    const fileLines = r.events.filter((e) => e.type === 'file');
    expect(fileLines.every((e) => e['status'] === 'sent')).toBe(true);
    expect(fileLines.map((e) => String(e['name'])).sort()).toEqual([...want.keys()].sort());
    for (const e of fileLines) expect(e['root'] === null).toBe(want.get(String(e['name']))?.kind === 'dir');
    const started = r.events.find((e) => e.type === 'started')!;
    expect(started).toMatchObject({ direction: 'send', files: [...want.values()].filter((e) => e.kind === 'file').length });
    expect(started['bytes_total']).toBe([...want.values()].reduce((n, e) => n + e.size, 0));

    const got = new Map([...(await snapshotTree(daemon.output))].filter(([n]) => n === 'tree' || n.startsWith('tree/')));
    const diff = diffTrees(want, got, { mode: true, mtime: true, dirMtime: true });
    expect(diff, diff.slice(0, 30).join('\n')).toEqual([]);
    expect(got.get(`tree/${deep}/setuid.sh`)?.mode).toBe(0o750);
    expect(got.get(`tree/${deep}`)?.mode).toBe(0o710);
    // A world-writable directory is not world-writable on a receiver whose umask says no.
    expect(got.get('tree/sticky')?.mode).toBe(0o750);
    expect(got.get('tree/sticky/f')?.mode).toBe(0o640);
    expect(got.get('tree/empty.txt')).toMatchObject({ kind: 'file', size: 0 });
    expect(got.get('tree/empty-dir')).toMatchObject({ kind: 'dir', mode: 0o750 });
    expect(got.has('tree/link-to-d0')).toBe(false);
    expect(got.has('tree/fifo')).toBe(false);
  }, 5 * 60_000);

  it('10,000 files of 1 KiB in at most 30 s', async () => {
    const base = await scope.tempDir('many');
    const root = join(base, 'many');
    await mkdir(root);
    await randomTree(root, { files: 10_000, minSize: 1024, maxSize: 1024, dirs: 100, depth: 2, mode: 0o644 });
    const src = await snapshotTree(root);
    const t0 = Date.now();
    const send = scope.send([root], daemon.peer(), { home: tx });
    const r = await send.result(4 * 60_000);
    const s = (Date.now() - t0) / 1000;
    console.log(`10,000 x 1 KiB: send exited after ${s.toFixed(1)} s (${(10_000 / s).toFixed(0)} files/s)`);
    expect(r.code, send.describe()).toBe(0);
    const srcRoot = (await snapshotTree(base)).get('many')!;
    const got = await snapshotTree(join(daemon.output), { hash: true });
    const want = expectedTree(src, 'many', srcRoot);
    const mine = new Map([...got].filter(([n]) => n === 'many' || n.startsWith('many/')));
    const diff = diffTrees(want, mine, { mode: true, mtime: true });
    expect(diff, diff.slice(0, 30).join('\n')).toEqual([]);
    expect(s).toBeLessThanOrEqual(30);
  }, 5 * 60_000);

  it('by default a file arrives identical and leaves (almost) nothing in the page cache (O_DIRECT); with --no-direct-writes it stays cached', async () => {
    const size = 64 * 1024 * 1024 + 1000;
    const src = join(await scope.tempDir('direct'), 'direct.bin');
    const sent = await writeRandomFile(src, size);
    const buffered = await scope.daemon({ home: await scope.home('rx-buffered'), args: ['--no-direct-writes'] });
    for (const [d, name] of [[daemon, 'direct'], [buffered, 'buffered']] as const) {
      const send = scope.send([src], d.peer(), { home: tx });
      const r = await send.result(2 * 60_000);
      expect(r.code, send.describe()).toBe(0);
      const got = join(d.output, 'direct.bin');
      // Resident bytes of the received file (fincore reads mincore(2)), before hashing reads it in.
      const resident = Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', got], { encoding: 'utf8' }).trim());
      console.log(`${name}: ${resident} of ${size} bytes resident after the transfer`);
      expect(await sha256File(got), name).toBe(sent);
      if (name === 'direct') expect(resident).toBeLessThan(1024 * 1024);
      else expect(resident).toBeGreaterThan(size / 2);
    }
  }, 5 * 60_000);
});
