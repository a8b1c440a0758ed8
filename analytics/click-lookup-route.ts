import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseClickId } from '../core/click-id.js';
import type { Auth } from '../admin/index.js';
import { fail } from '../core/errors.js';
import { findClick } from '../warehouse/click-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';

const params = z.object({ clickId: z.string().max(20) });

/** GET /api/clicks/:clickId: one recorded click with everything stored for it (report or admin key). */
export const clickLookupRoute: FastifyPluginAsyncZod<{ warehouse: Warehouse; auth: Auth }> = async (app, { warehouse, auth }) => {
  app.get(
    '/api/clicks/:clickId',
    { schema: { tags: ['reports'], summary: 'A recorded click by its id', params }, preHandler: auth.reports },
    async (req) => {
      const id = parseClickId(req.params.clickId) ?? fail('KR_BAD_REQUEST', 'params.clickId: not a click id');
      return (await findClick(warehouse, id)) ?? fail('KR_NOT_FOUND', `no click ${req.params.clickId} in ClickHouse (yet: clicks arrive within a second)`);
    },
  );
};
