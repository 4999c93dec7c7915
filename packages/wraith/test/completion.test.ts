// `wraith completion bash`: the script is run by bash here, on command lines as a user types them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { buildCliIfStale, memIo, tmpDir } from './helpers.js';

const BIN = join(__dirname, '..', 'bin', 'wraith.js');
const ID = 'ab'.repeat(32);
let script = '';
let dir = '';

beforeAll(async () => {
  buildCliIfStale();
  const io = memIo();
  expect(await main(['completion', 'bash'], io)).toBe(0);
  dir = tmpDir();
  script = join(dir, 'wraith.bash');
  writeFileSync(script, io.stdout.text);
  mkdirSync(join(dir, 'home'), { mode: 0o700 });
  writeFileSync(join(dir, 'home', 'config.toml'), `[peers.backup]\nid = "${ID}"\naddr = "127.0.0.1:40000"\n[peers.archive]\nid = "${ID}"\n`);
  mkdirSync(join(dir, 'work', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'work', 'a file.txt'), '');
  writeFileSync(join(dir, 'work', 'b.bin'), '');
}, 120_000);

/** What bash offers for `words` (the last one being completed), sorted. */
function complete(...words: string[]): string[] {
  const driver = `source ${JSON.stringify(script)}
wraith() { ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"; }
COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
_wraith_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['-c', driver, 'driver', 'wraith', ...words], { cwd: join(dir, 'work'), encoding: 'utf8', env: { PATH: process.env['PATH'], HOME: dir } });
  return out.split('\n').filter((l) => l !== '').sort();
}

describe('wraith completion bash', () => {
  it('completes commands, subcommands and each command\'s own flags, config flags included', () => {
    expect(complete('se')).toEqual(['send']);
    expect(complete('')).toEqual(expect.arrayContaining(['send', 'daemon', 'hash', 'config', 'doctor', 'completion', 'help']));
    expect(complete('config', '')).toEqual(['check', 'show']);
    expect(complete('help', 'd')).toEqual(['daemon', 'demo', 'doctor']);
    expect(complete('hash', '--ch')).toEqual(['--check', '--chunk-size']);
    expect(complete('send', '--dry')).toEqual(['--dry-run']);
    expect(complete('daemon', '--on-')).toEqual(['--on-conflict']);
    expect(complete('status', '--')).toEqual(['--help', '--home', '--json']);
  });

  it('completes flag values by kind: listed values, directories, files, interfaces; none for free text', () => {
    expect(complete('daemon', '--on-conflict', 'r')).toEqual(['refuse', 'rename']);
    expect(complete('send', '--to', 'x', '--log-level', 'de')).toEqual(['debug']);
    expect(complete('daemon', '--output', '')).toEqual(['sub']);
    expect(complete('send', '--exclude-from', '')).toEqual(['a file.txt', 'b.bin', 'sub']);
    expect(complete('doctor', '--interface', 'l')).toEqual(['lo']);
    expect(complete('send', '--rate', '')).toEqual([]);
    // --dest names a directory on the receiver: nothing here to offer.
    expect(complete('send', '--dest', '')).toEqual([]);
  });

  it('a flag\'s value is not taken for a command, and PATHs are files', () => {
    expect(complete('--home', 'config', '')).toEqual(expect.arrayContaining(['send', 'config']));
    expect(complete('send', '--to', 'backup', '')).toEqual(['a file.txt', 'b.bin', 'sub']);
    expect(complete('send', '-n', '--rate', '10M', 'a')).toEqual(['a file.txt']);
    expect(complete('status', '')).toEqual([]);
  });

  it('--to offers the [peers.NAME] names of the config the line names (--home, --config)', () => {
    const home = join(dir, 'home');
    expect(complete('--home', home, 'send', '--to', '')).toEqual(['archive', 'backup']);
    expect(complete('send', '--home', home, 'f', '--to', 'b')).toEqual(['backup']);
    writeFileSync(join(dir, 'other.toml'), `[peers.elsewhere]\nid = "${ID}"\naddr = "127.0.0.1:40000"\n`);
    expect(complete('send', '--home', home, '--config', join(dir, 'other.toml'), '--to', '')).toEqual(['elsewhere']);
    // A home without a config: no names, and nothing printed into the line.
    expect(complete('--home', join(dir, 'nowhere'), 'send', '--to', '')).toEqual([]);
  });

  it('other shells are a usage error', async () => {
    const io = memIo();
    expect(await main(['completion', 'fish'], io)).toBe(2);
    expect(io.stderr.text).toContain('only bash is supported');
  });
});
