import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseClickId } from '../core/click-id.js';
import type { Auth } from '../admin/index.js';
import { fail } from '../core/errors.js';
import { findClick } from '../warehouse/click-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';

const params = z.object({ clickId: z.string().max(20) });

/** What identifies the visitor as a person: the admin key sees it, a report key (a media buyer's) does not. */
const visitorColumns = ['ip', 'user_agent'] as const;

/**
 * GET /api/clicks/:clickId: one recorded click with everything stored for it (admin key), or
 * without the visitor's IP address and user agent (report key).
 */
export const clickLookupRoute: FastifyPluginAsyncZod<{ warehouse: Warehouse; auth: Auth }> = async (app, { warehouse, auth }) => {
  app.get(
    '/api/clicks/:clickId',
    {
      schema: {
        tags: ['reports'],
        summary: 'A recorded click by its id',
        description: `Every stored column of the click. With a report key the visitor's ${visitorColumns.map((c) => `\`${c}\``).join(' and ')} are left out (the admin key sees them).`,
        params,
      },
      onRequest: auth.reports,
    },
    async (req) => {
      const id = parseClickId(req.params.clickId) ?? fail('KR_BAD_REQUEST', 'params.clickId: not a click id');
      const click = (await findClick(warehouse, id)) ?? fail('KR_NOT_FOUND', `no click ${req.params.clickId} in ClickHouse (yet: clicks arrive within a second)`);
      if (auth.isAdmin(req)) return click;
      return Object.fromEntries(Object.entries(click).filter(([column]) => !(visitorColumns as readonly string[]).includes(column)));
    },
  );
};
