import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../admin/index.js';
import { isoInstant } from '../core/schemas.js';
import { deliveriesOf, incidentsBetween } from '../warehouse/alert-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';

const alertsQuery = z.strictObject({
  /** Default: 7 days before `to`. */
  from: isoInstant.optional(),
  /** Default: now. */
  to: isoInstant.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const delivery = z.object({
  event: z.enum(['alert', 'recovery']),
  channelId: z.string(),
  channelType: z.string(),
  ok: z.boolean(),
  attempts: z.number(),
  detail: z.string(),
  sentAt: z.string(),
});

const alert = z.object({
  id: z.string(),
  ruleId: z.string(),
  rule: z.string(),
  condition: z.string(),
  scope: z.string(),
  state: z.enum(['firing', 'resolved']),
  /** The figure that tripped the rule: a count, the revenue, or the refused share. */
  value: z.number(),
  figure: z.string(),
  startedAt: z.string(),
  resolvedAt: z.string().nullable(),
  deliveries: z.array(delivery),
});

/** GET /api/alerts: the alert history (admin key). */
export const alertRoute: FastifyPluginAsyncZod<{ warehouse: Warehouse; auth: Auth }> = async (app, { warehouse, auth }) => {
  app.get(
    '/api/alerts',
    {
      onRequest: auth.admin,
      schema: {
        tags: ['alerts'],
        summary: 'Alerts that were open between from and to, newest first',
        description: "Each with its rule, state (firing or resolved), times, the figure that tripped it and every channel's delivery outcome for the alert and its recovery. `from`/`to` are ISO 8601 instants or dates (UTC).",
        querystring: alertsQuery,
        response: { 200: z.object({ alerts: z.array(alert) }) },
      },
    },
    async (req) => {
      const to = req.query.to ?? new Date();
      const from = req.query.from ?? new Date(to.getTime() - 7 * 86_400_000);
      const incidents = await incidentsBetween(warehouse, from, to, req.query.limit);
      const deliveries = await deliveriesOf(warehouse, incidents.map((i) => i.incidentId));
      return {
        alerts: incidents.map((i) => ({
          id: i.incidentId,
          ruleId: i.ruleId,
          rule: i.ruleName,
          condition: i.condition,
          scope: i.scope,
          state: i.state,
          value: i.value,
          figure: i.figure,
          startedAt: i.startedAt.toISOString(),
          resolvedAt: i.resolvedAt?.toISOString() ?? null,
          deliveries: deliveries
            .filter((d) => d.incidentId === i.incidentId)
            .map((d) => ({ event: d.event, channelId: d.channelId, channelType: d.channelType, ok: d.ok, attempts: d.attempts, detail: d.detail, sentAt: d.sentAt.toISOString() })),
        })),
      };
    },
  );
};
