import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import { channel, channelInput, channelParams, deliveryOutcome, type Channel, type DeliveryOutcome } from './channel-schema.js';
import { maskChannel, type Channels } from './channels.js';

export interface ChannelRouteOptions {
  channels: Channels;
  auth: Auth;
  /** Sends a test message to a channel, once. */
  test(c: Channel): Promise<DeliveryOutcome>;
}

/** /api/alert-channels: where alerts go (admin key). Secrets are never answered. */
export const channelRoute: FastifyPluginAsyncZod<ChannelRouteOptions> = async (app, { channels, auth, test }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['alerts'];

  app.post(
    '/api/alert-channels',
    {
      schema: {
        tags,
        summary: 'Create an alert channel: webhook, slack, telegram, twilio-sms or email',
        description: 'Built-in channels take an `apiBase` to send through a proxy or to a test receiver. Tokens, passwords, header values and webhook paths are masked when read.',
        body: channelInput,
        response: { 201: channel },
      },
    },
    async (req, reply) => reply.status(201).send(maskChannel(await channels.create(req.body))),
  );

  app.get('/api/alert-channels', { schema: { tags, summary: 'Alert channels, secrets masked', response: { 200: z.object({ channels: z.array(channel) }) } } }, async () => ({
    channels: channels.list().map(maskChannel),
  }));

  app.get('/api/alert-channels/:id', { schema: { tags, summary: 'One alert channel, secrets masked', params: channelParams, response: { 200: channel } } }, async (req) =>
    maskChannel(channels.get(req.params.id)),
  );

  app.delete('/api/alert-channels/:id', { schema: { tags, summary: 'Delete an alert channel no rule sends to', params: channelParams } }, async (req, reply) => {
    await channels.remove(req.params.id);
    return reply.status(204).send();
  });

  app.post(
    '/api/alert-channels/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a test message to a channel',
        description: "Answers with what the channel said (one attempt): `ok`, and the receiver's status or error.",
        params: channelParams,
        response: { 200: deliveryOutcome },
      },
    },
    async (req) => test(channels.get(req.params.id)),
  );
};
