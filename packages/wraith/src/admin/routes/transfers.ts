/**
 * /v1/transfers: list, one, start (POST {path, peer, rate?, allow_growth?, dest?, exclude?}) and cancel (DELETE). Starting is refused
 * unless [admin] send_roots is set, the peer is a [peers.NAME] entry and the path resolves
 * inside a send root (see ../send-roots.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { WraithError } from '@wraith/core';
import { ErrorBodySchema, NoQuery, StartTransferBody, TransferIdParams, TransferSchema, TransfersListSchema } from '../dto.js';
import type { AdminProvider } from '../provider.js';
import { resolveSendPath } from '../send-roots.js';
import { parseDest } from '../../dest.js';
import { compileExcludes } from '../../exclude.js';
import { RATE_EXPECTED, parseRate } from '../../units.js';

export interface TransferRoutesOptions {
  readonly provider: AdminProvider;
}

const errors = { '4xx': ErrorBodySchema, '5xx': ErrorBodySchema };

function unknownTransfer(id: string): WraithError {
  return new WraithError('E_TRANSFER_UNKNOWN', `no transfer ${JSON.stringify(id)}`, { id }, 'list them with `wraith transfers`');
}

export async function transferRoutes(instance: FastifyInstance, opts: TransferRoutesOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { provider } = opts;

  app.get('/transfers', { schema: { querystring: NoQuery, response: { 200: TransfersListSchema, ...errors } } }, async () => ({
    transfers: provider.transfers(),
  }));

  app.get(
    '/transfers/:id',
    { schema: { params: TransferIdParams, querystring: NoQuery, response: { 200: TransferSchema, ...errors } } },
    async (request) => {
      const t = provider.transfer(request.params.id);
      if (t === null) throw unknownTransfer(request.params.id);
      return t;
    },
  );

  app.post(
    '/transfers',
    { schema: { body: StartTransferBody, querystring: NoQuery, response: { 201: TransferSchema, ...errors } } },
    async (request, reply) => {
      const { path, peer, rate, allow_growth: allowGrowth = false, dest, exclude } = request.body;
      const rateBps = rate === undefined ? null : parseRate(rate);
      if (rateBps === null && rate !== undefined) {
        throw new WraithError('E_API_VALIDATION', `invalid body: rate: expected ${RATE_EXPECTED}, found ${JSON.stringify(rate)}`);
      }
      let under: string | undefined;
      try {
        under = dest === undefined ? undefined : parseDest(dest, 'dest');
        if (exclude !== undefined) compileExcludes(exclude, 'exclude');
      } catch (e) {
        throw new WraithError('E_API_VALIDATION', `invalid body: ${(e as Error).message}`);
      }
      const roots = provider.sendRoots();
      if (roots.length === 0) {
        throw new WraithError('E_ADMIN_SEND_DISABLED', 'sending through the admin API is off: [admin] send_roots is empty');
      }
      if (!provider.peerNames().includes(peer)) {
        throw new WraithError('E_PEER_UNKNOWN', `no [peers.${peer}] entry in the config`, { peer });
      }
      const real = await resolveSendPath(path, roots);
      request.log.info({ path: real, peer, rate_bps: rateBps, allow_growth: allowGrowth, ...(under !== undefined ? { dest: under } : {}) }, 'admin: transfer requested');
      const t = await provider.startTransfer({
        path: real,
        peerName: peer,
        rateBps,
        allowGrowth,
        ...(under !== undefined ? { dest: under } : {}),
        ...(exclude !== undefined && exclude.length > 0 ? { exclude } : {}),
      });
      return reply.code(201).header('location', `/v1/transfers/${encodeURIComponent(t.id)}`).send(t);
    },
  );

  app.delete(
    '/transfers/:id',
    { schema: { params: TransferIdParams, querystring: NoQuery, response: { 200: TransferSchema, ...errors } } },
    async (request) => {
      const { id } = request.params;
      if (provider.transfer(id) === null) throw unknownTransfer(id);
      if (!(await provider.cancel(id))) {
        throw new WraithError('E_TRANSFER_FINISHED', `transfer ${id} has already finished`, { id });
      }
      request.log.info({ id }, 'admin: transfer cancelled');
      const t = provider.transfer(id);
      if (t === null) throw unknownTransfer(id);
      return t;
    },
  );
}
