import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import type { Replays } from './replays.js';
import { ruleInput, ruleParams, rulePatch, ruleReplayInput, ruleView } from './rule-schema.js';
import type { PostbackRules } from './rules.js';

export interface RuleRouteOptions {
  rules: PostbackRules;
  replays: Replays;
  auth: Auth;
}

/** /api/postback-rules: outgoing postback rules (admin key), and a rule's replay over a time range. */
export const ruleRoute: FastifyPluginAsyncZod<RuleRouteOptions> = async (app, { rules, replays, auth }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['outgoing postbacks'];

  app.post(
    '/api/postback-rules',
    {
      schema: {
        tags,
        summary: 'Create an outgoing postback rule',
        description: 'Scope global, source (a traffic source) or campaign: a conversion fires the rules of its campaign, else of its traffic source, else the global ones. The URL is refused when its host is a loopback, private, link-local or metadata address (KEYREV_OUTBOUND_ALLOW names exceptions).',
        body: ruleInput,
        response: { 201: ruleView },
      },
    },
    async (req, reply) => reply.status(201).send(await rules.create(req.body)),
  );

  app.get('/api/postback-rules', { schema: { tags, summary: 'List outgoing postback rules (signing keys never shown)', response: { 200: z.object({ rules: z.array(ruleView) }) } } }, async () => ({
    rules: rules.list(),
  }));

  app.get('/api/postback-rules/:id', { schema: { tags, summary: 'Read an outgoing postback rule', params: ruleParams, response: { 200: ruleView } } }, async (req) => rules.get(req.params.id));

  app.patch(
    '/api/postback-rules/:id',
    {
      schema: {
        tags,
        summary: 'Change an outgoing postback rule',
        description: '`signingKey: null` removes the key; a header value or URL query value sent back masked (`********`, as GET shows it) keeps the stored value.',
        params: ruleParams,
        body: rulePatch,
        response: { 200: ruleView },
      },
    },
    async (req) => rules.update(req.params.id, req.body),
  );

  app.delete('/api/postback-rules/:id', { schema: { tags, summary: 'Delete an outgoing postback rule', params: ruleParams } }, async (req, reply) => {
    await rules.remove(req.params.id);
    return reply.status(204).send();
  });

  app.post(
    '/api/postback-rules/:id/replay',
    {
      schema: {
        tags,
        summary: 'Apply a rule again to the conversions queued in a time range',
        description:
          'Creates the deliveries the rule should have made and has not (e.g. a rule created after the conversions), and sends failed ones again; `resend: true` sends delivered ones again too. At most 90 days. One call reads at most 20,000 queued conversion states: `next`, when not null, is the `from` of the call that goes on. A replay while another runs answers 409.',
        params: ruleParams,
        body: ruleReplayInput,
        response: { 200: z.object({ conversions: z.number(), created: z.number(), resent: z.number(), next: z.string().nullable() }) },
      },
    },
    async (req) => replays.rule(req.params.id, Date.parse(req.body.from), Date.parse(req.body.to), req.body.resend),
  );
};
