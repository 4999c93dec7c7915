/** Tests that run a package's dist/ rebuild it first when it is older than its src/. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './prereq.js';
import { bundleIsCurrent } from '../../packages/wraith/bin/bundle-state.js'; // bin/wraith.js's own check

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * `tsc -b packages/<target>` when the dist/ of any of `watched` (default: the target) is older
 * than its src/. A failed build throws, unless `emitted` (a path under the target's dist/) exists:
 * then its errors are printed and the tests run on what it emitted.
 */
export function buildIfStale(target: string, opts: { watched?: readonly string[]; emitted?: string } = {}): void {
  const stale = (opts.watched ?? [target]).some((p) => {
    const info = join(REPO_ROOT, 'packages', p, 'dist', '.tsbuildinfo');
    return !existsSync(info) || statSync(info).mtimeMs < newestMtime(join(REPO_ROOT, 'packages', p, 'src'));
  });
  if (!stale) return;
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', `packages/${target}`], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status === 0) return;
  if (opts.emitted === undefined) throw new Error(`tsc -b packages/${target} failed:\n${r.stdout}${r.stderr}`);
  if (!existsSync(join(REPO_ROOT, 'packages', target, 'dist', opts.emitted))) {
    throw new Error(`tsc -b packages/${target} emitted nothing:\n${r.stdout}${r.stderr}`);
  }
  console.warn(`tsc -b packages/${target} reported errors; testing what it emitted:\n${r.stdout}`);
}

/** `node scripts/bundle-cli.mjs` unless the bundle is current. */
export function bundleCliIfStale(): void {
  if (bundleIsCurrent()) return;
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'bundle-cli.mjs')], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/bundle-cli.mjs failed:\n${r.stdout}${r.stderr}`);
}
