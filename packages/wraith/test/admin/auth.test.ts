/** The guards: bearer token, token-in-URL refusal, Host / Origin / Referer allow-list, logging. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '@wraith/core';
import { bearerToken } from '../../src/admin/guard.js';
import { errorOf, HOST, testApp, TOKEN, type TestApp } from './support.js';

const ROUTES: Array<{ method: 'GET' | 'POST' | 'DELETE'; url: string; payload?: unknown }> = [
  { method: 'GET', url: '/v1/health' },
  { method: 'GET', url: '/v1/status' },
  { method: 'GET', url: '/v1/peers' },
  { method: 'GET', url: '/v1/transfers' },
  { method: 'GET', url: '/v1/transfers/t-0001' },
  { method: 'POST', url: '/v1/transfers', payload: { path: '/tmp', peer: 'alpha' } },
  { method: 'DELETE', url: '/v1/transfers/t-0001' },
  { method: 'GET', url: '/v1/metrics' },
  { method: 'GET', url: '/v1/events' },
  { method: 'GET', url: '/v1/nope' },
];

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

describe('bearer token', () => {
  it.each(ROUTES)('$method $url without a token: 401 E_ADMIN_AUTH with WWW-Authenticate', async (r) => {
    const res = await t.app.inject({ method: r.method, url: r.url, headers: { host: HOST }, ...(r.payload ? { payload: r.payload as object } : {}) });
    expect(res.statusCode).toBe(401);
    expect(errorOf(res).code).toBe('E_ADMIN_AUTH');
    expect(errorOf(res).hint).toBe(ERRORS.E_ADMIN_AUTH.hint);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it.each(ROUTES)('$method $url with a wrong token: 403 E_ADMIN_FORBIDDEN', async (r) => {
    const wrong = TOKEN.slice(0, -1) + (TOKEN.endsWith('0') ? '1' : '0');
    const res = await t.call({ method: r.method, url: r.url, headers: { authorization: `Bearer ${wrong}` }, ...(r.payload ? { payload: r.payload as object } : {}) });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('E_ADMIN_FORBIDDEN');
  });

  it('a token of another length, another scheme or an empty bearer is refused', async () => {
    expect((await t.call({ method: 'GET', url: '/v1/health', headers: { authorization: 'Bearer x' } })).statusCode).toBe(403);
    expect((await t.call({ method: 'GET', url: '/v1/health', headers: { authorization: `Bearer ${TOKEN}${TOKEN}` } })).statusCode).toBe(403);
    expect((await t.call({ method: 'GET', url: '/v1/health', headers: { authorization: `Basic ${TOKEN}` } })).statusCode).toBe(401);
    expect((await t.call({ method: 'GET', url: '/v1/health', headers: { authorization: 'Bearer ' } })).statusCode).toBe(401);
    expect((await t.call({ method: 'GET', url: '/v1/health', headers: { authorization: TOKEN } })).statusCode).toBe(401);
  });

  it('the right token, any case of the scheme: 200', async () => {
    expect((await t.call({ method: 'GET', url: '/v1/health' })).statusCode).toBe(200);
    expect((await t.call({ method: 'GET', url: '/v1/health', headers: { authorization: `bearer ${TOKEN}` } })).statusCode).toBe(200);
  });

  it('parses only a single bearer credential', () => {
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(bearerToken(`Bearer a b`)).toBeNull();
  });
});

describe('the token is never accepted in the URL', () => {
  it.each(['token', 'access_token', 'Token', 'admin_token', 'api_key'])('?%s=... is a 400 even with a valid header', async (key) => {
    const res = await t.call({ method: 'GET', url: `/v1/status?${key}=${TOKEN}` });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('E_ADMIN_TOKEN_IN_URL');
  });

  it('?token= without any header is refused (400), not authenticated', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/status?token=${TOKEN}`, headers: { host: HOST } });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('E_ADMIN_TOKEN_IN_URL');
  });

  it('the token anywhere in the path is refused', async () => {
    const res = await t.call({ method: 'GET', url: `/v1/transfers/${TOKEN}` });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('E_ADMIN_TOKEN_IN_URL');
  });

  it('the token percent-encoded or in upper case, in the path or a query value, is refused too', async () => {
    const encoded = [...TOKEN].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    for (const url of [`/v1/transfers/${encoded}`, `/v1/status?x=${TOKEN.toUpperCase()}`, `/v1/status?q=a${TOKEN}b`]) {
      const res = await t.call({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(errorOf(res).code).toBe('E_ADMIN_TOKEN_IN_URL');
    }
  });

  it('another 64-hex string in the URL is not mistaken for the token', async () => {
    const res = await t.call({ method: 'GET', url: `/v1/transfers/${'0'.repeat(64)}` });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('E_TRANSFER_UNKNOWN');
  });

  it('the error never echoes the token', async () => {
    const res = await t.call({ method: 'GET', url: `/v1/status?token=${TOKEN}` });
    expect(res.body).not.toContain(TOKEN);
  });
});

describe('Host, Origin and Referer', () => {
  it.each(['evil.example', 'evil.example:40080', '127.0.0.1:40081', '127.0.0.1', 'localhost', '10.0.0.1:40080'])('Host %s: 403 E_ADMIN_HOST', async (host) => {
    const res = await t.call({ method: 'GET', url: '/v1/status', headers: { host } });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('E_ADMIN_HOST');
  });

  it.each(['127.0.0.1:40080', 'localhost:40080', 'LOCALHOST:40080', '[::1]:40080'])('Host %s: allowed', async (host) => {
    expect((await t.call({ method: 'GET', url: '/v1/status', headers: { host } })).statusCode).toBe(200);
  });

  it.each([
    ['origin', 'http://evil.example'],
    ['origin', 'null'],
    ['origin', 'http://127.0.0.1:40081'],
    ['origin', 'not a url'],
    ['referer', 'http://evil.example/page'],
    ['referer', 'https://127.0.0.1.evil.example:40080/'],
  ])('%s %s: 403 E_ADMIN_HOST', async (name, value) => {
    const res = await t.call({ method: 'GET', url: '/v1/status', headers: { [name]: value } });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('E_ADMIN_HOST');
  });

  it('a same-origin Origin and Referer are allowed', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/status', headers: { origin: 'http://127.0.0.1:40080', referer: 'http://localhost:40080/x' } });
    expect(res.statusCode).toBe(200);
  });

  it('the Host check runs before authentication (no token oracle for foreign pages)', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/status', headers: { host: 'evil.example' } });
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('E_ADMIN_HOST');
  });
});

describe('logging', () => {
  it('never logs the token, from the header or the URL', async () => {
    await t.call({ method: 'GET', url: '/v1/status' });
    await t.call({ method: 'GET', url: `/v1/status?token=${TOKEN}` });
    await t.call({ method: 'POST', url: '/v1/transfers', payload: { path: '/x', peer: TOKEN.slice(0, 60) } });
    expect(t.logs.text.length).toBeGreaterThan(0);
    expect(t.logs.text).toContain('/v1/status');
    expect(t.logs.text).not.toContain(TOKEN);
  });
});
