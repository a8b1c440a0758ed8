import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../../admin/index.js';
import { networkInput, networkParams, networkPatch, networkView } from './network-schema.js';
import type { Networks } from './networks.js';

export interface NetworkRouteOptions {
  networks: Networks;
  auth: Auth;
}

/** /api/networks: per-network postback settings (admin key). */
export const networkRoute: FastifyPluginAsyncZod<NetworkRouteOptions> = async (app, { networks, auth }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['networks'];

  app.post('/api/networks', { schema: { tags, body: networkInput, response: { 201: networkView } } }, async (req, reply) =>
    reply.status(201).send(await networks.create(req.body)),
  );

  app.get('/api/networks', { schema: { tags, response: { 200: z.object({ networks: z.array(networkView) }) } } }, async () => ({
    networks: networks.list(),
  }));

  app.get('/api/networks/:slug', { schema: { tags, params: networkParams, response: { 200: networkView } } }, async (req) =>
    networks.get(req.params.slug),
  );

  app.patch(
    '/api/networks/:slug',
    { schema: { tags, params: networkParams, body: networkPatch, response: { 200: networkView } } },
    async (req) => networks.update(req.params.slug, req.body),
  );

  app.delete('/api/networks/:slug', { schema: { tags, params: networkParams } }, async (req, reply) => {
    await networks.remove(req.params.slug);
    return reply.status(204).send();
  });
};
