import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { IS_ROOT, REPO_ROOT, itIf } from '../../../test/support/prereq.js';
import { isWraithError } from '@wraith/core';
import { assertUnchanged, rootName, snapshotFd, unsendablePath, walk, type WalkEntry, type WalkOptions, type WalkWarning } from '../src/walk.js';
import { compileExcludes } from '../src/exclude.js';
import { tmpDir } from './helpers.js';

/** Local file systems are walked on the caller's thread; the other way is tested too. */
let threadPoolOnly = false;

async function collect(paths: string[], followSymlinks = false): Promise<{ entries: WalkEntry[]; warnings: WalkWarning[] }> {
  const entries: WalkEntry[] = [];
  const warnings: WalkWarning[] = [];
  for await (const e of walk(paths, { followSymlinks, onWarning: (w) => warnings.push(w), threadPoolOnly })) entries.push(e);
  return { entries, warnings };
}

async function collectWith(paths: string[], opts: WalkOptions): Promise<WalkEntry[]> {
  const entries: WalkEntry[] = [];
  for await (const e of walk(paths, { ...opts, threadPoolOnly })) entries.push(e);
  return entries;
}

/** tree/ with a file, an empty file, an empty dir, a nested dir, a setuid file, a symlink and a FIFO. */
function makeTree(): { base: string; root: string; outside: string } {
  const base = tmpDir();
  const root = join(base, 'tree');
  const outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'o.txt'), 'outside');
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(root, 'empty-dir'));
  writeFileSync(join(root, 'a.txt'), 'hello');
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'sub', 'deeper', 'b.bin'), Buffer.alloc(1000, 7));
  writeFileSync(join(root, 'suid'), 'x');
  chmodSync(join(root, 'suid'), 0o4755);
  chmodSync(join(root, 'sub'), 0o2750);
  utimesSync(join(root, 'a.txt'), 1_000_000, 1_000_000);
  symlinkSync(outside, join(root, 'link-dir'));
  symlinkSync(join(root, 'nope'), join(root, 'dangling'));
  execFileSync('mkfifo', [join(root, 'fifo')]);
  return { base, root, outside };
}

