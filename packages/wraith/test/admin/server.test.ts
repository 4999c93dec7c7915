/** startAdminServer on real sockets (127.0.0.1 and a unix socket only): listen rules, token file, TLS, SSE. */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isWraithError, type WraithError } from '@wraith/core';
import { adminServerOptions } from '../../src/admin/from-config.js';
import { startAdminServer, type AdminServer, type AdminServerOptions } from '../../src/admin/server.js';
import { tmpDir } from '../helpers.js';
import { FakeProvider } from './fake-provider.js';

const logger = pino({ level: 'silent' });
const open: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(over: Partial<AdminServerOptions> = {}): Promise<{ server: AdminServer; home: string; provider: FakeProvider }> {
  const home = over.home ?? tmpDir('wraith-admin-home-');
  const provider = (over.provider as FakeProvider | undefined) ?? new FakeProvider();
  const server = await startAdminServer({ listen: '127.0.0.1:0', allowRemote: false, home, provider, logger, ...over });
  open.push(server);
  return { server, home, provider };
}

async function failure(p: Promise<unknown>): Promise<WraithError> {
  try {
    await p;
  } catch (e) {
    if (isWraithError(e)) return e;
    throw e;
  }
  throw new Error('expected a WraithError');
}

const token = (home: string): string => readFileSync(join(home, 'admin.token'), 'utf8').trim();

