/**
 * GET /v1/events: server-sent events from the provider's emitter. Each event is
 * `event: <type>` and `data: <json>`; a comment line every heartbeat keeps proxies and idle
 * timers from closing the stream. `?types=progress,transfer` filters. Streams end when the
 * client goes away, when it reads too slowly (more than MAX_BUFFERED bytes queued), or when the
 * API closes.
 */
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { WraithError } from '@wraith/core';
import { ErrorBodySchema, EVENT_TYPES, EventsQuery, type AdminEvent } from '../dto.js';
import type { AdminProvider } from '../provider.js';

export interface EventRoutesOptions {
  readonly provider: AdminProvider;
  /** Milliseconds between heartbeat comments. */
  readonly heartbeatMs: number;
}

/** A client that leaves this much unread is dropped rather than buffered without bound. */
const MAX_BUFFERED = 1 << 20;

function parseTypes(types: string | undefined): Set<string> | null {
  if (types === undefined) return null;
  const wanted = new Set(types.split(','));
  for (const t of wanted) {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) {
      throw new WraithError('E_API_VALIDATION', `unknown event type ${JSON.stringify(t)}; known: ${EVENT_TYPES.join(', ')}`);
    }
  }
  return wanted;
}

/** One SSE frame; null when the event cannot be serialised. */
export function sseFrame(event: AdminEvent): string | null {
  let data: string;
  try {
    data = JSON.stringify(event);
  } catch {
    return null;
  }
  if (typeof data !== 'string') return null;
  // JSON.stringify never emits a raw newline, so one data line carries the whole event.
  return `event: ${event.type}\ndata: ${data}\n\n`;
}

export async function eventRoutes(instance: FastifyInstance, opts: EventRoutesOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { provider } = opts;
  const open = new Set<() => void>();

  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get(
    '/events',
    {
      schema: {
        querystring: EventsQuery,
        response: { 200: Type.String({ description: 'text/event-stream' }), '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const wanted = parseTypes(request.query.types);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-content-type-options': 'nosniff',
      });
      res.write(`retry: 2000\n: connected\n\n`);

      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        provider.events.off('event', onEvent);
        clearInterval(heartbeat);
        open.delete(end);
        if (!res.writableEnded) res.end();
      };
      const write = (chunk: string): void => {
        if (ended) return;
        if (res.writableLength > MAX_BUFFERED) {
          request.log.warn('admin: event stream dropped, the client reads too slowly');
          end();
          return;
        }
        res.write(chunk);
      };
      const onEvent = (event: AdminEvent): void => {
        if (event === null || typeof event !== 'object' || typeof event.type !== 'string') return;
        if (wanted !== null && !wanted.has(event.type)) return;
        const frame = sseFrame(event);
        if (frame !== null) write(frame);
      };
      const heartbeat = setInterval(() => write(`: heartbeat ${new Date().toISOString()}\n\n`), opts.heartbeatMs);
      provider.events.on('event', onEvent);
      open.add(end);
      res.on('close', end);
      res.on('error', end);
      request.raw.on('close', end);
    },
  );
}
