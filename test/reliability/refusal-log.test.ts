/**
 * Anyone can make a key and complete a handshake, so a daemon's refusals of untrusted peers are
 * theirs to cause at will: each cost three log lines (about 720 bytes), which at the handshake
 * budget (1000/s) filled a disk with logs at 2.6 GB an hour, and counted as successful
 * handshakes in the metrics. Now: one warning per key a minute (20 a minute in all, the rest
 * counted in the next one), no "session established", and the metrics say "rejected".
 */
import { afterAll, expect, it } from 'vitest';
import { Scope, sha256File, writeRandomFile } from '../support/procs.js';
import { EngineClient, adminDaemon, sleep, waitUntil } from '../support/hostile.js';
import { join } from 'node:path';

const scope = new Scope('refusal-log');
afterAll(() => scope.dispose());

const KEYS = 20;
const ROUNDS = 10;

it(`${KEYS * ROUNDS} refused handshakes from ${KEYS} untrusted keys: ${KEYS} warnings, no session lines, counted as rejected; a trusted sender still gets in`, async () => {
  const [rx, tx] = await Promise.all([scope.home('rx'), scope.home('tx')]);
  const { daemon, admin } = await adminDaemon(scope, { home: rx, autoAccept: false, args: ['--trusted-peers', tx.peerId] });
  const [host, port] = [daemon.addr.slice(0, daemon.addr.lastIndexOf(':')), daemon.port];
  const clients: EngineClient[] = [];
  scope.defer(async () => {
    for (const c of clients) await c.close();
  });
  for (let i = 0; i < KEYS; i++) clients.push(await EngineClient.open());
  const from = daemon.stderr.length;
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of clients) c.connect({ host, port }, daemon.peerId);
    await sleep(200);
  }
  const refused = (e: { type: string; code?: unknown }): boolean => e.type === 'closed' && e.code === 'E_PEER_NOT_AUTHORIZED';
  await waitUntil(() => clients.every((c) => c.events.filter(refused).length === ROUNDS), 20_000, 'every handshake refused');
  const m = await admin.settledMetrics('wraith_handshakes_total');
  expect(m.get('wraith_handshakes_total', { outcome: 'rejected' })).toBe(KEYS * ROUNDS);
  expect(m.get('wraith_handshakes_total', { outcome: 'ok' })).toBe(0);

  const lines = daemon.stderr.slice(from).split('\n').filter((l) => l.trim() !== '');
  const warnings = lines.filter((l) => l.includes('refused an untrusted peer'));
  expect(warnings, lines.slice(0, 5).join('\n')).toHaveLength(KEYS);
  expect(new Set(warnings.map((l) => (JSON.parse(l) as { peer: string }).peer)).size).toBe(KEYS);
  expect(lines.filter((l) => /"msg":"session (established|closed)"/.test(l))).toEqual([]);

  const src = join(await scope.tempDir('src'), 'ok.bin');
  const sum = await writeRandomFile(src, 100_000);
  const r = await scope.send([src], daemon.peer(), { home: tx }).result(30_000);
  expect(r.code, r.stderr).toBe(0);
  expect(await sha256File(join(daemon.output, 'ok.bin'))).toBe(sum);
  expect(daemon.stderr.slice(from)).toMatch(/"msg":"session established"/);
}, 90_000);
