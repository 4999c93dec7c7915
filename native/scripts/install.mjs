// Builds the addon with npm's bundled node-gyp, offline, against the installed
// Node headers. A failed build never fails installation unless
// WRAITH_REQUIRE_NATIVE=1; the reason is kept for logs and `wraith doctor`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const reasonFile = join(root, 'build-status.json');
const require = createRequire(import.meta.url);
const requireNative = process.env.WRAITH_REQUIRE_NATIVE === '1';

function fail(reason) {
  writeFileSync(reasonFile, JSON.stringify({ ok: false, reason }) + '\n');
  if (requireNative) {
    console.error(`wraith native addon: ${reason}`);
    process.exit(1);
  }
  console.warn(`wraith native addon not built (${reason}); JavaScript fallbacks will be used`);
  process.exit(0);
}

if (process.env.WRAITH_NO_NATIVE === '1' && !requireNative) fail('WRAITH_NO_NATIVE=1');
if (process.platform !== 'linux') fail(`platform ${process.platform} is not Linux`);

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  return candidates.find((p) => p && existsSync(p));
}

// One build at a time per checkout: concurrent builds in one build/ directory
// corrupt each other. A lock directory older than ten minutes is stale.
const lockDir = join(tmpdir(), `wraith-native-build-${createHash('sha256').update(root).digest('hex').slice(0, 16)}.lock`);
function lock() {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(lockDir);
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 600_000) rmSync(lockDir, { recursive: true, force: true });
      } catch {}
      Atomics.wait(sleeper, 0, 0, 200);
    }
  }
}
const unlock = () => rmSync(lockDir, { recursive: true, force: true });

const gyp = findNodeGyp();
if (!gyp) fail('node-gyp not found (it ships with npm)');
const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
const extra = nodedir ? [`--nodedir=${nodedir}`] : [];
// configure + build rather than rebuild: build/ is not wiped, so a process
// loading the addon meanwhile still finds the previous one, and make rebuilds
// only what changed (configure re-lists the sources every time).
lock();
let r;
try {
  rmSync(reasonFile, { force: true });
  r = spawnSync(process.execPath, [gyp, 'configure', ...extra], { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status === 0) {
    r = spawnSync(process.execPath, [gyp, 'build', '--jobs=max', ...extra], { cwd: root, stdio: 'inherit', env: process.env });
  }
} finally {
  unlock();
}
if (r.status !== 0) fail(`node-gyp build exited with ${r.status ?? r.signal}`);

const built = join(root, 'build', 'Release', 'wraith_native.node');
// Load it in a child: an unresolved symbol is fatal to the process that hits
// it (lazy binding), and this script must still record the reason.
const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(built)})`], {
  encoding: 'utf8',
  env: { ...process.env, WRAITH_NO_NATIVE: '' },
});
if (probe.status !== 0) {
  const why = (probe.stderr || '').trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit ${probe.status ?? probe.signal}`;
  fail(`built addon does not load: ${why}`);
}
mkdirSync(join(root, 'build'), { recursive: true });
writeFileSync(reasonFile, JSON.stringify({ ok: true }) + '\n');
