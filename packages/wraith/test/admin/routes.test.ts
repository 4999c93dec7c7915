/** Every route and its schema through inject(): answers, coded errors, statuses, no 5xx for bad input. */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WraithError } from '@wraith/core';
import { tmpDir } from '../helpers.js';
import { transferDto } from './fake-provider.js';
import { errorOf, testApp, type TestApp } from './support.js';

let t: TestApp;
beforeEach(async () => {
  t = await testApp();
});
afterEach(async () => {
  await t.app.close();
});

describe('read-only routes', () => {
  it('GET /v1/health', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: true });
    expect(typeof res.json().uptime_s).toBe('number');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('GET /v1/status returns the provider status, and only the schema fields', async () => {
    const status = t.provider.status();
    t.provider.status = () => ({ ...status, private_key: 'secret' }) as typeof status;
    const res = await t.call({ method: 'GET', url: '/v1/status' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(status);
    expect(res.body).not.toContain('secret');
    expect(res.json().transport.probes[1]).toEqual({ name: 'capabilities', ok: false, code: 'E_XDP_UNAVAILABLE', reason: 'missing CAP_BPF', remedy: 'AmbientCapabilities=CAP_BPF' });
  });

  it('GET /v1/peers', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/peers' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ peers: t.provider.peers() });
  });

  it('GET /v1/transfers and /v1/transfers/:id', async () => {
    const list = await t.call({ method: 'GET', url: '/v1/transfers' });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual({ transfers: t.provider.list });
    const one = await t.call({ method: 'GET', url: '/v1/transfers/t-0001' });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: 't-0001', bytes_done: 1_048_576, bytes_total: 4_194_304, rate_bps: 1_000_000, eta_s: 3.1, state: 'running', errors: [] });
  });

  it('an unknown transfer id: 404 E_TRANSFER_UNKNOWN', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/transfers/t-9999' });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('E_TRANSFER_UNKNOWN');
  });

  it('a malformed transfer id: 400 E_API_VALIDATION', async () => {
    for (const id of ['a%20b', '%00', 'x'.repeat(129), 'a%2Fb', '%C3%A9']) {
      const res = await t.call({ method: 'GET', url: `/v1/transfers/${id}` });
      expect(res.statusCode, id).toBe(400);
      expect(errorOf(res).code, id).toBe('E_API_VALIDATION');
    }
  });

  it('GET /v1/metrics: Prometheus text from the provider registry', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^wraith_packets_total\{direction="tx"\} 7$/m);
    expect(res.body).toContain('# TYPE wraith_packets_total counter');
  });

  it('HEAD is not served (a HEAD of the event stream would otherwise hold a connection open)', async () => {
    for (const url of ['/v1/status', '/v1/events']) expect((await t.call({ method: 'HEAD', url })).statusCode).toBe(404);
  });

  it('unknown query parameters are refused, not ignored', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/status?verbose=1' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('E_API_VALIDATION');
  });

  it('an unknown route: 404 E_API_NOT_FOUND; an unknown method: 404 too', async () => {
    for (const [method, url] of [['GET', '/v1/nope'], ['GET', '/'], ['PUT', '/v1/status'], ['PATCH', '/v1/transfers/t-0001'], ['OPTIONS', '/v1/status']] as const) {
      const res = await t.call({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(errorOf(res).code).toBe('E_API_NOT_FOUND');
    }
  });

  it('a provider bug is a coded 500 E_INTERNAL; a registry error keeps its code and status', async () => {
    t.provider.peers = () => {
      throw new TypeError('boom');
    };
    const res = await t.call({ method: 'GET', url: '/v1/peers' });
    expect(res.statusCode).toBe(500);
    expect(errorOf(res).code).toBe('E_INTERNAL');
    t.provider.transfers = () => {
      throw new WraithError('E_SHUTTING_DOWN', 'the daemon is stopping');
    };
    const res2 = await t.call({ method: 'GET', url: '/v1/transfers' });
    expect(res2.statusCode).toBe(502);
    expect(errorOf(res2)).toEqual({ code: 'E_SHUTTING_DOWN', message: 'the daemon is stopping', hint: 'the peer is shutting down; retry later' });
  });
});

