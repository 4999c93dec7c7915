/**
 * What the reliability tests read their counters from: a daemon started with
 * `--admin-listen 127.0.0.1:0` (any free port, docs/ADMIN.md §1) serves
 * GET /v1/metrics at the admin_url of its ready line, with the bearer token
 * from <home>/admin.token, and nothing without it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope } from '../support/procs.js';
import { adminDaemon } from '../support/hostile.js';

const scope = new Scope('reliability-admin');
afterAll(() => scope.dispose());

describe('admin API on a free port', () => {
  it('--admin-listen 127.0.0.1:0 picks a port, names it in the ready line and daemon.json, and serves metrics with the token only', async () => {
    const rx = await scope.home('rx');
    const { daemon, admin } = await adminDaemon(scope, { home: rx });
    expect(admin.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const runFile = JSON.parse(await readFile(join(rx.dir, 'run', 'daemon.json'), 'utf8')) as { admin_url: string };
    expect(runFile.admin_url).toBe(admin.url);
    const m = await admin.metrics();
    expect(m.get('wraith_transport_info', { transport: 'udp' })).toBe(1);
    // The UDP socket's figures under their own name (copied once a second), never as AF_XDP's.
    let sock = m;
    for (let i = 0; i < 30 && !sock.samples.some((s) => s.name === 'wraith_udp_socket_stat'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      sock = await admin.metrics();
    }
    expect(sock.get('wraith_udp_socket_stat', { stat: 'recv_buffer_bytes' })).toBeGreaterThan(0);
    expect(sock.samples.some((s) => s.name === 'wraith_xdp_ring_stat')).toBe(false);
    for (const name of ['wraith_dh_operations_total', 'wraith_cookies_validated_total', 'wraith_path_validations_total']) {
      expect(m.samples.some((s) => s.name === name), name).toBe(true);
    }
    const anon = await fetch(`${admin.url}/v1/metrics`);
    expect(anon.status).toBe(401);
    expect(daemon.alive).toBe(true);
  });
});
