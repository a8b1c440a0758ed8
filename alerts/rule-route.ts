import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import { rule, ruleInput, ruleParams } from './rule-schema.js';
import type { Rules } from './rules.js';

/** /api/alert-rules: what to watch and whom to tell (admin key). */
export const ruleRoute: FastifyPluginAsyncZod<{ rules: Rules; auth: Auth }> = async (app, { rules, auth }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['alerts'];

  app.post(
    '/api/alert-rules',
    {
      schema: {
        tags,
        summary: 'Create an alert rule',
        description:
          'A condition over the last `windowMinutes` (no_sales, no_conversions, clicks_without_conversions, revenue_below, postback_failures), scoped by campaign, source or keyword, checked every KEYREV_ALERT_CHECK_MS; one alert when it starts, one recovery when it ends.',
        body: ruleInput,
        response: { 201: rule },
      },
    },
    async (req, reply) => reply.status(201).send(await rules.create(req.body)),
  );

  app.get('/api/alert-rules', { schema: { tags, summary: 'Alert rules', response: { 200: z.object({ rules: z.array(rule) }) } } }, async () => ({ rules: rules.list() }));

  app.get('/api/alert-rules/:id', { schema: { tags, summary: 'One alert rule', params: ruleParams, response: { 200: rule } } }, async (req) => rules.get(req.params.id));

  app.delete('/api/alert-rules/:id', { schema: { tags, summary: 'Delete an alert rule (an open incident closes without a message)', params: ruleParams } }, async (req, reply) => {
    await rules.remove(req.params.id);
    return reply.status(204).send();
  });
};