describe.each([false, true])('walk (thread pool only: %s)', (poolOnly) => {
  beforeEach(() => {
    threadPoolOnly = poolOnly;
  });

  it('yields regular files and directories in name order, lazily, with relative names', async () => {
    const { root } = makeTree();
    const { entries, warnings } = await collect([root]);
    expect(entries.map((e) => `${e.kind}:${e.name}`)).toEqual([
      'dir:tree',
      'file:tree/a.txt',
      'file:tree/empty',
      'dir:tree/empty-dir',
      'dir:tree/sub',
      'dir:tree/sub/deeper',
      'file:tree/sub/deeper/b.bin',
      'file:tree/suid',
    ]);
    const by = new Map(entries.map((e) => [e.name, e]));
    expect(by.get('tree/empty')?.size).toBe(0);
    expect(by.get('tree/sub/deeper/b.bin')?.size).toBe(1000);
    expect(by.get('tree/suid')?.mode).toBe(0o755); // setuid stripped
    expect(by.get('tree/sub')?.mode).toBe(0o750); // setgid stripped
    expect(by.get('tree/a.txt')?.mtimeMs).toBe(1_000_000_000);
    expect(by.get('tree/a.txt')?.path).toBe(join(root, 'a.txt'));
    expect(warnings.map((w) => `${w.reason}:${w.path}`).sort()).toEqual([
      `special:${join(root, 'fifo')}`,
      `symlink:${join(root, 'dangling')}`,
      `symlink:${join(root, 'link-dir')}`,
    ]);
  });

  it('follows symlinks when asked, skipping dangling ones and loops', async () => {
    const { root } = makeTree();
    symlinkSync(root, join(root, 'sub', 'loop'));
    const { entries, warnings } = await collect([root], true);
    const names = entries.map((e) => e.name);
    expect(names).toContain('tree/link-dir');
    expect(names).toContain('tree/link-dir/o.txt');
    expect(names.some((n) => n.includes('loop'))).toBe(false);
    expect(warnings.map((w) => w.reason).sort()).toEqual(['dangling_symlink', 'loop', 'special']);
  });

  it('sends a single file under its base name, and follows a symlinked PATH argument', async () => {
    const { root, base } = makeTree();
    symlinkSync(join(root, 'a.txt'), join(base, 'alias.txt'));
    const { entries } = await collect([join(root, 'a.txt'), join(base, 'alias.txt')]);
    expect(entries.map((e) => [e.name, e.size])).toEqual([['a.txt', 5], ['alias.txt', 5]]);
  });

  it('under: every name goes below that directory; a name then too long for the receiver fails alone', async () => {
    const { root, base } = makeTree();
    const names = async (paths: string[], under: string, failed: string[] = []): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of walk(paths, { under, threadPoolOnly, onUnsendable: (_p, name, err) => failed.push(`${name.slice(under.length)} ${err.code}`) })) out.push(e.name);
      return out;
    };
    expect(await names([join(root, 'a.txt'), join(root, 'sub')], 'in/2026')).toEqual(['in/2026/a.txt', 'in/2026/sub', 'in/2026/sub/deeper', 'in/2026/sub/deeper/b.bin']);
    // 4019 bytes of directories: "a.txt" still fits the receiver's 4096, a 200-byte name does not.
    const long = 'd'.repeat(200);
    mkdirSync(join(base, long));
    const failed: string[] = [];
    const under = Array.from({ length: 20 }, () => long).join('/');
    expect(await names([join(base, long), join(root, 'a.txt')], under, failed)).toEqual([`${under}/a.txt`]);
    expect(failed).toEqual([`/${long}/ E_PATH_INVALID`]);
  });

  it('exclude: what matches below a PATH is left out silently, a directory with its contents; the PATH itself never', async () => {
    const { root } = makeTree();
    mkdirSync(join(root, 'sub', 'cache'));
    writeFileSync(join(root, 'sub', 'cache', 'c.tmp'), 'c');
    writeFileSync(join(root, 'x.tmp'), 'x');
    writeFileSync(join(root, 'cache'), 'a file named cache');
    const names = async (patterns: string[], paths = [root], under?: string): Promise<{ names: string[]; warnings: string[] }> => {
      const out: string[] = [];
      const warnings: string[] = [];
      const exclude = compileExcludes(patterns);
      for await (const e of walk(paths, { exclude, threadPoolOnly, onWarning: (w) => warnings.push(w.path), ...(under !== undefined ? { under } : {}) })) out.push(e.name);
      return { names: out, warnings };
    };
    // "cache/" is the directory only, "*.tmp" at any depth, "link-dir" and "fifo" without their warnings.
    const got = await names(['cache/', '*.tmp', 'link-dir', 'fifo']);
    expect(got.names).toEqual(['tree', 'tree/a.txt', 'tree/cache', 'tree/empty', 'tree/empty-dir', 'tree/sub', 'tree/sub/deeper', 'tree/sub/deeper/b.bin', 'tree/suid']);
    expect(got.warnings.sort()).toEqual([join(root, 'dangling')]);
    // Anchored: "/sub/deeper" only there; matched below the PATH, whatever --dest puts in front.
    expect((await names(['/deeper', 'sub/deeper'], [root], 'in')).names).toEqual(['in/tree', 'in/tree/a.txt', 'in/tree/cache', 'in/tree/empty', 'in/tree/empty-dir', 'in/tree/sub', 'in/tree/sub/cache', 'in/tree/sub/cache/c.tmp', 'in/tree/suid', 'in/tree/x.tmp']);
    // A PATH that matches is still sent: patterns apply below it.
    expect((await names(['a.txt', 'tree'], [join(root, 'a.txt')])).names).toEqual(['a.txt']);
    // A name that is not UTF-8 is matched as read with U+FFFD: excluded, it is not an error.
    writeFileSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0xe9]), Buffer.from('.tmp')]), 'x');
    const failed: string[] = [];
    for await (const e of walk([root], { exclude: compileExcludes(['*.tmp']), threadPoolOnly, onUnsendable: (_p, name) => failed.push(name) })) void e;
    expect(failed).toEqual([]);
    for await (const e of walk([root], { threadPoolOnly, onUnsendable: (_p, name) => failed.push(name) })) void e;
    expect(failed).toEqual(['tree/\ufffd.tmp']);
  });

  it('streams: the first entry arrives before the walk ends', async () => {
    const { root } = makeTree();
    const it = walk([root]);
    const first = await it.next();
    expect(first.value?.name).toBe('tree');
    await it.return(undefined);
  });

  it('refuses a missing PATH and two PATHs with the same base name', async () => {
    const { root, base } = makeTree();
    await expect(collect([join(base, 'missing')])).rejects.toSatisfy((e) => isWraithError(e, 'E_NOT_FOUND'));
    mkdirSync(join(base, 'other', 'tree'), { recursive: true });
    await expect(collect([root, join(base, 'other', 'tree')])).rejects.toSatisfy((e) => isWraithError(e, 'E_USAGE'));
  });

  it('fails names the receiver would refuse through onUnsendable (E_PATH_INVALID); the walk goes on', async () => {
    const { root } = makeTree();
    writeFileSync(join(root, 'bad\nname'), 'x');
    writeFileSync(join(root, 'back\\slash'), 'x');
    mkdirSync(join(root, 'bad\tdir'));
    writeFileSync(join(root, 'bad\tdir', 'inside'), 'x');
    // Names that are not UTF-8 (Latin-1 "é.txt", and "é-fifo"): Buffer paths reach the raw bytes.
    const latin1 = (rest: string): Buffer => Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0xe9]), Buffer.from(rest)]);
    writeFileSync(latin1('.txt'), 'x');
    execFileSync('mkfifo', [latin1('-fifo')]);
    const failed: Array<[string, string, string, string]> = [];
    const warnings: WalkWarning[] = [];
    const names: string[] = [];
    for await (const e of walk([root], { onWarning: (w) => warnings.push(w), onUnsendable: (p, name, err) => failed.push([p.replace(`${root}/`, ''), name, err.code, err.hint]), threadPoolOnly })) {
      names.push(e.name);
    }
    expect(names.filter((n) => /[\n\t\\\ufffd]/.test(n))).toEqual([]);
    expect(names).toContain('tree/a.txt');
    const convmv = 'rename it (convmv converts names to UTF-8) and send it again';
    expect(failed).toEqual([
      ['\ufffd.txt', 'tree/\ufffd.txt', 'E_PATH_INVALID', convmv],
      ['back\\slash', 'tree/back\\slash', 'E_PATH_INVALID', 'rename it and send it again'],
      ['bad\tdir', 'tree/bad\tdir/', 'E_PATH_INVALID', 'rename it and send it again'],
      ['bad\nname', 'tree/bad\nname', 'E_PATH_INVALID', 'rename it and send it again'],
    ]);
    // A FIFO would be skipped whatever its name: it still is, with the FIFO's warning.
    expect(warnings.filter((w) => w.path.endsWith('\ufffd-fifo')).map((w) => w.reason)).toEqual(['special']);
    await expect(collect([root])).rejects.toSatisfy((e) => isWraithError(e, 'E_PATH_INVALID'));
  });

  it('relative: each PATH is named by the path given, the rest of the tree below it; nested or equal names are refused', async () => {
    const { root, base } = makeTree();
    const rel = (p: string): string => p.slice(1); // an absolute PATH is named without its "/"
    const names: string[] = [];
    const ex = compileExcludes(['deeper/']);
    for await (const e of walk([join(root, 'sub'), join(root, 'a.txt')], { relative: true, exclude: ex, under: 'in', threadPoolOnly })) names.push(e.name);
    expect(names).toEqual([`in/${rel(root)}/sub`, `in/${rel(root)}/a.txt`]);
    const plain: string[] = [];
    for await (const e of walk([join(root, 'sub')], { relative: true, threadPoolOnly })) plain.push(e.name);
    expect(plain).toEqual([`${rel(root)}/sub`, `${rel(root)}/sub/deeper`, `${rel(root)}/sub/deeper/b.bin`]);
    // Two base names alike are fine when the paths differ; a PATH inside another is not.
    mkdirSync(join(base, 'other', 'tree'), { recursive: true });
    const both: string[] = [];
    for await (const e of walk([join(root, 'a.txt'), join(base, 'other', 'tree')], { relative: true, threadPoolOnly })) both.push(e.name);
    expect(both).toEqual([`${rel(root)}/a.txt`, `${rel(base)}/other/tree`]);
    await expect(collectWith([root, join(root, 'sub', 'deeper')], { relative: true })).rejects.toThrow(`${join(root, 'sub', 'deeper')} is inside ${root}, which is sent whole`);
    await expect(collectWith([join(root, 'sub', 'deeper'), root], { relative: true })).rejects.toThrow('is inside');
    await expect(collectWith([root, `${root}/`], { relative: true })).rejects.toThrow('would both be sent as');
  });

  it('listed (--files-from): each path alone, a directory without its contents, taken as tree entries are; repeats once', async () => {
    const { root, base } = makeTree();
    const rel = (p: string): string => p.slice(1);
    const listed = [join(root, 'sub'), join(root, 'sub', 'deeper', 'b.bin'), join(root, 'a.txt'), join(root, 'link-dir'), join(root, 'fifo'), join(root, 'gone'), join(root, 'a.txt'), join(root, 'empty')];
    const failed: string[] = [];
    const warnings: WalkWarning[] = [];
    const names: Array<[string, string]> = [];
    for await (const e of walk([], { listed, under: 'in', exclude: compileExcludes(['empty']), onWarning: (w) => warnings.push(w), onUnsendable: (_p, n, err) => failed.push(`${n} ${err.code}`), threadPoolOnly })) names.push([e.kind, e.name]);
    expect(names).toEqual([['dir', `in/${rel(root)}/sub`], ['file', `in/${rel(root)}/sub/deeper/b.bin`], ['file', `in/${rel(root)}/a.txt`]]);
    expect(failed).toEqual([`in/${rel(root)}/gone E_NOT_FOUND`]);
    expect(warnings.map((w) => w.reason)).toEqual(['symlink', 'special']);
    // Followed when asked, as inside a tree: the directory alone.
    const followed: string[] = [];
    const dangling: WalkWarning[] = [];
    for await (const e of walk([], { listed: [join(root, 'link-dir'), join(root, 'dangling')], followSymlinks: true, onWarning: (w) => dangling.push(w), threadPoolOnly })) followed.push(`${e.kind} ${e.name}`);
    expect(followed).toEqual([`dir ${rel(root)}/link-dir`]);
    expect(dangling.map((w) => w.reason)).toEqual(['dangling_symlink']);
    // After the PATHs; one inside a PATH, or equal to one, would go twice.
    const mixed: string[] = [];
    for await (const e of walk([join(base, 'outside')], { relative: true, listed: [join(root, 'a.txt')], threadPoolOnly })) mixed.push(e.name);
    expect(mixed).toEqual([`${rel(base)}/outside`, `${rel(base)}/outside/o.txt`, `${rel(root)}/a.txt`]);
    await expect(collectWith([root], { relative: true, listed: [join(root, 'sub', 'deeper', 'b.bin')] })).rejects.toThrow(`${join(root, 'sub', 'deeper', 'b.bin')} is inside ${root}, which is sent whole`);
    await expect(collectWith([root], { relative: true, listed: [root] })).rejects.toThrow(`${root} is also ${root}, which is sent whole`);
  });

  it('a PATH whose own name the receiver would refuse is a usage error before anything starts', async () => {
    const base = tmpDir();
    mkdirSync(join(base, 'd\nd'));
    writeFileSync(join(base, 'f\x7f'), 'x');
    writeFileSync(join(base, 'fine'), 'x');
    for (const p of [join(base, 'd\nd'), join(base, 'f\x7f')]) {
      const why = await unsendablePath(p, statSync(p));
      expect(why?.code).toBe('E_USAGE');
      expect(why?.message).toMatch(/cannot be sent: control characters are not allowed$/);
    }
    expect(await unsendablePath(join(base, 'fine'), statSync(join(base, 'fine')))).toBeNull();
    await expect(collect([join(base, 'd\nd')])).rejects.toSatisfy((e) => isWraithError(e, 'E_PATH_INVALID'));
  });
});

