import type { FastifyInstance, HTTPMethods } from 'fastify';

export interface RouteInfo {
  method: HTTPMethods;
  /** As registered: `/api/campaigns/:id`, `/docs/*`. */
  url: string;
}

/**
 * Every route of a ready app, read from its router, so that a test covering "every route" covers
 * one added later without being told. Fastify lists routes only as printRoutes' tree (an onRoute
 * hook would have to be added before the plugins, inside buildApp): a radix tree, each node's
 * label continuing its parent's path, the methods on the nodes that end a route. Each route read is checked against the router (hasRoute), so a change of the
 * tree's layout fails here instead of leaving routes out.
 */
export function listRoutes(app: FastifyInstance): RouteInfo[] {
  const routes: RouteInfo[] = [];
  const pathAt: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const m = /^([\s│]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const url = (depth === 0 ? '' : pathAt[depth - 1]!) + m[2]!;
    pathAt[depth] = url;
    pathAt.length = depth + 1;
    for (const method of m[3]?.split(', ') ?? []) routes.push({ method: method as HTTPMethods, url });
  }
  for (const r of routes) {
    if (!app.hasRoute({ method: r.method, url: r.url })) throw new Error(`listRoutes read ${r.method} ${r.url}, which the router does not have`);
  }
  if (routes.length === 0) throw new Error('listRoutes read no route: the layout of printRoutes changed');
  return routes.sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method));
}
