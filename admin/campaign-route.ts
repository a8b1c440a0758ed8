import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from './auth.js';
import { campaign, campaignInput, campaignParams, campaignPatch } from './campaign-schema.js';
import type { Campaigns } from './campaigns.js';

export interface CampaignRouteOptions {
  campaigns: Campaigns;
  auth: Auth;
}

/** /api/campaigns: create, list, read, change and delete campaigns (admin key). */
export const campaignRoute: FastifyPluginAsyncZod<CampaignRouteOptions> = async (app, { campaigns, auth }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['campaigns'];

  app.post('/api/campaigns', { schema: { tags, body: campaignInput, response: { 201: campaign } } }, async (req, reply) =>
    reply.status(201).send(await campaigns.create(req.body)),
  );

  app.get('/api/campaigns', { schema: { tags, response: { 200: z.object({ campaigns: z.array(campaign) }) } } }, async () => ({
    campaigns: campaigns.list(),
  }));

  app.get('/api/campaigns/:id', { schema: { tags, params: campaignParams, response: { 200: campaign } } }, async (req) =>
    campaigns.get(req.params.id),
  );

  app.patch(
    '/api/campaigns/:id',
    { schema: { tags, params: campaignParams, body: campaignPatch, response: { 200: campaign } } },
    async (req) => campaigns.update(req.params.id, req.body),
  );

  app.delete('/api/campaigns/:id', { schema: { tags, params: campaignParams } }, async (req, reply) => {
    await campaigns.remove(req.params.id);
    return reply.status(204).send();
  });
};
