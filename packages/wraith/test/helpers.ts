import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { buildIfStale, bundleCliIfStale } from '../../../test/support/build.js';
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

/**
 * For tests of bin/wraith.js (it runs dist/, from the bundle when that is current): `tsc -b
 * packages/wraith` when dist/ is older than src/, then the bundle when it is older than a build.
 */
export function buildCliIfStale(): void {
  buildIfStale('wraith', { emitted: 'cli.js' });
  bundleCliIfStale();
}
