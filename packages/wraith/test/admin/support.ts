/** Shared setup of the admin API tests: an app over a FakeProvider, a token, log capture. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { createAdminApp } from '../../src/admin/app.js';
import { FakeProvider } from './fake-provider.js';

export const TOKEN = randomBytes(32).toString('hex');
export const HOST = '127.0.0.1:40080';

export class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface TestApp {
  app: FastifyInstance;
  provider: FakeProvider;
  logs: LogCapture;
  /** inject() with the token and an allowed Host unless the caller overrides them. */
  call(opts: InjectOptions): Promise<LightMyRequestResponse>;
}

export async function testApp(over: { bodyLimit?: number; allowedHosts?: string[]; provider?: FakeProvider } = {}): Promise<TestApp> {
  const provider = over.provider ?? new FakeProvider();
  const logs = new LogCapture();
  const logger = pino({ level: 'trace' }, logs);
  const app = createAdminApp({
    provider,
    token: TOKEN,
    logger,
    allowedHosts: over.allowedHosts ?? [HOST, 'localhost:40080', '[::1]:40080'],
    ...(over.bodyLimit !== undefined ? { bodyLimit: over.bodyLimit } : {}),
  });
  await app.ready();
  const call = (opts: InjectOptions): Promise<LightMyRequestResponse> =>
    app.inject({ ...opts, headers: { host: HOST, authorization: `Bearer ${TOKEN}`, ...(opts.headers ?? {}) } });
  return { app, provider, logs, call };
}

/** The `error` object of a coded error answer. */
export function errorOf(res: LightMyRequestResponse): { code: string; message: string; hint: string } {
  const body = res.json() as { error?: { code: string; message: string; hint: string } };
  if (body.error === undefined) throw new Error(`not an error body: ${res.body}`);
  return body.error;
}
