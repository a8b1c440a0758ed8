import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import { createdFeed, feedInput, feedParams, feedView, type StoredFeed } from './feed-schema.js';
import type { Feeds } from './feeds.js';

/** Where a feed's file is served (feed-file-route.ts). */
export const feedFilePath = (id: string) => `/feeds/${id}/conversions.csv`;

/** A feed as the API shows it: never its password digest; its URL on the host the admin called. */
function view(req: FastifyRequest, { passwordDigest: _digest, ...feed }: StoredFeed) {
  return { ...feed, url: `${req.protocol}://${req.host}${feedFilePath(feed.id)}` };
}

/** /api/feeds: create, list, read and delete ad-platform conversion feeds (admin key). */
export const feedRoute: FastifyPluginAsyncZod<{ feeds: Feeds; auth: Auth }> = async (app, { feeds, auth }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['feeds'];

  app.post(
    '/api/feeds',
    {
      schema: {
        tags,
        summary: 'Create a conversion feed for Google Ads or Microsoft Advertising',
        description: 'Answers the feed URL and its basic-auth username and password; the password is shown only here (keyrev keeps its SHA-256).',
        body: feedInput,
        response: { 201: createdFeed },
      },
    },
    async (req, reply) => {
      const { feed, password } = await feeds.create(req.body);
      return reply.status(201).send({ ...view(req, feed), password });
    },
  );

  app.get('/api/feeds', { schema: { tags, summary: 'List the conversion feeds', response: { 200: z.object({ feeds: z.array(feedView) }) } } }, async (req) => ({
    feeds: feeds.list().map((f) => view(req, f)),
  }));

  app.get('/api/feeds/:id', { schema: { tags, summary: 'One conversion feed', params: feedParams, response: { 200: feedView } } }, async (req) =>
    view(req, feeds.get(req.params.id)),
  );

  app.delete('/api/feeds/:id', { schema: { tags, summary: 'Delete a conversion feed (its URL answers 401 from then on)', params: feedParams } }, async (req, reply) => {
    await feeds.remove(req.params.id);
    return reply.status(204).send();
  });
};