describe('a tree that grows while it is walked', () => {
  it('bornBefore leaves out files and directories created after it (local file systems)', async () => {
    const base = tmpDir();
    const root = join(base, 'tree');
    mkdirSync(join(root, 'old-dir'), { recursive: true });
    writeFileSync(join(root, 'old.txt'), 'old');
    await new Promise((r) => setTimeout(r, 30));
    const cutoff = Date.now();
    await new Promise((r) => setTimeout(r, 30));
    writeFileSync(join(root, 'new.txt'), 'new');
    writeFileSync(join(root, 'old-dir', 'new-in-old.txt'), 'new');
    mkdirSync(join(root, 'new-dir'));
    writeFileSync(join(root, 'new-dir', 'inside.txt'), 'new');
    writeFileSync(join(root, 'old.txt'), 'changed'); // changed, not new: still sent
    const warned: string[] = [];
    const names = async (bornBefore?: number): Promise<string[]> => {
      const out: string[] = [];
      const onWarning = (w: WalkWarning): number => warned.push(`${w.reason}:${w.path}`);
      for await (const e of walk([root], bornBefore === undefined ? { onWarning } : { bornBefore, onWarning })) out.push(e.name);
      return out;
    };
    expect(await names(cutoff)).toEqual(['tree', 'tree/old-dir', 'tree/old.txt']);
    expect(warned.sort()).toEqual([`new:${join(root, 'new-dir')}`, `new:${join(root, 'new.txt')}`, `new:${join(root, 'old-dir', 'new-in-old.txt')}`]);
    warned.length = 0;
    expect(await names()).toEqual(['tree', 'tree/new-dir', 'tree/new-dir/inside.txt', 'tree/new.txt', 'tree/old-dir', 'tree/old-dir/new-in-old.txt', 'tree/old.txt']);
    expect(warned).toEqual([]);
  });
});

