// `wraith send --dry-run`: the walk a send would make, listed, with nothing dialled or read.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dryRun } from '../src/cli/dry-run.js';
import type { CliState } from '../src/cli/context.js';
import { compileExcludes } from '../src/exclude.js';
import { memIo, tmpDir } from './helpers.js';

function tree(): string {
  const root = join(tmpDir(), 'set');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'a.bin'), Buffer.alloc(3000));
  writeFileSync(join(root, 'sub', 'x.tmp'), 'x');
  writeFileSync(join(root, 'bad\u0001name'), 'x');
  execFileSync('mkfifo', [join(root, 'pipe')]);
  return root;
}

const state = (json: boolean): CliState => ({ json, transferId: null, exitCode: 0, working: false });

describe('dryRun', () => {
  it('lists names on stdout; warnings, errors and the total on stderr; the exit code of the first error', async () => {
    const root = tree();
    const io = memIo();
    const st = state(false);
    await dryRun([root], { followSymlinks: false, exclude: compileExcludes(['*.tmp']), peer: 'P', quiet: false }, io, st);
    expect(io.stdout.lines()).toEqual(['set/', 'set/a.bin', 'set/sub/']);
    expect(io.stderr.text).toContain('error[E_PATH_INVALID]: ');
    expect(io.stderr.text).toContain('pipe is a FIFO: skipped');
    expect(io.stderr.lines().at(-1)).toBe('dry run: 1 file (2.93 KiB) and 2 directories would be sent to P; 1 entry could not be sent (above); nothing was sent');
    expect(st.exitCode).toBe(6);
  });

  it('NDJSON: a file event per entry (status would_send) and a dry_run total; quiet keeps only problems', async () => {
    const root = tree();
    const io = memIo();
    await dryRun([root], { followSymlinks: false, dest: 'in', peer: 'P', quiet: false }, io, state(true));
    const ev = io.stdout.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ev.filter((e) => e['type'] === 'file').map((e) => [e['name'], e['kind'], e['bytes'], e['status']])).toEqual([
      ['in/set', 'dir', 0, 'would_send'],
      ['in/set/a.bin', 'file', 3000, 'would_send'],
      ['in/set/sub', 'dir', 0, 'would_send'],
      ['in/set/sub/x.tmp', 'file', 1, 'would_send'],
    ]);
    expect(ev.at(-1)).toMatchObject({ type: 'dry_run', files: 2, dirs: 2, bytes: 3001, errors: 1 });
    const quiet = memIo();
    await dryRun([join(root, 'sub')], { followSymlinks: false, peer: 'P', quiet: true }, quiet, state(false));
    expect(quiet.stderr.text).toBe('');
    expect(quiet.stdout.lines()).toEqual(['sub/', 'sub/x.tmp']);
  });
});
