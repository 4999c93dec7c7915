/**
 * Received names that would escape the download directory: a sender built on
 * the engine (./evil-sender.ts) offers files as "../x", "/etc/x", "a\u0001b"
 * and others the CLI never sends. Each offer is answered with a REJECT
 * carrying E_PATH_INVALID and nothing appears outside the download
 * directory. A symlink planted in the download directory is never followed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scope, sha256File, snapshotTree, type Daemon, type TestHome } from '../support/procs.js';
import { EvilSender } from './evil-sender.js';

const scope = new Scope('names');
let rx: TestHome;
let tx: TestHome;
let daemon: Daemon;
let outer: string;
let dl: string;
let evil: EvilSender;
const etcName = `/etc/wraith-e2e-${randomBytes(6).toString('hex')}`;

beforeAll(async () => {
  [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
  outer = await scope.tempDir('names');
  dl = join(outer, 'base', 'dl');
  await mkdir(dl, { recursive: true, mode: 0o700 });
  await mkdir(join(outer, 'outside'));
  daemon = await scope.daemon({ home: rx, output: dl });
  evil = await EvilSender.connect(daemon.peerId, { host: '127.0.0.1', port: daemon.port });
  scope.defer(() => evil.close());
});
afterAll(() => scope.dispose());

function hashOf(data: Uint8Array): Promise<string> {
  return import('node:crypto').then(({ createHash }) => createHash('sha256').update(data).digest('hex'));
}

describe('received names', () => {
  it('the same sender with a genuine name is accepted (the harness can deliver a file)', async () => {
    const data = randomBytes(50_000);
    const r = await evil.offer('ok.bin', data);
    expect(r).toEqual({ kind: 'completed', status: 'verified' });
    expect(await sha256File(join(dl, 'ok.bin'))).toBe(await hashOf(data));
  });

  const bad: Array<[string, string]> = [
    ['../x', 'parent'],
    ['../../x', 'grandparent'],
    ['a/../../x', 'parent inside'],
    ['..', 'dot-dot alone'],
    [etcName, 'absolute /etc'],
    ['/tmp/wraith-e2e-abs', 'absolute /tmp'],
    ['a\u0001b', 'C0 control'],
    ['a\nb', 'newline'],
    ['a\u007fb', 'DEL'],
    ['a\u009bb', 'C1 control (CSI)'],
    ['a/./b', 'dot component'],
    ['a//b', 'empty component'],
    ['a/', 'trailing slash'],
    ['a\\..\\x', 'backslashes'],
    ['.x.0123456789abcdef.wraith-part', 'shaped like a partial file'],
    [`${'n'.repeat(256)}`, 'component over 255 bytes'],
  ];
  for (const [name, what] of bad) {
    it(`${JSON.stringify(name).slice(0, 40)} (${what}) is refused with E_PATH_INVALID`, async () => {
      const r = await evil.offer(name, randomBytes(1000));
      expect(r).toMatchObject({ kind: 'rejected', code: 'E_PATH_INVALID', byPeer: true });
    });
  }

  it('after all of them nothing exists outside the download directory, and inside only the genuine file', async () => {
    const tree = await snapshotTree(outer, { hash: false, skipPartials: false });
    expect([...tree.keys()].sort()).toEqual(['base', 'base/dl', 'base/dl/ok.bin', 'outside']);
    expect(existsSync(etcName)).toBe(false);
    expect(existsSync('/tmp/wraith-e2e-abs')).toBe(false);
    // The session survived the refusals: the daemon still takes a good file from this sender.
    const data = randomBytes(3000);
    expect(await evil.offer('ok2.bin', data)).toEqual({ kind: 'completed', status: 'verified' });
  });

  it('a symlink planted in the download directory (x -> a folder outside) is not followed: x/f refused, nothing written outside', async () => {
    const outside = join(outer, 'outside');
    await symlink(outside, join(dl, 'x'));
    const r = await evil.offer('x/f', randomBytes(2000));
    expect(r).toMatchObject({ kind: 'rejected', code: 'E_PATH_INVALID', byPeer: true });
    expect((await snapshotTree(outside, { skipPartials: false })).size).toBe(0);

    // The same through the CLI: a directory x with a file f.
    const src = join(await scope.tempDir('src'), 'x');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'through the symlink?');
    const send = scope.send([src], daemon.peer(), { home: tx });
    const res = await send.result(60_000);
    expect(res.code, send.describe()).toBe(6);
    const errors = res.events.filter((e) => e.type === 'error');
    expect(errors.length, send.describe()).toBeGreaterThan(0);
    expect(errors.every((e) => e['code'] === 'E_PATH_INVALID'), send.describe()).toBe(true);
    expect((await snapshotTree(outside, { skipPartials: false })).size).toBe(0);
    expect(await readlink(join(dl, 'x'))).toBe(outside);
  });

  it('a symlink planted as the final name (y -> a file outside) is neither followed nor replaced', async () => {
    const target = join(outer, 'outside', 'target');
    await writeFile(target, 'precious');
    await symlink(target, join(dl, 'y'));
    const r = await evil.offer('y', randomBytes(2000));
    // on_conflict = "refuse" (the default): the name is taken.
    expect(r).toMatchObject({ kind: 'rejected', code: 'E_EXISTS', byPeer: true });
    expect(await readFile(target, 'utf8')).toBe('precious');
    expect(await readlink(join(dl, 'y'))).toBe(target);
  });
});
