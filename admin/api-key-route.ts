import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from './auth.js';
import { objectId } from '../core/schemas.js';
import { apiKeyInput, apiKeyView, createdApiKey } from './api-key-schema.js';
import type { ApiKeys } from './api-keys.js';

/** /api/keys: read-only report keys for media buyers (admin key). */
export const apiKeyRoute: FastifyPluginAsyncZod<{ apiKeys: ApiKeys; auth: Auth }> = async (app, { apiKeys, auth }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['keys'];

  app.post('/api/keys', { schema: { tags, body: apiKeyInput, response: { 201: createdApiKey } } }, async (req, reply) =>
    reply.status(201).send(await apiKeys.create(req.body)),
  );

  app.get('/api/keys', { schema: { tags, response: { 200: z.object({ keys: z.array(apiKeyView) }) } } }, async () => ({
    keys: apiKeys.list(),
  }));

  app.delete('/api/keys/:id', { schema: { tags, params: z.object({ id: objectId }) } }, async (req, reply) => {
    await apiKeys.remove(req.params.id);
    return reply.status(204).send();
  });
};