/** A raw request (fetch cannot set Host or use a unix socket). */
function raw(opts: { url?: string; socketPath?: string; path: string; headers: Record<string, string>; ca?: Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = opts.url !== undefined ? new URL(opts.url) : null;
    const fn = u?.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = fn(
      {
        ...(u !== null ? { hostname: u.hostname, port: u.port } : { socketPath: opts.socketPath }),
        path: opts.path,
        headers: opts.headers,
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('listen', () => {
  it('127.0.0.1:0 listens on a free port and returns its URL; the API answers with the token', async () => {
    const { server, home } = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toMatch(/:0$/);
    const res = await fetch(`${server.url}/v1/health`, { headers: { authorization: `Bearer ${token(home)}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
    const noToken = await fetch(`${server.url}/v1/health`);
    expect(noToken.status).toBe(401);
  });

  it('the bound port names are the allowed Hosts; a foreign Host is refused on the wire', async () => {
    const { server, home } = await start();
    const port = new URL(server.url!).port;
    const auth = { authorization: `Bearer ${token(home)}` };
    expect((await raw({ url: server.url!, path: '/v1/status', headers: { ...auth, host: `localhost:${port}` } })).status).toBe(200);
    const foreign = await raw({ url: server.url!, path: '/v1/status', headers: { ...auth, host: `rebind.example:${port}` } });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).error.code).toBe('E_ADMIN_HOST');
  });

  it('adminServerOptions maps the [admin] config section', async () => {
    const provider = new FakeProvider();
    const admin = { listen: '127.0.0.1:0', unix_socket: null, allow_remote: false, tls_cert: null, tls_key: null, send_roots: ['/srv'] };
    const o = adminServerOptions({ admin }, '/home/x', provider, logger);
    expect(o).toMatchObject({ listen: '127.0.0.1:0', unixSocket: null, allowRemote: false, tlsCert: null, tlsKey: null, home: '/home/x', provider });
    const { server } = await start(adminServerOptions({ admin }, tmpDir('wraith-admin-home-'), provider, logger));
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('"off" serves nothing, returns url null and writes no token', async () => {
    const { server, home } = await start({ listen: 'off' });
    expect(server.url).toBeNull();
    expect(existsSync(join(home, 'admin.token'))).toBe(false);
    await server.close();
  });

  it('a non-loopback address without allow_remote is refused (E_CONFIG naming admin.listen)', async () => {
    for (const listen of ['0.0.0.0:0', '[::]:0', '192.0.2.1:40080']) {
      const err = await failure(start({ listen }));
      expect(err.code).toBe('E_CONFIG');
      expect(err.message).toContain('admin.listen');
      expect(err.details).toMatchObject({ key: 'admin.listen' });
    }
  });

  it('allow_remote without TLS is refused naming the missing key', async () => {
    const noCert = await failure(start({ listen: '0.0.0.0:0', allowRemote: true }));
    expect(noCert.code).toBe('E_CONFIG');
    expect(noCert.details).toMatchObject({ key: 'admin.tls_cert' });
    const noKey = await failure(start({ listen: '0.0.0.0:0', allowRemote: true, tlsCert: '/nonexistent.pem' }));
    expect(noKey.details).toMatchObject({ key: 'admin.tls_key' });
  });

  it('malformed listen values are E_CONFIG', async () => {
    for (const listen of ['localhost', '127.0.0.1:99999', 'example.com:80', '::1:80', '']) {
      expect((await failure(start({ listen }))).code, listen).toBe('E_CONFIG');
    }
  });

  it('a port in use: E_ADDR_IN_USE naming the address', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const err = await failure(start({ listen: `127.0.0.1:${port}` }));
      expect(err.code).toBe('E_ADDR_IN_USE');
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(err.message).toContain('admin.listen');
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('a port another process holds: E_ADDR_IN_USE names that process', async () => {
    const child = spawn(process.execPath, ['-e', `const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l))));
      const err = await failure(start({ listen: `127.0.0.1:${port}` }));
      expect(err.code).toBe('E_ADDR_IN_USE');
      expect(err.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}: the address is in use, by pid ${child.pid}: \\S`));
      expect(err.hint).toContain(`(process ${child.pid})`);
    } finally {
      child.kill();
    }
  });
});

describe('the token file', () => {
  it('is created at first start: 64 hex characters, mode 0600; kept at the next start', async () => {
    const { server, home } = await start();
    const first = token(home);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(home, 'admin.token')).mode & 0o777).toBe(0o600);
    await server.close();
    await start({ home });
    expect(token(home)).toBe(first);
  });

  it.each([0o644, 0o640, 0o604, 0o660])('mode %o: refused with E_ADMIN_TOKEN_PERMISSIONS naming the path and chmod 600', async (mode) => {
    const home = tmpDir('wraith-admin-home-');
    const file = join(home, 'admin.token');
    writeFileSync(file, `${'1'.repeat(64)}\n`, { mode: 0o600 });
    chmodSync(file, mode);
    const err = await failure(start({ home }));
    expect(err.code).toBe('E_ADMIN_TOKEN_PERMISSIONS');
    expect(err.message).toContain(file);
    expect(err.hint).toContain(`chmod 600 ${file}`);
  });
});

describe('unix socket', () => {
  it('serves the API on a 0600 socket (any Host), and removes it at close', async () => {
    const home = tmpDir('wraith-admin-home-');
    const socketPath = join(home, 'admin.sock');
    const { server } = await start({ home, listen: 'off', unixSocket: socketPath });
    expect(server.url).toBeNull();
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    const res = await raw({ socketPath, path: '/v1/peers', headers: { host: 'whatever', authorization: `Bearer ${token(home)}` } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).peers).toHaveLength(2);
    expect((await raw({ socketPath, path: '/v1/peers', headers: { host: 'x' } })).status).toBe(401);
    await server.close();
    expect(existsSync(socketPath)).toBe(false);
  });

  it('a live socket is E_ADDR_IN_USE (and left alone); a non-socket file is E_CONFIG', async () => {
    const home = tmpDir('wraith-admin-home-');
    const socketPath = join(home, 'admin.sock');
    await start({ home, listen: 'off', unixSocket: socketPath });
    const err = await failure(start({ home, listen: 'off', unixSocket: socketPath }));
    expect(err.code).toBe('E_ADDR_IN_USE');
    expect(statSync(socketPath).isSocket()).toBe(true);
    const file = join(home, 'plain');
    writeFileSync(file, '');
    expect((await failure(start({ home, listen: 'off', unixSocket: file }))).code).toBe('E_CONFIG');
  });

  it('a failure after the TCP listener started closes it again', async () => {
    const home = tmpDir('wraith-admin-home-');
    const file = join(home, 'plain');
    writeFileSync(file, '');
    const probe: Server = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const err = await failure(start({ home, listen: `127.0.0.1:${port}`, unixSocket: file }));
    expect(err.code).toBe('E_CONFIG');
    // The TCP listener of the failed start was closed: the same port can be taken again.
    const { server } = await start({ home, listen: `127.0.0.1:${port}` });
    expect(server.url).toBe(`http://127.0.0.1:${port}`);
  });
});

describe('TLS', () => {
  it('tls_cert and tls_key serve HTTPS', async () => {
    const dir = tmpDir('wraith-admin-tls-');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const { server, home } = await start({ tlsCert: cert, tlsKey: key });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await raw({ url: server.url!, path: '/v1/health', headers: { authorization: `Bearer ${token(home)}` }, ca: readFileSync(cert) });
    expect(res.status).toBe(200);
  });

  it('an unreadable certificate is E_CONFIG naming admin.tls_cert', async () => {
    const dir = tmpDir('wraith-admin-tls-');
    const err = await failure(start({ tlsCert: join(dir, 'missing.pem'), tlsKey: join(dir, 'missing-key.pem') }));
    expect(err.code).toBe('E_CONFIG');
    expect(err.details).toMatchObject({ key: 'admin.tls_cert' });
  });
});

describe('GET /v1/events', () => {
  async function openStream(url: string, tok: string, query = ''): Promise<{ next(pred: (text: string) => boolean): Promise<string>; reader: ReadableStreamDefaultReader<Uint8Array>; res: Response }> {
    const res = await fetch(`${url}/v1/events${query}`, { headers: { authorization: `Bearer ${tok}` } });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    return {
      res,
      reader,
      async next(pred) {
        const deadline = Date.now() + 10_000;
        while (!pred(text)) {
          if (Date.now() > deadline) throw new Error(`stream: nothing matching within 10 s; got ${JSON.stringify(text)}`);
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended; got ${JSON.stringify(text)}`);
          text += decoder.decode(value, { stream: true });
        }
        return text;
      },
    };
  }

  it('streams provider events as SSE, with heartbeats; filters by type; ends at close', async () => {
    const { server, home, provider } = await start({ heartbeatMs: 50 });
    const all = await openStream(server.url!, token(home));
    const onlyTransport = await openStream(server.url!, token(home), '?types=transport_changed');
    expect(all.res.status).toBe(200);
    expect(all.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await all.next((s) => s.includes(': connected'));
    await onlyTransport.next((s) => s.includes(': connected'));
    expect(provider.events.listenerCount('event')).toBe(2);

    provider.emit({ type: 'progress', transfer_id: 't-0001', bytes_done: 2048, bytes_total: 4096 });
    provider.emit({ type: 'transport_changed', from: 'xdp', to: 'udp', reason: 'watchdog' });
    const text = await all.next((s) => s.includes('event: transport_changed'));
    expect(text).toContain('event: progress\ndata: {"type":"progress","transfer_id":"t-0001","bytes_done":2048,"bytes_total":4096}\n\n');
    const filtered = await onlyTransport.next((s) => s.includes('event: transport_changed'));
    expect(filtered).not.toContain('event: progress');
    await all.next((s) => s.includes(': heartbeat'));

    await server.close();
    for (const s of [all, onlyTransport]) {
      let done = false;
      while (!done) done = (await s.reader.read()).done;
    }
    expect(provider.events.listenerCount('event')).toBe(0);
  });

  it('a client that goes away is unsubscribed', async () => {
    const { server, home, provider } = await start();
    const s = await openStream(server.url!, token(home));
    await s.next((t) => t.includes(': connected'));
    expect(provider.events.listenerCount('event')).toBe(1);
    await s.reader.cancel();
    const deadline = Date.now() + 5000;
    while (provider.events.listenerCount('event') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(provider.events.listenerCount('event')).toBe(0);
  });

  it('an unknown event type filter is a 400', async () => {
    const { server, home } = await start();
    const res = await fetch(`${server.url}/v1/events?types=progress,bogus`, { headers: { authorization: `Bearer ${token(home)}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('E_API_VALIDATION');
  });
});
