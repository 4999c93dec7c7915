// bench/lib/args.mjs: the benchmarks' shared command-line parser. The scripts run here only as
// far as their argument handling (--help, a bad option): nothing is measured, nothing needs root
// or a build.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/prereq.js';
// Plain JavaScript (the benchmarks run without a build); test/ is not type-checked.
import { benchArgs, headerComment } from '../../bench/lib/args.mjs';

const script = (name: string) => join(REPO_ROOT, 'bench', name);
const IO = pathToFileURL(script('io.mjs')).href;
const SPEC = { runs: 3, 'size-mib': 256, burst: '32kbit', only: null, 'no-direct': false };

function run(name: string, args: string[]) {
  const r = spawnSync(process.execPath, [script(name), ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('benchArgs', () => {
  it('gives the defaults, camel-cased, in the order declared', () => {
    const o = benchArgs(IO, SPEC, { argv: [] });
    expect(Object.entries(o)).toEqual([
      ['runs', 3],
      ['sizeMib', 256],
      ['burst', '32kbit'],
      ['only', null],
      ['noDirect', false],
    ]);
  });

  it('reads values and switches, numbers as numbers, in either --flag V or --flag=V form', () => {
    const o = benchArgs(IO, SPEC, { argv: ['--size-mib', '32', '--runs=1', '--burst', '64kbit', '--only', 'a,b', '--no-direct'] });
    expect(o).toEqual({ runs: 1, sizeMib: 32, burst: '64kbit', only: 'a,b', noDirect: true });
  });

  it('takes the usage from the leading comment block when none is given', () => {
    const text = headerComment(pathToFileURL(script('fairness.mjs')).href);
    expect(text.split('\n')[0]).toMatch(/^Fairness of wraith/);
    expect(text).toContain('--congestion bbr|cubic');
    expect(text).not.toContain('--- setup');
  });
});

describe('the benchmarks through benchArgs', () => {
  it('prints a given usage for --help and -h, and exits 0', () => {
    for (const flag of ['--help', '-h']) {
      const r = run('xdp.mjs', [flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: npx tsc -b && node bench\/xdp\.mjs \[--runs N\]/);
    }
  });

  it('refuses an unknown option with exit 2, naming it and listing the options', () => {
    const r = run('io.mjs', ['--size-mib', '32', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bench/io.mjs: unknown option '--bogus'");
    expect(r.stderr).toContain('--size-mib --chunk-kib --depth --runs --dir --no-direct --json --help');
  });

  it('refuses a missing value, a stray argument and a number that does not parse', () => {
    expect(run('fairness.mjs', ['--runs']).stderr).toContain("Option '--runs <value>' argument missing");
    expect(run('fairness.mjs', ['stray']).stderr).toContain("Unexpected argument 'stray'");
    const r = run('fairness.mjs', ['--rate-mbit', 'fast']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bench/fairness.mjs: --rate-mbit: 'fast' is not a number");
  });
});