describe('POST /v1/transfers', () => {
  let root: string;
  let file: string;
  beforeEach(() => {
    const dir = tmpDir('wraith-admin-');
    root = join(dir, 'root');
    mkdirSync(root);
    file = join(root, 'data.bin');
    writeFileSync(file, 'x');
    writeFileSync(join(dir, 'outside.bin'), 'y');
  });

  const post = (payload: unknown, headers: Record<string, string> = {}) =>
    t.call({ method: 'POST', url: '/v1/transfers', payload: payload as string, headers: { 'content-type': 'application/json', ...headers } });

  it('refused (403 E_ADMIN_SEND_DISABLED) while send_roots is empty', async () => {
    const res = await post({ path: file, peer: 'alpha' });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('E_ADMIN_SEND_DISABLED');
    expect(t.provider.started).toEqual([]);
  });

  it('starts a transfer of the realpath: 201 with Location', async () => {
    t.provider.roots = [root];
    const res = await post({ path: join(root, '.', 'data.bin'), peer: 'alpha' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ state: 'queued', peer_name: 'alpha', path: realpathSync(file) });
    expect(res.headers.location).toBe(`/v1/transfers/${res.json().id}`);
    expect(t.provider.started).toEqual([{ path: realpathSync(file), peer: 'alpha', rateBps: null, allowGrowth: false }]);
  });

  it('takes allow_growth as `wraith send --allow-growth`; a non-boolean is 400 and nothing starts', async () => {
    t.provider.roots = [root];
    expect((await post({ path: file, peer: 'alpha', allow_growth: true })).statusCode).toBe(201);
    expect(t.provider.started.map((s) => s.allowGrowth)).toEqual([true]);
    const res = await post({ path: file, peer: 'alpha', allow_growth: 'yes' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'E_API_VALIDATION', message: expect.stringContaining('allow_growth') });
    expect(t.provider.started).toHaveLength(1);
  });

  it('takes a rate as `wraith send --rate` does; a bad one is 400 E_API_VALIDATION naming it, and nothing starts', async () => {
    t.provider.roots = [root];
    expect((await post({ path: file, peer: 'alpha', rate: '800Mbit' })).statusCode).toBe(201);
    expect((await post({ path: file, peer: 'alpha', rate: '5M' })).statusCode).toBe(201);
    expect(t.provider.started.map((s) => s.rateBps)).toEqual([1e8, 5e6]);
    for (const rate of ['0', 'fast', '-5M', '']) {
      const res = await post({ path: file, peer: 'alpha', rate });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'E_API_VALIDATION', message: expect.stringContaining('rate') });
    }
    expect(t.provider.started).toHaveLength(2);
  });

  it('takes exclude as `wraith send --exclude`, once per pattern; a pattern that is not one, or a non-array, is 400 and nothing starts', async () => {
    t.provider.roots = [root];
    expect((await post({ path: root, peer: 'alpha', exclude: ['*.tmp', 'cache/'], dest: 'in/' })).statusCode).toBe(201);
    expect((await post({ path: root, peer: 'alpha', exclude: [] })).statusCode).toBe(201);
    expect(t.provider.started.map((s) => [s.exclude, s.dest])).toEqual([[['*.tmp', 'cache/'], 'in'], [undefined, undefined]]);
    for (const exclude of [['ok', 'a**'], ['[x'], '*.tmp', [5]]) {
      const res = await post({ path: root, peer: 'alpha', exclude });
      expect(res.statusCode, JSON.stringify(exclude)).toBe(400);
      expect(errorOf(res)).toMatchObject({ code: 'E_API_VALIDATION', message: expect.stringMatching(/^invalid body: \/?exclude/) });
    }
    expect(t.provider.started).toHaveLength(2);
  });

  it('a peer that is not a [peers.NAME] entry: 400 E_PEER_UNKNOWN', async () => {
    t.provider.roots = [root];
    const res = await post({ path: file, peer: 'gamma' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('E_PEER_UNKNOWN');
  });

  it('a path outside the roots: 403 E_ADMIN_PATH_OUTSIDE; a missing one 404 E_NOT_FOUND; a relative one 400', async () => {
    t.provider.roots = [root];
    const out = await post({ path: join(root, '..', 'outside.bin'), peer: 'alpha' });
    expect(out.statusCode).toBe(403);
    expect(errorOf(out).code).toBe('E_ADMIN_PATH_OUTSIDE');
    const missing = await post({ path: join(root, 'nope'), peer: 'alpha' });
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing).code).toBe('E_NOT_FOUND');
    const rel = await post({ path: 'root/data.bin', peer: 'alpha' });
    expect(rel.statusCode).toBe(400);
    expect(errorOf(rel).code).toBe('E_API_VALIDATION');
    expect(t.provider.started).toEqual([]);
  });

  it.each([
    ['missing path', { peer: 'alpha' }],
    ['missing peer', { path: '/tmp' }],
    ['a number as path', { path: 5, peer: 'alpha' }],
    ['a boolean as peer', { path: '/tmp', peer: true }],
    ['an array body', [1, 2]],
    ['a string body', 'hello'],
    ['null', null],
    ['an extra field', { path: '/tmp', peer: 'alpha', force: true }],
    ['a peer name with a slash', { path: '/tmp', peer: 'a/b' }],
    ['an empty path', { path: '', peer: 'alpha' }],
    ['a NUL in the path', { path: '/tmp/\u0000x', peer: 'alpha' }],
  ])('%s: 400 E_API_VALIDATION', async (_name, body) => {
    t.provider.roots = [root];
    const res = await post(JSON.stringify(body));
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('E_API_VALIDATION');
  });

  it.each([
    ['truncated JSON', '{"path": "/tmp", '],
    ['not JSON', 'path=/tmp&peer=alpha'],
    ['__proto__ pollution', '{"path":"/tmp","peer":"alpha","__proto__":{"x":1}}'],
    ['constructor pollution', '{"path":"/tmp","peer":"alpha","constructor":{"prototype":{"x":1}}}'],
    ['an empty body', ''],
  ])('%s: 400 with a code', async (_name, raw) => {
    t.provider.roots = [root];
    const res = await post(raw);
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toMatch(/^E_API_(BAD_REQUEST|VALIDATION)$/);
  });

  it('a body over the limit: 413 E_API_BODY_TOO_LARGE', async () => {
    t.provider.roots = [root];
    const res = await post(JSON.stringify({ path: `/${'a'.repeat(70 * 1024)}`, peer: 'alpha' }));
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('E_API_BODY_TOO_LARGE');
  });

  it('the body limit is configurable', async () => {
    const small = await testApp({ bodyLimit: 64 });
    small.provider.roots = [root];
    const res = await small.call({ method: 'POST', url: '/v1/transfers', payload: JSON.stringify({ path: file, peer: 'alpha', pad: 'x'.repeat(100) }), headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(413);
    await small.app.close();
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])('Content-Type %s: 415 E_API_MEDIA_TYPE', async (type) => {
    t.provider.roots = [root];
    const res = await post(JSON.stringify({ path: file, peer: 'alpha' }), { 'content-type': type });
    expect(res.statusCode).toBe(415);
    expect(errorOf(res).code).toBe('E_API_MEDIA_TYPE');
  });
});

