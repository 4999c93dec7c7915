import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { REPO_ROOT } from '../../../test/support/prereq.js';
import type { CliIo } from '../src/cli/context.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the file's tests. */
export function tmpDir(prefix = 'wraith-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export class MemStream {
  text = '';
  isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
  lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}

export function memIo(env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): CliIo & { stdout: MemStream; stderr: MemStream; logs: MemStream } {
  const logs = new MemStream();
  return { stdout: new MemStream(), stderr: new MemStream(), logs, logStream: logs, env, cwd, handleSignals: false };
}

const PKG = join(REPO_ROOT, 'packages', 'wraith');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** For tests of bin/wraith.js (it runs dist/): `tsc -b packages/wraith` when dist/ is older than src/. */
export function buildCliIfStale(): void {
  const buildInfo = join(PKG, 'dist', '.tsbuildinfo');
  const stale = !existsSync(buildInfo) || statSync(buildInfo).mtimeMs < newestSource(join(PKG, 'src'));
  if (!stale) return;
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', 'packages/wraith'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (!existsSync(join(PKG, 'dist', 'cli.js'))) throw new Error(`tsc -b packages/wraith emitted nothing:\n${r.stdout}${r.stderr}`);
  if (r.status !== 0) console.warn(`tsc -b packages/wraith reported errors; testing what it emitted:\n${r.stdout}`);
}
