// `wraith hash --check`: the files a list names, hashed again below the current directory and
// compared with the listed roots, through the command as a user runs it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { memIo, tmpDir } from './helpers.js';

async function run(argv: string[], cwd: string, stdin?: string) {
  const io = { ...memIo({}, cwd), ...(stdin !== undefined ? { stdin: [Buffer.from(stdin)] } : {}) };
  const code = await main(['--home', join(cwd, '.home'), ...argv], io);
  return { code, out: io.stdout.lines(), err: io.stderr.text };
}

/** src/data (a 3-chunk file at 256 KiB, a small one, a name shown escaped) and an identical copy in dst/. */
function trees(): { src: string; dst: string } {
  const base = tmpDir();
  const src = join(base, 'src');
  const dst = join(base, 'dst');
  mkdirSync(join(src, 'data', 'sub'), { recursive: true });
  writeFileSync(join(src, 'data', 'big'), randomBytes(600_000));
  writeFileSync(join(src, 'data', 'sub', 'a.txt'), 'hello\n');
  writeFileSync(join(src, 'data', 'sub', 'bi\u202edi'), 'x');
  mkdirSync(dst);
  cpSync(join(src, 'data'), join(dst, 'data'), { recursive: true });
  return { src, dst };
}

describe('wraith hash --check', () => {
  it('an identical copy is OK line by line (exit 0); a changed file FAILED (exit 6), a missing one FAILED open or read (exit 7)', async () => {
    const { src, dst } = trees();
    const listed = await run(['hash', join(src, 'data')], src);
    expect(listed.code).toBe(0);
    writeFileSync(join(src, 'list'), listed.out.join('\n'));
    const ok = await run(['hash', '--check', join(src, 'list')], dst);
    expect(ok).toMatchObject({ code: 0, err: '' });
    expect(ok.out).toEqual(['data/big: OK', 'data/sub/a.txt: OK', 'data/sub/bi\\u{202e}di: OK']);

    appendFileSync(join(dst, 'data', 'big'), 'z');
    const changed = await run(['hash', '-c', join(src, 'list')], dst);
    expect(changed.code).toBe(6);
    expect(changed.out).toEqual(['data/big: FAILED', 'data/sub/a.txt: OK', 'data/sub/bi\\u{202e}di: OK']);
    expect(changed.err).toContain('error[E_HASH_MISMATCH]: 1 of 3 files checked did not match the list');
    expect(changed.err).toContain('another chunk size than 256 KiB');

    rmSync(join(dst, 'data', 'sub', 'a.txt'));
    const missing = await run(['hash', '-c', join(src, 'list')], dst);
    expect(missing.code).toBe(7);
    expect(missing.out).toEqual(['data/big: FAILED', 'data/sub/a.txt: FAILED open or read', 'data/sub/bi\\u{202e}di: OK']);
    expect(missing.err).toMatch(/error\[E_NOT_FOUND\]: .*data\/sub\/a\.txt: no such file or directory/);

    // -q: only what fails; --ignore-missing passes over what is not here.
    const quiet = await run(['hash', '-c', '-q', '--ignore-missing', join(src, 'list')], dst);
    expect(quiet.code).toBe(6);
    expect(quiet.out).toEqual(['data/big: FAILED']);
    expect(quiet.err).not.toContain('E_NOT_FOUND');
    expect(quiet.err).toContain('1 of 2 files checked');
  });

  it('a list of `hash --json` lines is checked at its own chunk size; plain lines at the configured one', async () => {
    const { src, dst } = trees();
    const json = await run(['hash', '--json', '--chunk-size', '64KiB', join(src, 'data')], src);
    const plain = await run(['hash', '--chunk-size', '64KiB', join(src, 'data')], src);
    writeFileSync(join(src, 'list.ndjson'), json.out.join('\n'));
    writeFileSync(join(src, 'list.txt'), plain.out.join('\n'));
    expect((await run(['hash', '-c', join(src, 'list.ndjson')], dst)).code).toBe(0);
    // The 3-chunk file's root depends on the chunk size: at the default 256 KiB it does not match.
    const wrong = await run(['hash', '-c', join(src, 'list.txt')], dst);
    expect(wrong.code).toBe(6);
    expect(wrong.out[0]).toBe('data/big: FAILED');
    expect((await run(['hash', '-c', '--chunk-size', '64KiB', join(src, 'list.txt')], dst)).code).toBe(0);
  });

  it('reads stdin ("-" or no list); --json gives a hash_check line per file and the errors as error lines', async () => {
    const { src, dst } = trees();
    const list = (await run(['hash', join(src, 'data')], src)).out.join('\n');
    expect((await run(['hash', '-c'], dst, list)).out).toHaveLength(3);
    writeFileSync(join(dst, 'data', 'sub', 'a.txt'), 'HELLO\n');
    const r = await run(['hash', '-c', '--json', '-'], dst, list);
    expect(r.code).toBe(6);
    const ev = r.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ev.map((e) => [e['type'], e['name'] ?? e['code'], e['status'] ?? null])).toEqual([
      ['hash_check', 'data/big', 'ok'],
      ['hash_check', 'data/sub/a.txt', 'mismatch'],
      ['hash_check', 'data/sub/bi\u202edi', 'ok'],
      ['error', 'E_HASH_MISMATCH', null],
    ]);
    expect(ev[1]).toMatchObject({ expected: expect.stringMatching(/^[0-9a-f]{64}$/), root: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: 6, list: 'stdin:2' });
    expect(ev[1]!['root']).not.toBe(ev[1]!['expected']);
    expect(ev[0]!['root']).toBe(ev[0]!['expected']);
  });

  it('malformed lines are E_HASH_LIST (exit 2) while the rest is checked; a list with no hash line, or of files none of which is here, fails', async () => {
    const { src, dst } = trees();
    const list = (await run(['hash', join(src, 'data')], src)).out;
    const r = await run(['hash', '-c', '-'], dst, [list[0], 'garbage', list[1]].join('\n'));
    expect(r.code).toBe(2);
    expect(r.out).toEqual(['data/big: OK', 'data/sub/a.txt: OK']);
    expect(r.err).toContain('error[E_HASH_LIST]: stdin:2: not a hash line: garbage');

    const empty = await run(['hash', '-c', '-'], dst, '\n\n');
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('error[E_HASH_LIST]: no hash lines in stdin');

    const elsewhere = await run(['hash', '-c', '--ignore-missing', '-'], src, list.map((l) => l.replace('data/', 'other/')).join('\n'));
    expect(elsewhere.code).toBe(7);
    expect(elsewhere.err).toContain('none of the 3 listed files is here');
    // Without --ignore-missing: an error per file, then the same word on where the check ran.
    const wrongDir = await run(['hash', '-c', '-'], src, list.map((l) => l.replace('data/', 'other/')).join('\n'));
    expect(wrongDir.code).toBe(7);
    expect(wrongDir.out).toHaveLength(3);
    expect(wrongDir.err.match(/error\[E_NOT_FOUND\]/g)).toHaveLength(4);
    expect(wrongDir.err).toMatch(/error\[E_NOT_FOUND\]: none of the 3 listed files is here \(.*\)\n  hint: run the check in the directory the names are relative to/);
  });

  it('a list of 200 000 lines is read whole (its entries once overflowed the stack)', async () => {
    const { src, dst } = trees();
    const one = (await run(['hash', join(src, 'data', 'sub', 'a.txt')], src)).out[0]!;
    const root = one.slice(0, 64);
    const lines = Array.from({ length: 200_000 }, (_, i) => `${root}  gone/${i}`);
    lines.push(`${root}  data/sub/a.txt`);
    writeFileSync(join(src, 'long'), `${lines.join('\n')}\n`);
    const r = await run(['hash', '-c', '--ignore-missing', join(src, 'long')], dst);
    expect(r).toMatchObject({ code: 0, err: '', out: ['data/sub/a.txt: OK'] });
  }, 60_000);

  it('a listed name that is a directory or a FIFO fails alone (the check does not hang on the FIFO)', async () => {
    const { src, dst } = trees();
    const list = (await run(['hash', join(src, 'data')], src)).out;
    rmSync(join(dst, 'data', 'big'));
    execFileSync('mkfifo', [join(dst, 'data', 'big')]);
    rmSync(join(dst, 'data', 'sub'), { recursive: true });
    mkdirSync(join(dst, 'data', 'sub', 'a.txt'), { recursive: true });
    const r = await run(['hash', '-c', '-'], dst, list.join('\n'));
    expect(r.code).toBe(7);
    expect(r.out).toEqual(['data/big: FAILED open or read', 'data/sub/a.txt: FAILED open or read', 'data/sub/bi\\u{202e}di: FAILED open or read']);
    expect(r.err).toContain('data/big is not a regular file');
    expect(r.err).toContain('data/sub/a.txt is not a regular file');
  });

  it('flags of the other mode are usage errors before anything is read', async () => {
    const d = tmpDir();
    for (const [argv, msg] of [
      [['hash', '-c', '--exclude', '*.tmp', 'l'], '--exclude choose what a hash of PATHs walks'],
      [['hash', '-c', '--follow-symlinks', 'l'], '--follow-symlinks choose what'],
      [['hash', '-c', '-R', 'l'], '--relative choose what'],
      [['hash', '-q', 'x'], '--quiet goes with --check'],
      [['hash', '--ignore-missing', 'x'], '--ignore-missing goes with --check'],
      [['hash'], 'give the files or directories to hash'],
    ] as const) {
      const r = await run([...argv], d);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain(msg);
    }
  });
});
