/**
 * createAdminApp: the admin API as a fastify instance that has not listened yet (tests call
 * inject() on it; startAdminServer listens). Guards run first on every request (./guard.ts),
 * every route declares TypeBox schemas, and every error answers with a registry code
 * (./http-errors.ts).
 */
import type { Logger } from 'pino';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { WraithError } from '@wraith/core';
import { REDACTED } from '../redact.js';
import { installGuards } from './guard.js';
import { errorHandler, sendError, toApiError } from './http-errors.js';
import type { AdminProvider } from './provider.js';
import { eventRoutes } from './routes/events.js';
import { nodeRoutes } from './routes/node.js';
import { transferRoutes } from './routes/transfers.js';

export const DEFAULT_BODY_LIMIT = 64 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;

export interface AdminAppOptions {
  readonly provider: AdminProvider;
  /** The bearer token (<home>/admin.token). */
  readonly token: string;
  /** Untagged, as for startAdminServer. */
  readonly logger: Logger;
  /**
   * Accepted Host header values; read on every request (startAdminServer appends the bound
   * port's names after listening). "*" accepts any (unix socket only).
   */
  readonly allowedHosts: string[];
  /** Request body limit in bytes; larger bodies get 413. Default 64 KiB. */
  readonly bodyLimit?: number;
  /** Serve HTTPS with this PEM certificate and key. */
  readonly https?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Milliseconds between SSE heartbeat comments; default 15 s. */
  readonly heartbeatMs?: number;
}

/** Strips the query string: URLs are logged without it, whatever a client put there. */
export function pathOnly(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?[query redacted]`;
}

type LoggedRequest = { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } };

/** Runs of 64+ hex characters (token-shaped) in a logged path; cut without comparing to the secret. */
const HEX_RUN = /[0-9a-fA-F]{64,}/g;

/**
 * The admin API's child logger. Requests are logged as method, path (no query string, and any
 * token-shaped run cut out should a client put the token in the path) and remote address:
 * never headers.
 */
export function adminLogger(logger: Logger): Logger {
  const requestSerializer = (req: LoggedRequest): Record<string, unknown> => ({
    method: req.method,
    url: pathOnly(req.url).replace(HEX_RUN, REDACTED),
    remote: req.ip ?? req.socket?.remoteAddress,
  });
  return logger.child(
    { component: 'admin' },
    {
      serializers: { req: requestSerializer },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token'],
        censor: REDACTED,
      },
    },
  );
}

export function createAdminApp(opts: AdminAppOptions): FastifyInstance {
  const options: FastifyServerOptions & { https?: unknown } = {
    loggerInstance: adminLogger(opts.logger),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Bodies are validated as sent: no type coercion, no silent dropping of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    requestIdHeader: false,
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 512 },
    exposeHeadRoutes: false,
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, toApiError(error).err);
    },
  };
  if (opts.https !== undefined) options.https = { cert: opts.https.cert, key: opts.https.key };
  const app = Fastify(options as FastifyServerOptions) as unknown as FastifyInstance;

  // JSON only: a text/plain body is a 415, not a string handed to the schema.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, new WraithError('E_API_NOT_FOUND', `no route ${request.method} ${pathOnly(request.raw.url).replace(/\?.*$/, '')}`));
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
  installGuards(app, { token: opts.token, allowedHosts: opts.allowedHosts });

  const startedAt = performance.now();
  void app.register(nodeRoutes, { prefix: '/v1', provider: opts.provider, startedAt });
  void app.register(transferRoutes, { prefix: '/v1', provider: opts.provider });
  void app.register(eventRoutes, { prefix: '/v1', provider: opts.provider, heartbeatMs: opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS });
  return app;
}