describe('DELETE /v1/transfers/:id', () => {
  it('cancels a running transfer and returns it', async () => {
    const res = await t.call({ method: 'DELETE', url: '/v1/transfers/t-0001' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: 't-0001', state: 'cancelled' });
    expect(t.provider.cancelled).toEqual(['t-0001']);
  });

  it('a finished transfer: 409 E_TRANSFER_FINISHED; an unknown one: 404', async () => {
    const done = await t.call({ method: 'DELETE', url: '/v1/transfers/t-0002' });
    expect(done.statusCode).toBe(409);
    expect(errorOf(done).code).toBe('E_TRANSFER_FINISHED');
    const unknown = await t.call({ method: 'DELETE', url: '/v1/transfers/t-7777' });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown).code).toBe('E_TRANSFER_UNKNOWN');
  });

  it('a DELETE with a JSON content type and no body is still a 4xx at worst', async () => {
    const res = await t.call({ method: 'DELETE', url: '/v1/transfers/t-0001', headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBeLessThan(500);
  });
});

describe('response schemas', () => {
  it('a transfer with errors and nulls round-trips', async () => {
    t.provider.list = [transferDto({ id: 't-x', state: 'failed', bytes_total: null, files_total: null, eta_s: null, path: null, peer_name: null, errors: [{ code: 'E_NO_SPACE', message: 'disk full', path: 'a/b' }] })];
    const res = await t.call({ method: 'GET', url: '/v1/transfers/t-x' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(t.provider.list[0]);
  });
});
