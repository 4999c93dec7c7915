import { constants, existsSync, linkSync, lstatSync, openSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir as fsMkdir, open, rename as fsRename, unlink as fsUnlink } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nativeBeneath } from '@wraith/io-uring';
import { describeIf, NO_NATIVE_PASS } from '../../../test/support/prereq.js';
import { isWraithError, type WraithError } from '@wraith/core';
import type { OnConflict } from '../src/config/schema.js';
import { conflictName, partialName, validateRelativeName } from '../src/store/names.js';
import { FileStore, savedLeaf, type FileStoreOptions } from '../src/store/store.js';
import { tmpDir } from './helpers.js';
import { CHUNK, MTIME, PEER, PEER2, data, makeStore, offer, ready, receive, rootOf, setStoreSeams } from './store-helpers.js';

async function rejects(p: Promise<unknown>): Promise<WraithError> {
  try {
    await p;
  } catch (e) {
    if (isWraithError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('names', () => {
  it('builds the partial name beside the final one, within NAME_MAX', () => {
    const root = 'f'.repeat(64);
    expect(partialName('a.txt', root)).toBe('.a.txt.ffffffffffffffff.wraith-part');
    expect(Buffer.byteLength(partialName('é'.repeat(200), root))).toBeLessThanOrEqual(255);
  });

  it('numbers conflicting names before the extension', () => {
    expect(conflictName('report.pdf', 1)).toBe('report (1).pdf');
    expect(conflictName('a.tar.gz', 2)).toBe('a (2).tar.gz');
    expect(conflictName('.bashrc', 1)).toBe('.bashrc (1)');
    expect(conflictName('README', 3)).toBe('README (3)');
  });

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../x', /".." components/],
    ['a/../../b', /".." components/],
    ['./a', /"\." components/],
    ['a//b', /empty path component/],
    ['a/', /empty path component/],
    ['a\nb', /control characters/],
    ['a\u0000b', /control characters/],
    ['a\u009bb', /control characters/],
    ['x'.repeat(256), /longer than 255 bytes/],
    [`${'d/'.repeat(2100)}f`, /longer than 4096 bytes/],
    ['dir/.f.0123456789abcdef.wraith-part', /partial file/],
  ])('refuses %j', (name, why) => {
    expect(() => validateRelativeName(name)).toThrow(why);
    try {
      validateRelativeName(name);
    } catch (e) {
      expect((e as WraithError).code).toBe('E_PATH_INVALID');
    }
  });

  it('accepts ordinary nested names', () => {
    expect(validateRelativeName('dir/sub/file name (1).txt')).toEqual(['dir', 'sub', 'file name (1).txt']);
    expect(validateRelativeName('.hidden')).toEqual(['.hidden']);
  });
});

// Everything below runs twice: the portable path (lstat walk, O_NOFOLLOW, link + unlink), and
// the addon's seams the daemon uses (openat2 beneath, one-step lstat, renameat2, unlinkat and
// mkdirat in a directory opened beneath).
const native = NO_NATIVE_PASS ? null : nativeBeneath(tmpdir());
const MODES: Array<[string, string | null, Partial<FileStoreOptions>]> = [
  ['portable', null, {}],
  [
    'over the addon (openat2, renameat2)',
    native === null ? (NO_NATIVE_PASS ? 'the no-native pass' : 'the native addon (fs helpers) is not loaded') : null,
    native === null
      ? {}
      : {
          opener: native.open, lstatBeneath: native.lstat, renameNoReplace: native.renameNoReplace, renameBeneath: native.renameBeneath,
          unlinkBeneath: native.unlinkBeneath, mkdirBeneath: native.mkdirBeneath,
        },
  ],
];

for (const [mode, missing, seams] of MODES) {
describeIf(missing, mode, () => {
  beforeEach(() => setStoreSeams(seams));
  afterEach(() => setStoreSeams({}));

  describe('receiving a file', () => {
    it('writes a partial beside the final name, then installs it with mode and mtime', async () => {
      const { store, dir, state } = await makeStore();
      const content = data(40000);
      const o = offer('sub/dir/file.bin', content, { mode: 0o4755 });
      const f = await ready(store, o);
      const partial = join(dir, 'sub', 'dir', `.file.bin.${rootOf(content).slice(0, 16)}.wraith-part`);
      expect(f.path).toBe(partial);
      expect(statSync(partial).size).toBe(content.length); // sparse, full size
      expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
      expect(existsSync(join(dir, 'sub/dir/file.bin'))).toBe(false);

      await f.write(content.subarray(CHUNK), CHUNK);
      await f.write(content.subarray(0, CHUNK), 0);
      await f.saveProgress([[0, 3]]);
      expect(readdirSync(state)).toEqual([`${PEER}.${rootOf(content)}.json`]);
      const r = await f.complete();

      expect(r).toEqual({ status: 'installed', path: join(dir, 'sub/dir/file.bin'), name: 'sub/dir/file.bin' });
      expect(readFileSync(r.path)).toEqual(content);
      const st = statSync(r.path);
      expect(st.mode & 0o7777).toBe(0o755); // setuid stripped
      expect(st.mtimeMs).toBe(MTIME);
      expect(existsSync(partial)).toBe(false);
      expect(readdirSync(state)).toEqual([]);
      expect(store.reservedBytes).toBe(0);
    });

    it('a partial deleted from under it fails the file at the next checkpoint, and at completion, saying so', async () => {
      const { store } = await makeStore();
      const content = data(3 * CHUNK);
      const f = await ready(store, offer('gone.bin', content));
      await f.write(content.subarray(0, CHUNK), 0);
      await f.saveProgress([[0, 1]]);
      unlinkSync(f.path);
      const saved = await rejects(f.saveProgress([[0, 1]]));
      expect(saved.code).toBe('E_IO');
      expect(saved.message).toBe(`${f.path} was deleted while it was being received (by something else on the receiving host)`);
      const g = await ready(store, offer('gone2.bin', content));
      await g.write(content, 0);
      unlinkSync(g.path);
      const done = await rejects(g.complete());
      expect(done.code).toBe('E_IO');
      expect(done.message).toContain('was deleted while it was being received');
      await f.abort();
    });

    it('refuses writes outside the file', async () => {
      const { store } = await makeStore();
      const f = await ready(store, offer('f', data(10)));
      expect((await rejects(f.write(data(5), 8))).code).toBe('E_PROTOCOL');
      await f.abort();
    });

    it('receives an empty file', async () => {
      const { store, dir } = await makeStore();
      const r = await receive(store, 'empty', Buffer.alloc(0));
      expect(r.status).toBe('installed');
      expect(statSync(join(dir, 'empty')).size).toBe(0);
    });

    it('refuses a second concurrent transfer of the same file', async () => {
      const { store } = await makeStore();
      const o = offer('f', data(10));
      const f = await ready(store, o);
      expect((await rejects(store.begin(o))).code).toBe('E_EXISTS');
      expect((await rejects(store.begin({ ...o, peerId: PEER2 }))).code).toBe('E_EXISTS');
      await f.abort();
    });

    it('refuses the same file offered twice while the first is still opening (both began before either was open)', async () => {
      const { store } = await makeStore();
      const o = offer('twice', data(10));
      const [a, b] = await Promise.allSettled([store.begin(o), store.begin({ ...o, peerId: PEER2 })]);
      expect(a.status).toBe('fulfilled');
      expect(b).toMatchObject({ status: 'rejected', reason: { code: 'E_EXISTS' } });
      const f = (a as PromiseFulfilledResult<Awaited<ReturnType<FileStore['begin']>>>).value;
      if (f.status === 'ready') await f.file.abort();
    });

    it('maxOpenFiles: more offers wait for a slot and open, in order, as files finish or stop', async () => {
      const info = vi.fn();
      const logger = { info, warn: () => undefined, debug: () => undefined, error: () => undefined } as unknown as FileStoreOptions['logger'];
      const { store, dir } = await makeStore({ maxOpenFiles: 2, logger });
      const a = await ready(store, offer('a', data(10)));
      const b = await ready(store, offer('b', data(11)));
      const order: string[] = [];
      const c = ready(store, offer('c', data(12))).then((f) => (order.push('c'), f));
      // c is in the queue (said once per busy spell) before d is offered: the order is the queue's.
      for (let i = 0; i < 500 && info.mock.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(String(info.mock.calls[0]?.[1])).toMatch(/more offers wait for one to finish/);
      const d = ready(store, offer('d', data(13))).then((f) => (order.push('d'), f));
      await new Promise((r) => setTimeout(r, 50));
      expect(order).toEqual([]); // both wait: nothing of theirs is on disk yet
      expect(readdirSync(dir).filter((n) => n.startsWith('.c.') || n.startsWith('.d.'))).toEqual([]);
      await a.write(data(10), 0);
      await a.complete();
      const cf = await c;
      expect(order).toEqual(['c']);
      await b.abort();
      const df = await d;
      expect(order).toEqual(['c', 'd']);
      await cf.abort();
      await df.abort();
      // Slots come back: two at once again without waiting.
      await (await ready(store, offer('e', data(14)))).abort();
      await (await ready(store, offer('f', data(15)))).abort();
    });

    it('resume state that cannot be saved (the home full) is warned about once; the file still arrives', async () => {
      const warn = vi.fn();
      const logger = { warn, info: () => undefined, debug: () => undefined, error: () => undefined } as unknown as FileStoreOptions['logger'];
      const { store, dir } = await makeStore({ logger });
      const content = data(3 * CHUNK);
      const f = await ready(store, offer('s', content));
      const spy = vi.spyOn(store, 'saveState').mockRejectedValue(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      await f.write(content.subarray(0, CHUNK), 0);
      await f.saveProgress([[0, 1]]); // does not throw
      await f.write(content.subarray(CHUNK), CHUNK);
      await f.saveProgress([[0, 3]]); // no second try
      expect(spy).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![1])).toMatch(/cannot save resume state/);
      spy.mockRestore();
      expect((await f.complete()).status).toBe('installed');
      expect(readFileSync(join(dir, 's'))).toEqual(content);
    });

    it('receives the same content under other names at once; only the first keeps resume state', async () => {
      const { store, dir, state } = await makeStore();
      const content = data(2 * CHUNK + 7);
      const a = await ready(store, offer('a', content));
      const b = await ready(store, offer('sub/b', content));
      const e1 = await ready(store, offer('e1', Buffer.alloc(0)));
      const e2 = await ready(store, offer('e2', Buffer.alloc(0)));
      expect([a.resumable, b.resumable, e1.resumable, e2.resumable]).toEqual([true, false, true, false]);
      for (const f of [a, b]) {
        await f.write(content.subarray(0, CHUNK), 0);
        f.noteLeaf(0, new Uint8Array(32).fill(7));
        await f.saveProgress([[0, 1]]);
      }
      const states = () => readdirSync(state).filter((n) => n.endsWith('.json'));
      expect(states()).toHaveLength(1);
      expect(savedLeaf(await b.readLeaves(), 0)).toBeNull(); // b saved no leaves of its own
      // The second finishing first leaves the first one's state alone.
      await b.write(content.subarray(CHUNK), CHUNK);
      expect((await b.complete()).status).toBe('installed');
      expect(states()).toHaveLength(1);
      expect(savedLeaf(await a.readLeaves(), 0)).toEqual(new Uint8Array(32).fill(7));
      await a.write(content.subarray(CHUNK), CHUNK);
      expect((await a.complete()).status).toBe('installed');
      expect(states()).toHaveLength(0);
      for (const f of [e2, e1]) await f.complete();
      expect(readFileSync(join(dir, 'a'))).toEqual(content);
      expect(readFileSync(join(dir, 'sub/b'))).toEqual(content);
      expect(statSync(join(dir, 'e1')).size + statSync(join(dir, 'e2')).size).toBe(0);
    });

    it('an interrupted copy without resume state is discarded, the first one\'s state stays', async () => {
      const { store, dir, state } = await makeStore();
      const content = data(2 * CHUNK);
      const a = await ready(store, offer('a', content));
      const b = await ready(store, offer('b', content));
      await a.write(content.subarray(0, CHUNK), 0);
      await a.saveProgress([[0, 1]]);
      await b.write(content.subarray(0, CHUNK), 0);
      await b.saveProgress([[0, 1]]);
      await b.abort({ keep: true });
      expect(readdirSync(dir).filter((n) => n.startsWith('.b.'))).toEqual([]);
      await a.abort({ keep: true });
      expect(readdirSync(state).filter((n) => n.endsWith('.json'))).toHaveLength(1);
      const again = await ready(store, offer('a', content));
      expect(again.resumed).toEqual([[0, 1]]);
      await again.abort();
    });

    it('uses an injected renameNoReplace for installation', async () => {
      const calls: string[] = [];
      const { store, dir } = await makeStore({
        renameBeneath: undefined, // it would take precedence
        renameNoReplace: async (from, to) => {
          calls.push(to);
          if (existsSync(to)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
          await fsRename(from, to);
        },
        onConflict: 'rename',
      });
      await receive(store, 'a.txt', data(100, 1));
      await receive(store, 'a.txt', data(100, 2));
      expect(calls).toEqual([join(dir, 'a.txt'), join(dir, 'a.txt'), join(dir, 'a (1).txt')]);
    });

    it('uses an injected one-step lstat for the final name, the directories and the parents at install', async () => {
      const asked: string[] = [];
      const { store, dir } = await makeStore({
        renameBeneath: undefined, // it checks the parents itself at install
        lstatBeneath: async (root, rel) => {
          asked.push(rel);
          try {
            return lstatSync(join(root, rel));
          } catch {
            return null;
          }
        },
      });
      const content = data(100);
      await receive(store, 'x/y/z', content);
      // The final name at begin, then the directories (mkdirs, open without an opener, install).
      expect(asked[0]).toBe('x/y/z');
      expect(asked.slice(1).length).toBeGreaterThanOrEqual(2);
      expect(asked.slice(1).every((r) => r === 'x/y')).toBe(true);
      await receive(store, 'x/y/w', content);
      expect(readFileSync(join(dir, 'x/y/w'))).toEqual(content);
    });

    it('uses an injected renameBeneath: sibling names in their directory, no replacing unless overwrite', async () => {
      const calls: string[] = [];
      const { store, dir } = await makeStore({
        onConflict: 'rename',
        renameBeneath: async (root, d, from, to, noReplace) => {
          calls.push(`${d}|${from.startsWith('.') && from.endsWith('.wraith-part') ? 'partial' : from}|${to}|${noReplace}`);
          const target = join(root, d, to);
          if (noReplace && existsSync(target)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
          await fsRename(join(root, d, from), target);
        },
      });
      await receive(store, 'top.txt', data(10, 1));
      await receive(store, 'x/y.txt', data(10, 1));
      await receive(store, 'x/y.txt', data(10, 2));
      expect(calls).toEqual(['|partial|top.txt|true', 'x|partial|y.txt|true', 'x|partial|y.txt|true', 'x|partial|y (1).txt|true']);
      expect(readFileSync(join(dir, 'x/y (1).txt'))).toEqual(data(10, 2));
    });

    it('a failing renameBeneath reaches the caller as a coded error, and the partial stays', async () => {
      const { store, dir } = await makeStore({
        renameBeneath: async () => {
          throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', errno: -13 });
        },
      });
      const f = await ready(store, offer('p.txt', data(10)));
      await f.write(data(10), 0);
      const err = await rejects(f.complete());
      expect(err.code).toBe('E_PERMISSION');
      expect(existsSync(join(dir, 'p.txt'))).toBe(false);
      expect(existsSync(f.path)).toBe(true);
    });

    it('uses an injected beneath opener', async () => {
      const opened: string[] = [];
      const { store, dir } = await makeStore({
        opener: async (root, rel, flags, mode) => {
          opened.push(rel);
          return openSync(join(root, rel), flags | constants.O_NOFOLLOW, mode);
        },
      });
      const content = data(100);
      await receive(store, 'x/y', content);
      expect(opened).toContain(`x/.y.${rootOf(content).slice(0, 16)}.wraith-part`);
      expect(readFileSync(join(dir, 'x/y'))).toEqual(content);
    });
  });

  describe('existing final names', () => {
    it('reports already_present for the same content, at begin and at install', async () => {
      const { store, dir } = await makeStore();
      const content = data(5000);
      writeFileSync(join(dir, 'same'), content);
      expect(await store.begin(offer('same', content))).toEqual({ status: 'already_present', path: join(dir, 'same') });

      const f = await ready(store, offer('later', content));
      writeFileSync(join(dir, 'later'), content); // appears while receiving
      await f.write(content, 0);
      expect((await f.complete()).status).toBe('already_present');
      expect(existsSync(f.path)).toBe(false);
    });

    it("already_present takes the offer's mode (less the umask) and mtime, at begin and at install; not through another hard link", async () => {
      const { store, dir } = await makeStore({ umask: 0o027 });
      const content = data(3000);
      writeFileSync(join(dir, 'same'), content, { mode: 0o600 });
      expect((await store.begin(offer('same', content, { mode: 0o777 }))).status).toBe('already_present');
      expect(statSync(join(dir, 'same')).mode & 0o777).toBe(0o750);
      expect(statSync(join(dir, 'same')).mtimeMs).toBe(MTIME);

      const f = await ready(store, offer('later', content, { mode: 0o640, mtimeMs: MTIME + 5 }));
      writeFileSync(join(dir, 'later'), content, { mode: 0o600 }); // appears while receiving
      await f.write(content, 0);
      expect((await f.complete()).status).toBe('already_present');
      expect(statSync(join(dir, 'later')).mode & 0o777).toBe(0o640);
      expect(statSync(join(dir, 'later')).mtimeMs).toBe(MTIME + 5);

      const elsewhere = join(tmpDir(), 'not-in-the-download-dir');
      writeFileSync(elsewhere, content, { mode: 0o600 });
      linkSync(elsewhere, join(dir, 'linked'));
      expect((await store.begin(offer('linked', content, { mode: 0o777 }))).status).toBe('already_present');
      expect(statSync(elsewhere).mode & 0o777).toBe(0o600);
    });

    it('an existing file the receiver may not read (mode 0000, a daemon not run as root): E_PERMISSION saying so, not a raw EACCES', async () => {
      const { store, dir } = await makeStore({
        opener: async (root, rel, flags, mode) => {
          if (rel === 'locked') throw Object.assign(new Error(`EACCES: openat2(${rel}): Permission denied`), { code: 'EACCES' });
          return openSync(join(root, rel), flags | constants.O_NOFOLLOW, mode);
        },
      });
      const content = data(100);
      writeFileSync(join(dir, 'locked'), content, { mode: 0o000 });
      const err = await rejects(store.begin(offer('locked', content)));
      expect(err.code).toBe('E_PERMISSION');
      expect(err.message).toBe(`locked is already in ${dir}, and the receiver may not read it to compare it with the offer (mode 0000): give the user it runs as read access to it, or move it away`);
    });

    it('refuse: E_EXISTS before any data, and at install without touching the other file', async () => {
      const { store, dir } = await makeStore({ onConflict: 'refuse' });
      writeFileSync(join(dir, 'taken'), 'other');
      const early = await rejects(store.begin(offer('taken', data(10))));
      expect(early.code).toBe('E_EXISTS');
      expect(early.exitCode).toBe(6);

      const content = data(10);
      const f = await ready(store, offer('race', content));
      await f.write(content, 0);
      writeFileSync(join(dir, 'race'), 'other');
      const late = await rejects(f.complete());
      expect(late.code).toBe('E_EXISTS');
      expect(late.message).toContain(`.race.${rootOf(content).slice(0, 16)}.wraith-part`);
      expect(readFileSync(join(dir, 'race'), 'utf8')).toBe('other');
      expect(readFileSync(f.path)).toEqual(content); // kept for a retry

      mkdirSync(join(dir, 'adir'));
      const dirErr = await rejects(store.begin(offer('adir', data(10))));
      expect(dirErr.code).toBe('E_EXISTS');
      expect(dirErr.message).toBe(`adir is a directory in ${dir}; a file cannot take its place`);
    });

    it('refuse: other content offered under a name being received is refused at once; the same content, another name or rename are not', async () => {
      const { store } = await makeStore({ onConflict: 'refuse' });
      const first = data(3 * CHUNK, 1);
      const f = await ready(store, offer('n.bin', first));
      const other = await rejects(store.begin(offer('n.bin', data(3 * CHUNK, 2), { peerId: PEER2 })));
      expect(other.code).toBe('E_EXISTS');
      expect(other.message).toBe('n.bin is being received from another send, with different content');
      const g = await ready(store, offer('m.bin', data(3 * CHUNK, 2), { peerId: PEER2 }));
      await g.abort();
      await f.abort({ keep: true });
      // Once the first is no longer being received, the other content may come.
      const h = await ready(store, offer('n.bin', data(3 * CHUNK, 2), { peerId: PEER2 }));
      await h.abort();

      const { store: renaming } = await makeStore({ onConflict: 'rename' });
      const r1 = await ready(renaming, offer('n.bin', first));
      const r2 = await ready(renaming, offer('n.bin', data(3 * CHUNK, 2), { peerId: PEER2 }));
      await r1.abort();
      await r2.abort();
    });

    it('rename: installs as "name (1).ext", then "name (2).ext"', async () => {
      const { store, dir } = await makeStore({ onConflict: 'rename' });
      writeFileSync(join(dir, 'r.txt'), 'other');
      expect((await receive(store, 'r.txt', data(10, 1))).name).toBe('r (1).txt');
      expect((await receive(store, 'r.txt', data(10, 2))).name).toBe('r (2).txt');
      expect(readFileSync(join(dir, 'r.txt'), 'utf8')).toBe('other');
      expect(readFileSync(join(dir, 'r (2).txt'))).toEqual(data(10, 2));
    });

    it('overwrite: replaces a file, refuses to replace a directory', async () => {
      const { store, dir } = await makeStore({ onConflict: 'overwrite' });
      writeFileSync(join(dir, 'o'), 'other');
      await receive(store, 'o', data(10));
      expect(readFileSync(join(dir, 'o'))).toEqual(data(10));
      mkdirSync(join(dir, 'd'));
      expect((await rejects(store.begin(offer('d', data(10))))).code).toBe('E_EXISTS');
    });

    it.each(['rename', 'overwrite'] as const)('%s: a received directory never replaces a file (nor goes elsewhere)', async (onConflict) => {
      const { store, dir } = await makeStore({ onConflict });
      writeFileSync(join(dir, 'f'), 'other');
      expect(await rejects(store.makeDirectory('f/sub'))).toMatchObject({ code: 'E_EXISTS', message: 'f/sub: f exists and is not a directory' });
      expect(await rejects(store.begin(offer('f/x.bin', data(10))))).toMatchObject({ code: 'E_EXISTS' });
      expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('other');
      expect(readdirSync(dir)).toEqual(['f']);
    });
  });

  describe('path safety', () => {
    it('refuses to write through a planted symlink to a directory outside; nothing is written there', async () => {
      const outside = tmpDir('wraith-outside-');
      for (const mode of ['refuse', 'rename', 'overwrite'] as OnConflict[]) {
        const { store, dir } = await makeStore({ onConflict: mode });
        symlinkSync(outside, join(dir, 'x'));
        const err = await rejects(store.begin(offer('x/f', data(10))));
        expect(err.code).toBe('E_PATH_INVALID');
        expect(err.message).toMatch(/x is a symlink/);
        expect((await rejects(store.makeDirectory('x/sub'))).code).toBe('E_PATH_INVALID');
      }
      expect(readdirSync(outside)).toEqual([]);
    });

    it('never follows a symlink at the partial name', async () => {
      const outside = tmpDir('wraith-outside-');
      const victim = join(outside, 'victim');
      writeFileSync(victim, 'precious');
      const { store, dir } = await makeStore();
      const content = data(10);
      symlinkSync(victim, join(dir, `.f.${rootOf(content).slice(0, 16)}.wraith-part`));
      expect((await rejects(store.begin(offer('f', content)))).code).toBe('E_PATH_INVALID');
      expect(readFileSync(victim, 'utf8')).toBe('precious');
    });

    it('overwrite replaces a symlink at the final name, not its target', async () => {
      const outside = tmpDir('wraith-outside-');
      const victim = join(outside, 'victim');
      writeFileSync(victim, 'precious');
      const { store, dir } = await makeStore({ onConflict: 'overwrite' });
      symlinkSync(victim, join(dir, 'link'));
      await receive(store, 'link', data(10));
      expect(lstatSync(join(dir, 'link')).isFile()).toBe(true);
      expect(readFileSync(victim, 'utf8')).toBe('precious');
    });

    it('refuses traversal names before touching the disk', async () => {
      const { store, dir } = await makeStore();
      for (const name of ['../escape', '/abs', 'a/../../b']) {
        expect((await rejects(store.begin(offer(name, data(1))))).code).toBe('E_PATH_INVALID');
      }
      expect(readdirSync(dir)).toEqual([]);
    });

    // The portable path unlinks by path, so there a parent swapped for a symlink at that moment
    // does send the unlink elsewhere: it cannot promise this, and the case runs over the addon only.
    if (mode !== 'portable') {
      it('discard never removes a same-named file behind a parent swapped for a symlink', async () => {
        const outside = tmpDir('wraith-outside-');
        const { store, dir } = await makeStore();
        const content = data(10);
        const f = await ready(store, offer('d/f', content));
        const partialBase = `.f.${rootOf(content).slice(0, 16)}.wraith-part`;
        writeFileSync(join(outside, partialBase), 'precious');
        await fsRename(join(dir, 'd'), join(dir, 'd-moved'));
        symlinkSync(outside, join(dir, 'd'));
        await f.abort(); // no keep: discard() unlinks the partial
        expect(readFileSync(join(outside, partialBase), 'utf8')).toBe('precious');
        expect(existsSync(join(dir, 'd-moved', partialBase))).toBe(true); // moved away, not ours to chase
      });

      it('mkdirs never creates through a parent swapped for a symlink after its check', async () => {
        const outside = tmpDir('wraith-outside-');
        const { store, dir } = await makeStore({
          mkdirBeneath: async (root, d, name, m) => {
            if (d === 'a') {
              // Between the store's lstat of a and the mkdir in it: a becomes a symlink.
              await fsRename(join(root, 'a'), join(root, 'a-moved'));
              symlinkSync(outside, join(root, 'a'));
            }
            await seams.mkdirBeneath!(root, d, name, m);
          },
        });
        mkdirSync(join(dir, 'a'));
        const err = await rejects(store.makeDirectory('a/b/c'));
        expect(err.code).toBe('E_PATH_INVALID');
        expect(err.message).toContain('received name "a/b/c" refused');
        expect(readdirSync(outside)).toEqual([]);
      });
    }

    it('removes partials through unlinkBeneath: directory and name relative to the download dir', async () => {
      const calls: string[] = [];
      let now = Date.now();
      const { store, dir } = await makeStore({
        partialTtlMs: 3_600_000,
        now: () => now,
        unlinkBeneath: async (root, d, name) => {
          calls.push(`${d}|${name.endsWith('.wraith-part') ? 'partial' : name}`);
          await (seams.unlinkBeneath ?? ((r: string, dd: string, n: string) => fsUnlink(join(r, dd, n))))(root, d, name);
        },
      });
      const a = await ready(store, offer('x/y/a', data(10, 1))); // discard
      await a.abort();
      const content = data(10, 2);
      const b = await ready(store, offer('b', content)); // already_present at install
      await b.write(content, 0);
      writeFileSync(join(dir, 'b'), content);
      expect((await b.complete()).status).toBe('already_present');
      const c = await ready(store, offer('deep/c', data(10, 3))); // sweep
      await c.abort({ keep: true });
      now += 2 * 3_600_000;
      const later = (now - 2 * 3_600_000 - 1000) / 1000;
      utimesSync(c.path, later, later);
      expect((await store.sweep()).partials).toBe(1);
      expect(calls).toEqual(['x/y|partial', '|partial', 'deep|partial']);
      for (const f of [a, b, c]) expect(existsSync(f.path)).toBe(false);
    });

    it('refuses a regular file where a directory is needed', async () => {
      const { store, dir } = await makeStore();
      writeFileSync(join(dir, 'notdir'), 'x');
      expect((await rejects(store.begin(offer('notdir/f', data(1))))).code).toBe('E_EXISTS');
    });
  });

  describe('directories', () => {
    it('creates directories 0700, then applies the sent mode and mtime', async () => {
      const { store, dir } = await makeStore();
      await store.makeDirectory('d/e');
      expect(statSync(join(dir, 'd/e')).mode & 0o777).toBe(0o700);
      await receive(store, 'd/e/f', data(3));
      await store.finishDirectory('d/e', 0o2750, MTIME);
      const st = statSync(join(dir, 'd/e'));
      expect(st.mode & 0o7777).toBe(0o750);
      expect(st.mtimeMs).toBe(MTIME);
    });

    it('concurrent mkdirs of one new path share a single mkdir per component; a failure reaches every caller', async () => {
      const made: string[] = [];
      const { store, dir } = await makeStore({
        mkdirBeneath: async (root, d, name, m) => {
          made.push(d === '' ? name : `${d}/${name}`);
          await (seams.mkdirBeneath ?? ((r: string, dd: string, n: string, mm: number) => fsMkdir(join(r, dd, n), { mode: mm })))(root, d, name, m);
        },
      });
      const paths = await Promise.all(Array.from({ length: 20 }, () => store.makeDirectory('n/e/w')));
      expect(new Set(paths)).toEqual(new Set([join(dir, 'n/e/w')]));
      expect(made).toEqual(['n', 'n/e', 'n/e/w']);
      expect(statSync(join(dir, 'n/e/w')).isDirectory()).toBe(true);

      writeFileSync(join(dir, 'file'), 'x');
      const errs = await Promise.all(Array.from({ length: 5 }, () => rejects(store.makeDirectory('file/sub'))));
      for (const e of errs) {
        expect(e.code).toBe('E_EXISTS');
        expect(e.message).toBe('file/sub: file exists and is not a directory');
      }
      // A file below it names itself too: otherwise each entry of a tree says the same line.
      const below = await rejects(store.begin(offer('file/sub/x.bin', data(3))));
      expect(below).toMatchObject({ code: 'E_EXISTS', message: 'file/sub/x.bin: file exists and is not a directory', details: { name: 'file/sub/x.bin' } });
      expect(await rejects(store.makeDirectory('file'))).toMatchObject({ message: 'file exists and is not a directory' });
      // Settled ones are forgotten: the next call looks again.
      rmSync(join(dir, 'file'));
      made.length = 0;
      expect(await store.makeDirectory('file/sub')).toBe(join(dir, 'file/sub'));
      expect(made).toEqual(['file', 'file/sub']);
    });

    it('refuses to apply metadata through a symlink', async () => {
      const outside = tmpDir('wraith-outside-');
      const { store, dir } = await makeStore();
      symlinkSync(outside, join(dir, 'ln'));
      expect((await rejects(store.finishDirectory('ln', 0o777, MTIME))).code).toBe('E_PATH_INVALID');
      expect(statSync(outside).mode & 0o777).toBe(0o700);
    });
  });

  describe('admission', () => {
    it('refuses files over max_file_size with E_FILE_TOO_LARGE', async () => {
      const { store, dir } = await makeStore({ maxFileSize: 100 });
      const err = await rejects(store.begin(offer('big', data(101))));
      expect(err.code).toBe('E_FILE_TOO_LARGE');
      expect(err.message).toContain('max_file_size is 100');
      expect(readdirSync(dir)).toEqual([]);
    });

    it('keeps min_free free (E_NO_SPACE) and holds back what unfinished transfers still need', async () => {
      let free = 1000;
      const { store } = await makeStore({ freeSpace: async () => free, minFree: 400 });
      const a = await ready(store, offer('a', data(500, 1)));
      expect(store.reservedBytes).toBe(500);
      expect(store.pendingBytes).toBe(500);
      const err = await rejects(store.begin(offer('b', data(200, 2))));
      expect(err.code).toBe('E_NO_SPACE');
      expect(err.exitCode).toBe(7);
      expect(err.message).toContain('min_free keeps 400');
      await a.write(data(300, 1), 0); // 300 bytes landed: the disk has less free, a needs less
      free -= 300;
      expect(store.pendingBytes).toBe(200);
      expect((await rejects(store.begin(offer('b', data(200, 2))))).code).toBe('E_NO_SPACE');
      await a.abort();
      free += 300;
      expect(store.reservedBytes).toBe(0);
      const b = await ready(store, offer('b', data(200, 2)));
      await b.abort();
    });

    it('enforces max_total_bytes over unfinished transfers', async () => {
      const { store } = await makeStore({ maxTotalBytes: 300 });
      const a = await ready(store, offer('a', data(200, 1)));
      const err = await rejects(store.begin(offer('b', data(200, 2))));
      expect(err.code).toBe('E_NO_SPACE');
      expect(err.message).toContain('max_total_bytes = 300');
      await a.write(data(200, 1), 0);
      await a.complete();
      await (await ready(store, offer('b', data(200, 2)))).abort();
    });
  });

  describe('resume', () => {
    it('keeps the partial and its verified chunks across an interruption', async () => {
      const { store } = await makeStore();
      const content = data(3 * CHUNK + 5);
      const o = offer('r', content);
      const f1 = await ready(store, o);
      expect(f1.resumed).toEqual([]);
      await f1.write(content.subarray(0, CHUNK), 0);
      await f1.write(content.subarray(2 * CHUNK, 3 * CHUNK), 2 * CHUNK);
      await f1.saveProgress([[0, 1], [2, 1]]);
      await f1.abort({ keep: true });

      const f2 = await ready(store, o);
      expect(f2.resumed).toEqual([[0, 1], [2, 1]]);
      expect(f2.resumedBytes).toBe(2 * CHUNK);
      await f2.write(content.subarray(CHUNK, 2 * CHUNK), CHUNK);
      await f2.write(content.subarray(3 * CHUNK), 3 * CHUNK);
      const r = await f2.complete();
      expect(readFileSync(r.path)).toEqual(content);
    });

    it('keeps a leaf noted while saveProgress is saving the others (the writes go on meanwhile)', async () => {
      const { store } = await makeStore();
      const content = data(2 * CHUNK);
      const f = await ready(store, offer('l', content));
      await f.write(content, 0);
      f.noteLeaf(0, new Uint8Array(32).fill(1));
      const save = store.saveLeaves.bind(store);
      let writing = true;
      vi.spyOn(store, 'saveLeaves').mockImplementation(async (file, leaves) => {
        await save(file, leaves);
        if (writing) f.noteLeaf(1, new Uint8Array(32).fill(2)); // chunk 1 written during the save
        writing = false;
      });
      await f.saveProgress([[0, 1]]);
      await f.saveProgress([[0, 2]]);
      const leaves = await f.readLeaves();
      expect(savedLeaf(leaves, 0)).toEqual(new Uint8Array(32).fill(1));
      expect(savedLeaf(leaves, 1)).toEqual(new Uint8Array(32).fill(2));
      await f.abort();
    });

    it('counts only missing bytes against free space when resuming', async () => {
      let free = 10 * CHUNK;
      const { store } = await makeStore({ freeSpace: async () => free });
      const content = data(4 * CHUNK);
      const f1 = await ready(store, offer('r', content));
      await f1.write(content.subarray(0, 3 * CHUNK), 0);
      await f1.saveProgress([[0, 3]]);
      await f1.abort({ keep: true });
      free = 2 * CHUNK; // enough for the last chunk only
      const f2 = await ready(store, offer('r', content));
      expect(f2.resumedBytes).toBe(3 * CHUNK);
      await f2.abort();
    });

    it('restarts a partial without state, and forgets another sender\'s state for it', async () => {
      const { store, state } = await makeStore();
      const content = data(2 * CHUNK);
      const f1 = await ready(store, offer('s', content));
      await f1.write(content.subarray(0, CHUNK), 0);
      await f1.saveProgress([[0, 1]]);
      await f1.abort({ keep: true });
      const f2 = await ready(store, offer('s', content, { peerId: PEER2 }));
      expect(f2.resumed).toEqual([]);
      expect(readdirSync(state)).toEqual([]); // PEER's state pointed at the restarted partial
      const head = Buffer.alloc(CHUNK);
      const fh = await open(f2.path, 'r');
      await fh.read(head, 0, CHUNK, 0);
      await fh.close();
      expect(head.every((b) => b === 0)).toBe(true);
      await f2.abort();
    });

    it("removes the sender's unfinished earlier version of a file when it offers other content under the name", async () => {
      const { store, state } = await makeStore();
      const v1 = data(3 * CHUNK, 1);
      const f1 = await ready(store, offer('v', v1));
      await f1.write(v1.subarray(0, CHUNK), 0);
      await f1.saveProgress([[0, 1]]);
      await f1.abort({ keep: true });
      // Another sender's unfinished file of another name, and this sender's of another name, stay.
      const other = data(2 * CHUNK, 7);
      const g = await ready(store, offer('w', other, { peerId: PEER2 }));
      await g.saveProgress([[0, 1]]);
      await g.abort({ keep: true });
      const h = await ready(store, offer('x', other));
      await h.saveProgress([[0, 1]]);
      await h.abort({ keep: true });

      const v2 = data(3 * CHUNK, 2);
      const f2 = await ready(store, offer('v', v2));
      expect(existsSync(f1.path)).toBe(false);
      expect(readdirSync(state).filter((n) => n.endsWith('.json')).sort()).toEqual([`${PEER}.${rootOf(other)}.json`, `${PEER2}.${rootOf(other)}.json`].sort());
      expect(readdirSync(state).some((n) => n.includes(rootOf(v1)))).toBe(false);
      expect(existsSync(g.path)).toBe(true);
      expect(existsSync(h.path)).toBe(true);
      await f2.write(v2, 0);
      expect(readFileSync((await f2.complete()).path)).toEqual(v2);
    });

    it("keeps another sender's unfinished version of the name", async () => {
      const { store } = await makeStore();
      const v1 = data(3 * CHUNK, 1);
      const f1 = await ready(store, offer('v', v1, { peerId: PEER2 }));
      await f1.saveProgress([[0, 1]]);
      await f1.abort({ keep: true });
      const f2 = await ready(store, offer('v', data(3 * CHUNK, 2)));
      expect(existsSync(f1.path)).toBe(true);
      await f2.abort();
      expect((await ready(store, offer('v', v1, { peerId: PEER2 }))).resumed).toEqual([[0, 1]]);
    });

    it('two nodes on one download directory: the partial one restarts is a new file, so the other fails its copy instead of installing zeros', async () => {
      const { store, dir } = await makeStore();
      const { store: other } = await makeStore({ downloadDir: dir }); // its own state directory
      const content = data(3 * CHUNK, 5);
      const f1 = await ready(store, offer('shared.bin', content));
      await f1.write(content.subarray(0, 2 * CHUNK), 0);
      await f1.saveProgress([[0, 2]]);
      // The other node has no state for it: it starts the partial over.
      const f2 = await ready(other, offer('shared.bin', content));
      expect(f2.path).toBe(f1.path);
      await f1.write(content.subarray(2 * CHUNK), 2 * CHUNK);
      const lost = await rejects(f1.complete());
      expect(lost.code).toBe('E_IO');
      expect(lost.message).toContain('was deleted while it was being received');
      expect(existsSync(join(dir, 'shared.bin'))).toBe(false);
      await f2.write(content, 0);
      expect(readFileSync((await f2.complete()).path)).toEqual(content);
    });

    it('discards a mismatching or malformed state', async () => {
      const { store, state } = await makeStore();
      const content = data(2 * CHUNK);
      const f1 = await ready(store, offer('m', content));
      await f1.saveProgress([[0, 1]]);
      await f1.abort({ keep: true });
      const file = join(state, readdirSync(state)[0]!);
      writeFileSync(file, '{"version":1,"have":[[5,9]]');
      expect((await ready(store, offer('m', content))).resumed).toEqual([]);
    });

    it('deletes partial and state on abort without keep, and when resume is off', async () => {
      const { store, state } = await makeStore({ resume: false });
      const content = data(CHUNK);
      const f = await ready(store, offer('n', content));
      await f.saveProgress([[0, 1]]);
      expect(readdirSync(state)).toEqual([]);
      await f.abort({ keep: true });
      expect(existsSync(f.path)).toBe(false);
    });
  });

  describe('partial TTL sweep', () => {
    it('removes partials and states older than partial_ttl, keeps fresh ones and other files', async () => {
      let now = Date.now();
      const { store, dir, state } = await makeStore({ partialTtlMs: 3_600_000, now: () => now });
      const oldC = data(100, 1);
      const newC = data(100, 2);
      const f1 = await ready(store, offer('deep/old', oldC));
      await f1.saveProgress([[0, 1]]);
      await f1.abort({ keep: true });
      const f2 = await ready(store, offer('new', newC));
      await f2.saveProgress([[0, 1]]);
      await f2.abort({ keep: true });
      writeFileSync(join(dir, 'deep', 'keep.wraith-part'), 'not ours');
      const hourAgo = (now - 2 * 3_600_000) / 1000;
      utimesSync(f1.path, hourAgo, hourAgo);
      utimesSync(join(state, `${PEER}.${rootOf(oldC)}.json`), hourAgo, hourAgo);
      utimesSync(join(dir, 'deep', 'keep.wraith-part'), hourAgo, hourAgo);

      expect(await store.sweep()).toEqual({ partials: 1, states: 1 });
      expect(existsSync(f1.path)).toBe(false);
      expect(existsSync(f2.path)).toBe(true);
      expect(existsSync(join(dir, 'deep', 'keep.wraith-part'))).toBe(true);
      expect(readdirSync(state)).toEqual([`${PEER}.${rootOf(newC)}.json`]);

      now += 2 * 3_600_000; // later: everything left is expired
      expect(await store.sweep()).toEqual({ partials: 1, states: 1 });
    });

    it('keeps the partial and state of an offer still opening (waiting for a slot to resume it)', async () => {
      let now = Date.now();
      const { store } = await makeStore({ partialTtlMs: 3_600_000, now: () => now, maxOpenFiles: 1 });
      const content = data(100, 7);
      const f = await ready(store, offer('r', content));
      await f.write(content.subarray(0, CHUNK), 0);
      await f.saveProgress([[0, 1]]);
      await f.abort({ keep: true });
      const blocker = await ready(store, offer('other', data(5)));
      const again = store.begin(offer('r', content)); // waits for the slot
      await new Promise((r) => setTimeout(r, 20));
      now += 2 * 3_600_000;
      expect(await store.sweep()).toEqual({ partials: 0, states: 0 });
      await blocker.abort();
      const r = await again;
      expect(r.status).toBe('ready');
      if (r.status === 'ready') {
        expect(r.file.resumed).toEqual([[0, 1]]);
        await r.file.abort();
      }
    });

    it('keeps an old partial that a resume opens while the sweep is walking', async () => {
      let now = Date.now();
      const { store, dir } = await makeStore({ partialTtlMs: 3_600_000, now: () => now });
      for (let i = 0; i < 50; i++) mkdirSync(join(dir, `a${i}`, 'b'), { recursive: true }); // a walk that takes a while
      const content = data(3 * CHUNK, 9);
      const f = await ready(store, offer('r', content));
      await f.write(content.subarray(0, CHUNK), 0);
      await f.saveProgress([[0, 1]]);
      await f.abort({ keep: true });
      now += 2 * 3_600_000;
      const swept = store.sweep(); // starts walking before the resume below is offered
      const again = store.begin(offer('r', content));
      expect(await swept).toEqual({ partials: 0, states: 0 });
      const r = await again;
      expect(r.status).toBe('ready');
      if (r.status === 'ready') {
        expect(r.file.resumed).toEqual([[0, 1]]);
        await r.file.write(content.subarray(CHUNK), CHUNK);
        await r.file.saveProgress([[0, 3]]);
        expect((await r.file.complete()).status).toBe('installed');
        expect(Buffer.compare(readFileSync(join(dir, 'r')), content)).toBe(0);
      }
    });

    it('sweeps when the store opens', async () => {
      const base = tmpDir();
      const dir = join(base, 'in');
      mkdirSync(dir);
      const p = join(dir, `.x.${'0'.repeat(16)}.wraith-part`);
      writeFileSync(p, 'x');
      utimesSync(p, 0, 0);
      await FileStore.open({
        downloadDir: dir, stateDir: join(base, 'st'), onConflict: 'refuse', maxFileSize: null, maxTotalBytes: null,
        minFree: 0, partialTtlMs: 86_400_000, resume: true,
      });
      expect(existsSync(p)).toBe(false);
    });
  });
});
}