describe('unreadable directories', () => {
  // Root reads everything: the walk runs as nobody in a child process, over the built module.
  itIf(IS_ROOT ? null : 'needs root (setpriv to nobody)', 'one below a PATH is reported through onUnsendable and skipped; the walk goes on', () => {
    const base = tmpDir();
    const root = join(base, 'tree');
    mkdirSync(join(root, 'locked'), { recursive: true });
    mkdirSync(join(root, 'open'));
    mkdirSync(join(root, 'listable'));
    writeFileSync(join(root, 'listable', 'x'), 'x');
    writeFileSync(join(root, 'locked', 'secret'), 's');
    writeFileSync(join(root, 'open', 'f'), 'f');
    writeFileSync(join(root, 'z'), 'z');
    execFileSync('chown', ['-R', 'nobody', base]);
    chmodSync(join(root, 'locked'), 0o000);
    chmodSync(join(root, 'listable'), 0o444); // names can be read, entries not looked up
    const walkJs = pathToFileURL(join(REPO_ROOT, 'packages', 'wraith', 'dist', 'walk.js')).href;
    const script = `
      const { walk } = await import(${JSON.stringify(walkJs)});
      const out = { names: [], unreadable: [], threw: null };
      for await (const e of walk([${JSON.stringify(root)}], { onUnsendable: (dir, name, err) => out.unreadable.push([name, err.code, err.message]) })) out.names.push(e.name);
      try { for await (const e of walk([${JSON.stringify(root)}])) void e; } catch (e) { out.threw = e.code; }
      console.log(JSON.stringify(out));`;
    const got = JSON.parse(execFileSync('setpriv', ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' })) as {
      names: string[]; unreadable: Array<[string, string, string]>; threw: string | null;
    };
    expect(got.names).toEqual(['tree', 'tree/listable', 'tree/locked', 'tree/open', 'tree/open/f', 'tree/z']);
    expect(got.unreadable).toEqual([
      ['tree/listable/x', 'E_PERMISSION', `lstat(${join(root, 'listable', 'x')}): permission denied`],
      ['tree/locked/', 'E_PERMISSION', `opendir(${join(root, 'locked')}): permission denied`],
    ]);
    expect(got.threw).toBe('E_PERMISSION');
  });
});

describe('paths longer than PATH_MAX', () => {
  it('an entry too deep to look up is reported through onUnsendable and skipped; the walk goes on', async () => {
    const root = join(tmpDir(), 'deep');
    // 70 levels of 61 bytes: past PATH_MAX (4096) for the absolute path before the 4096-byte name limit.
    mkdirSync(root);
    const cwd = process.cwd();
    try {
      process.chdir(root);
      for (let i = 0; i < 70; i++) {
        mkdirSync('d'.repeat(60));
        process.chdir('d'.repeat(60));
      }
      writeFileSync('leaf', 'x');
    } finally {
      process.chdir(cwd);
    }
    writeFileSync(join(root, 'z'), 'z');
    const unreadable: Array<[string, string, string]> = [];
    const names: string[] = [];
    try {
      for await (const e of walk([root], { onUnsendable: (_p, name, err) => unreadable.push([name, err.code, err.message]) })) names.push(e.name);
    } finally {
      execFileSync('rm', ['-rf', root]); // rm(1) goes down relative to each directory; fs.rm hits ENAMETOOLONG
    }
    expect(names.at(-1)).toBe('deep/z');
    expect(names.length).toBeGreaterThan(60);
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0]![1]).toBe('E_IO');
    expect(unreadable[0]![2]).toMatch(/: the path is longer than this system allows \(ENAMETOOLONG\)$/);
    expect(unreadable[0]![2].split('deep/').length).toBe(2); // the path once, not twice
  });
});

