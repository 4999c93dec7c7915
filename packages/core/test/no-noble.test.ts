/**
 * Importing `@wraith/core` must not load @noble/* (~30-40 ms of every command's start-up, for
 * code node:crypto and the native/wasm BLAKE3 leave unused): the reference implementations live
 * behind `@wraith/core/noble` and load only when selected. A child process runs the built
 * packages (dist/, as bin/wraith.js does) and records every module it resolves through the
 * CLI start-up test's recorder.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale } from '../../../test/support/build.js';
import { REPO_ROOT } from '../../../test/support/prereq.js';

const RECORDER = join(REPO_ROOT, 'packages', 'wraith', 'test', 'fixtures', 'record-modules.mjs');
const NOBLE = /\/node_modules\/@noble\//;
// Made when the tests run, not when the file is collected (`vitest list` runs no afterAll).
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wraith-no-noble-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `tsc -b packages/blake3` (which builds core too) when either dist/ is older than its src/. */
beforeAll(() => buildIfStale('blake3', { watched: ['core', 'blake3'] }), 180_000);

let runs = 0;
/** Runs `script` (an ES module, from the repository root) and returns its stdout and every module URL it loaded. */
function loadedBy(script: string): { out: string; modules: string[] } {
  const file = join(dir, `modules-${runs++}.txt`);
  const r = spawnSync(process.execPath, ['--import', RECORDER, '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    // A clean environment (no NODE_OPTIONS from the runner), keeping the fallback pass's switch.
    env: { PATH: process.env.PATH, RECORD_MODULES: file, ...(process.env.WRAITH_NO_NATIVE ? { WRAITH_NO_NATIVE: process.env.WRAITH_NO_NATIVE } : {}) },
  });
  if (r.status !== 0) throw new Error(`child exited ${r.status}:\n${r.stdout}${r.stderr}`);
  const modules = [...new Set(readFileSync(file, 'utf8').split('\n').filter((l) => l !== ''))];
  expect(modules.some((m) => m.endsWith('/packages/core/dist/index.js'))).toBe(true); // the recorder works, on dist/
  return { out: r.stdout, modules };
}

describe('@wraith/core loads @noble/* only when selected', () => {
  it("import '@wraith/core' loads no @noble module", () => {
    const { modules } = loadedBy(`import '@wraith/core';`);
    expect(modules.filter((m) => NOBLE.test(m))).toEqual([]);
  });

  it('selecting node:crypto and the default BLAKE3 (what a node does at start-up) loads none either', () => {
    const { out, modules } = loadedBy(
      [
        `import { loadBackend, selectBackend } from '@wraith/core';`,
        `import { loadBlake3Async } from '@wraith/blake3';`,
        `const a = selectBackend('auto'), b = await loadBackend('auto'), c = await loadBackend('node');`,
        `const h = await loadBlake3Async('auto');`,
        `console.log(JSON.stringify({ backends: [a.name, b.name, c.name], hasher: h.name }));`,
      ].join('\n'),
    );
    const r = JSON.parse(out) as { backends: string[]; hasher: string };
    expect(r.backends).toEqual(['node', 'node', 'node']);
    // Only a machine with neither native nor wasm BLAKE3 falls back to the reference.
    if (r.hasher !== 'noble') expect(modules.filter((m) => NOBLE.test(m))).toEqual([]);
  });

  it("loadBackend('noble') does load it (so the checks above can see @noble modules)", () => {
    const { out, modules } = loadedBy(`import { loadBackend } from '@wraith/core';\nconsole.log((await loadBackend('noble')).name);`);
    expect(out.trim()).toBe('noble');
    expect(modules.some((m) => /\/node_modules\/@noble\/curves\//.test(m))).toBe(true);
    expect(modules.some((m) => m.endsWith('/packages/core/dist/crypto/backend-noble.js'))).toBe(true);
  });
});
