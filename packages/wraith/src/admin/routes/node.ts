/** GET /v1/health, /v1/status, /v1/peers, /v1/metrics: read-only views of the daemon. */
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBodySchema, HealthSchema, NoQuery, PeersListSchema, StatusSchema } from '../dto.js';
import type { AdminProvider } from '../provider.js';

export interface NodeRoutesOptions {
  readonly provider: AdminProvider;
  /** performance.now() when the API started (health's uptime). */
  readonly startedAt: number;
}

const errors = { '4xx': ErrorBodySchema, '5xx': ErrorBodySchema };

/** Prometheus text exposition format 0.0.4 (prom-client's Registry.contentType). */
const METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export async function nodeRoutes(instance: FastifyInstance, opts: NodeRoutesOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { provider } = opts;

  app.get('/health', { schema: { querystring: NoQuery, response: { 200: HealthSchema, ...errors } } }, async () => ({
    ok: true as const,
    uptime_s: Math.max(0, Math.round((performance.now() - opts.startedAt) / 1000)),
  }));

  app.get('/status', { schema: { querystring: NoQuery, response: { 200: StatusSchema, ...errors } } }, async () => provider.status());

  app.get('/peers', { schema: { querystring: NoQuery, response: { 200: PeersListSchema, ...errors } } }, async () => ({
    peers: provider.peers(),
  }));

  app.get(
    '/metrics',
    { schema: { querystring: NoQuery, response: { 200: Type.String({ description: METRICS_TYPE }), ...errors } } },
    async (_request, reply) => {
      const text = await provider.metrics();
      return reply.type(METRICS_TYPE).send(text);
    },
  );
}