describe('kernel pseudo file systems', () => {
  it('skips files and directories on procfs and sysfs with a warning that says why, also behind a followed symlink', async () => {
    const base = tmpDir();
    const tree = join(base, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'real'), 'x');
    symlinkSync('/proc/version', join(tree, 'version'));
    const { entries, warnings } = await collect(['/proc/cpuinfo', '/sys/kernel', tree], true);
    expect(entries.map((e) => e.name)).toEqual(['tree', 'tree/real']);
    expect(warnings.map((w) => [w.path, w.reason])).toEqual([
      ['/proc/cpuinfo', 'special'],
      ['/sys/kernel', 'special'],
      [join(tree, 'version'), 'special'],
    ]);
    expect(warnings[0]!.message).toMatch(/on procfs, whose files have no fixed size: skipped \(copy it to a regular file first\)/);
    expect(warnings[1]!.message).toMatch(/on sysfs, .*skipped with its contents/);
  });
});

describe('source change check', () => {
  it('passes when nothing changed and names what changed otherwise', async () => {
    const dir = tmpDir();
    const p = join(dir, 'f');
    writeFileSync(p, 'abc');
    const fh = await open(p, 'r');
    try {
      const before = snapshotFd(fh.fd);
      expect(() => assertUnchanged(p, before, before)).not.toThrow();
      writeFileSync(p, 'abcdef');
      const after = snapshotFd(fh.fd);
      try {
        assertUnchanged(p, before, after);
        expect.unreachable();
      } catch (e) {
        expect(isWraithError(e, 'E_SOURCE_CHANGED')).toBe(true);
        expect((e as Error).message).toMatch(/size went from 3 to 6/);
      }
      expect(() => assertUnchanged(p, before, { ...before, ino: before.ino + 1 })).toThrow(/replaced/);
      expect(() => assertUnchanged(p, before, { ...before, mtimeMs: before.mtimeMs + 1 })).toThrow(/modified/);
    } finally {
      await fh.close();
    }
  });
});

describe('rootName', () => {
  it('the base name, or with relative the path given less a leading "/" and "./"', () => {
    expect(rootName('./logs/a.gz', false)).toBe('a.gz');
    expect(rootName('./logs/a.gz', true)).toBe('logs/a.gz');
    expect(rootName('/var/log/a.gz', true)).toBe('var/log/a.gz');
    expect(rootName('data//set/', true)).toBe('data/set');
    expect(rootName('a/./b/../c', true)).toBe('a/c');
    for (const [p, msg] of [['/', 'cannot send "/" itself'], ['.', 'has no name to send it as'], ['./', 'has no name'], ['a/..', 'has no name'], ['../x', 'would be named through ".."'], ['a/../../x', 'through ".."']] as const) {
      expect(() => rootName(p, true), p).toThrow(msg);
      try {
        rootName(p, true);
      } catch (e) {
        expect(isWraithError(e, 'E_USAGE')).toBe(true);
      }
    }
    expect(() => rootName('/', false)).toThrow('cannot send "/" itself');
  });
});
