/**
 * Property tests: whatever arrives (bodies, paths, query strings, headers), the API answers
 * below 500, and every non-2xx answer carries a registry code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ERRORS } from '@wraith/core';
import type { LightMyRequestResponse } from 'fastify';
import { tmpDir } from '../helpers.js';
import { HOST, testApp, TOKEN, type TestApp } from './support.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
  t.provider.roots = [tmpDir('wraith-fuzz-')];
  // The fuzzed requests would otherwise fill memory with request logs.
  t.logs.write = () => true;
});
afterAll(async () => {
  await t.app.close();
});

function assertCoded(res: LightMyRequestResponse, what: string, head = false): void {
  expect(res.statusCode, what).toBeLessThan(500);
  if (res.statusCode >= 400 && !head) {
    const body = JSON.parse(res.body) as { error?: { code?: string; hint?: string } };
    expect(body.error?.code !== undefined && body.error.code in ERRORS, `${what}: ${res.body}`).toBe(true);
    expect(typeof body.error?.hint, what).toBe('string');
  }
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const transferBody = fc.oneof(
  fc.record({ path: fc.oneof(fc.string(), fc.constant('/tmp'), fc.string().map((s) => `/${s}`)), peer: fc.oneof(fc.string(), fc.constantFrom('alpha', 'beta', 'gamma')) }, { requiredKeys: [] }),
  fc.dictionary(fc.string({ maxLength: 12 }), jsonValue, { maxKeys: 4 }),
  jsonValue,
);
const rawBody = fc.oneof(
  transferBody.map((v) => JSON.stringify(v) ?? ''),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'foo', undefined);
const method = fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS');
const segment = fc.oneof(
  fc.constantFrom('v1', 'status', 'transfers', 'peers', 'metrics', 'health', 'events', 't-0001', '..', '.', '', '%', '%2e%2e', '%00', '%zz', '%C0%AF'),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
  fc.stringMatching(/^[A-Za-z0-9_.:%-]{0,300}$/),
);
/** Decoded as the router would, to leave out the event stream (it never ends; tested on its own). */
const decoded = (p: string): string => {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
};
const path = fc
  .array(segment, { minLength: 1, maxLength: 5 })
  .map((parts) => `/${parts.join('/')}`)
  .filter((p) => !/events/i.test(decoded(p)));
const query = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.stringMatching(/^[a-z_]{1,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }).map((d) => `?${new URLSearchParams(d).toString()}`),
  fc.stringMatching(/^\?[A-Za-z0-9=&%_.,-]{0,60}$/),
);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,80}$/);
const extraHeaders = fc.dictionary(
  fc.constantFrom('origin', 'referer', 'x-forwarded-host', 'x-forwarded-for', 'accept', 'content-length', 'transfer-encoding', 'cookie', 'accept-encoding', 'sec-fetch-site'),
  headerValue,
  { maxKeys: 3 },
);

describe('no 5xx, always a code', () => {
  it('POST /v1/transfers with random bodies and content types (10,000 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(rawBody, contentType, async (body, type) => {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/transfers',
          payload: body,
          headers: { host: HOST, authorization: `Bearer ${TOKEN}`, ...(type !== undefined ? { 'content-type': type } : {}) },
        });
        assertCoded(res, `body ${JSON.stringify(body).slice(0, 100)} type ${type}`);
      }),
      { numRuns: 10_000 },
    );
  });

  it('random methods, paths and query strings, authenticated (1500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(method, path, query, async (m, p, q) => {
        const res = await t.app.inject({ method: m as 'GET', url: `${p}${q}`, headers: { host: HOST, authorization: `Bearer ${TOKEN}` } });
        assertCoded(res, `${m} ${p}${q}`, m === 'HEAD');
      }),
      { numRuns: 1500 },
    );
  });

  it('random headers on the routes, with and without the token (1500 runs)', async () => {
    const route = fc.constantFrom('/v1/health', '/v1/status', '/v1/peers', '/v1/transfers', '/v1/transfers/t-0001', '/v1/metrics');
    const auth = fc.oneof(fc.constant(`Bearer ${TOKEN}`), headerValue, fc.constant(undefined));
    const host = fc.oneof(fc.constant(HOST), headerValue);
    await fc.assert(
      fc.asyncProperty(route, auth, host, extraHeaders, async (url, a, h, extra) => {
        const headers: Record<string, string> = { host: h, ...extra };
        delete headers['content-length'];
        delete headers['transfer-encoding'];
        if (a !== undefined) headers.authorization = a;
        const res = await t.app.inject({ method: 'GET', url, headers });
        assertCoded(res, `GET ${url} ${JSON.stringify(headers)}`);
      }),
      { numRuns: 1500 },
    );
  });
});
