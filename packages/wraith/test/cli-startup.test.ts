/**
 * Start-up cost of the CLI: commands register without loading their handlers, so `--version`
 * and help load none of the heavy packages (each costs 10-60 ms of import time, and `wraith send`
 * is on the critical path of every transfer), from the modules and from the bundle (whose
 * chunks keep those imports lazy). A child process records what it loads through
 * fixtures/record-modules.mjs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../test/support/prereq.js';
import { exitCodeTable } from '../src/cli/help.js';
import { buildCliIfStale, tmpDir } from './helpers.js';

const BIN = join(REPO_ROOT, 'packages', 'wraith', 'bin', 'wraith.js');
const RECORDER = join(REPO_ROOT, 'packages', 'wraith', 'test', 'fixtures', 'record-modules.mjs');

// @wraith/core counts: its index loads the whole engine (no longer @noble/*, which loads only
// when selected: packages/core/test/no-noble.test.ts). Its errors module alone (no imports;
// help prints its exit codes) does not.
const HEAVY = /^(@sinclair\/typebox|prom-client|pino|fastify|cli-progress|@noble\/.*|@wraith\/core)$/;

function packageOf(url: string): string | null {
  if (url.endsWith('/packages/core/dist/errors.js')) return '@wraith/core/errors';
  if (url.includes('/packages/core/')) return '@wraith/core'; // a workspace package: its real path
  return /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? null;
}

beforeAll(buildCliIfStale, 180_000);

async function loadedBy(args: string[], entry: 'bundle' | 'modules'): Promise<{ code: number | null; out: string; modules: string[] }> {
  const file = join(tmpDir(), 'modules.txt');
  const child = spawn(process.execPath, ['--import', RECORDER, BIN, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: tmpDir(), RECORD_MODULES: file, ...(entry === 'modules' ? { WRAITH_NO_BUNDLE: '1' } : {}) },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out, modules: [...new Set(readFileSync(file, 'utf8').split('\n').filter((l) => l !== ''))] };
}

const CASES: Array<[string[], RegExp]> = [
  [['--version'], /^wraith \S+\nprotocol 1\n/],
  [['--help'], /^Usage: wraith /],
  [['help', 'send'], /^Usage: wraith send /],
  [['send', '--help'], /^Usage: wraith send /],
];

describe('CLI start-up', () => {
  it.each(CASES)('%j loads none of the heavy packages (modules)', async (args, output) => {
    const r = await loadedBy(args, 'modules');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(output);
    expect(r.modules.some((m) => m.endsWith('/packages/wraith/dist/cli.js'))).toBe(true); // the recorder works
    expect([...new Set(r.modules.map(packageOf))].filter((p) => p !== null && HEAVY.test(p))).toEqual([]);
  });

  // In the bundle the workspace packages are chunks, not modules: what stays visible is that
  // the bundle ran and that no heavy third-party package was imported.
  it.each(CASES)('%j loads none of the heavy packages (bundle)', async (args, output) => {
    const r = await loadedBy(args, 'bundle');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(output);
    expect(r.modules.some((m) => m.endsWith('/packages/wraith/dist/bundle/cli.js'))).toBe(true);
    expect(r.modules.some((m) => m.endsWith('/packages/wraith/dist/cli.js'))).toBe(false);
    expect([...new Set(r.modules.map(packageOf))].filter((p) => p !== null && HEAVY.test(p))).toEqual([]);
  });

  it('--version says which one ran', async () => {
    expect((await loadedBy(['--version'], 'bundle')).out).toMatch(/\ncli: bundle /);
    expect((await loadedBy(['--version'], 'modules')).out).toMatch(/\ncli: modules /);
  });

  it('help prints the exit codes of @wraith/core', () => {
    expect(exitCodeTable()).toMatch(/^ +6 {2}transfer refused/m);
    expect(exitCodeTable()).toMatch(/^ +130 {2}cancelled/m);
  });
});
