import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import { fail } from '../core/errors.js';
import { listDeliveries } from '../warehouse/outbox-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { deliveryParams, deliveryQuery, deliveryView, toDeliveryView } from './delivery-schema.js';
import type { Replays } from './replays.js';

export interface DeliveryRouteOptions {
  wh: Warehouse;
  replays: Replays;
  auth: Auth;
}

const day = 86_400_000;

/** /api/postback-deliveries: the delivery log of outgoing postbacks, and replays (admin key). */
export const deliveryRoute: FastifyPluginAsyncZod<DeliveryRouteOptions> = async (app, { wh, replays, auth }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['outgoing postbacks'];

  app.get(
    '/api/postback-deliveries',
    {
      schema: {
        tags,
        summary: 'Outgoing postback deliveries, newest first, with every attempt',
        description: 'Deliveries created in [from, to) (default: the last 24 hours), filtered by state and rule. Secret query values, the URL password and header values (but Content-Type, Accept, User-Agent, X-Keyrev-Delivery) are masked.',
        querystring: deliveryQuery,
        response: { 200: z.object({ rows: z.array(deliveryView) }) },
      },
    },
    async (req) => {
      const q = req.query;
      const toMs = q.to === undefined ? Date.now() + 1 : q.to.getTime();
      const fromMs = q.from === undefined ? toMs - day : q.from.getTime();
      if (!(fromMs < toMs)) fail('KR_BAD_REQUEST', 'querystring.to: must be after from');
      const rows = await listDeliveries(wh, { fromMs, toMs, state: q.state, ruleId: q.ruleId, limit: q.limit });
      return { rows: rows.map(({ delivery, attempts }) => toDeliveryView(delivery, attempts)) };
    },
  );

  app.post(
    '/api/postback-deliveries/:id/replay',
    {
      schema: {
        tags,
        summary: 'Send a delivery again',
        description: 'Sets the delivery back to pending at the start of the retry schedule; the process running the cluster jobs sends it at once (or within 5 seconds when another process runs them).',
        params: deliveryParams,
        response: { 202: deliveryView },
      },
    },
    async (req, reply) => reply.status(202).send(toDeliveryView(await replays.delivery(req.params.id))),
  );
};
