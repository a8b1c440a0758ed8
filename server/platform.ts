import { PassThrough } from 'node:stream';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifyRequest, onSendHookHandler, preParsingHookHandler, preValidationHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Config } from '../core/config.js';
import { KeyrevError } from '../core/errors.js';
import { EventBus, type KeyrevEvents } from '../core/events.js';
import { JobRunner } from '../core/jobs.js';
import { countRequests, createMetrics } from '../core/metrics.js';
import { migrate } from '../schema/migrate.js';
import { openWarehouse } from '../warehouse/open.js';
import { SettingsStores } from '../warehouse/settings-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { announcesBody, installErrorHandler } from './error-handler.js';

export interface PlatformOptions {
  config: Config;
  /** A warehouse opened by the caller (kept open on close); by default the app opens its own. */
  warehouse?: Warehouse;
  /** Routes that get no security headers: the click and postback paths (server/app.ts says why). */
  bareRoute?: (url: string) => boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The schema version the warehouse was migrated to at start. */
    schemaVersion: number;
  }
}

/**
 * What every module stands on: validation and the one error handler, metrics, the warehouse
 * (opened, migrated, closed last), settings stores, the job runner and the event bus, and the
 * OpenAPI document the routes' zod schemas make.
 */
export const platformPlugin = fp<PlatformOptions>(
  async (app, { config, warehouse: given, bareRoute = () => false }) => {
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    const metrics = createMetrics();
    installErrorHandler(app, metrics);
    countRequests(app, metrics);
    // First: both act on the routes registered from here on.
    securityHeaders(app, bareRoute);
    limitBodyTime(app, config, bareRoute);

    const warehouse = given ?? (await openWarehouse(config));
    // Registered first, so it runs last: every module has shipped its spool by then.
    app.addHook('onClose', async () => {
      if (!given) await warehouse.close();
    });
    const { current } = await migrate(warehouse);
    const settings = new SettingsStores(warehouse);
    const jobs = new JobRunner({
      clusterJobs: config.clusterJobs,
      onError: (job, err) => app.log.warn({ err, job }, 'job failed; it runs again at its next interval'),
    });
    jobs.add({ name: 'settings-refresh', scope: 'process', everyMs: config.settingsRefreshMs, run: () => settings.refresh() });
    app.addHook('onReady', async () => jobs.start());
    // Before the modules close what jobs use.
    app.addHook('preClose', () => jobs.stop());

    app.decorate('metrics', metrics);
    app.decorate('warehouse', warehouse);
    app.decorate('schemaVersion', current);
    app.decorate('settings', settings);
    app.decorate('jobs', jobs);
    app.decorate('events', new EventBus<KeyrevEvents>((err, name) => app.log.error({ err, event: name }, 'an event subscriber failed')));

    await app.register(fastifySwagger, {
      openapi: {
        info: { title: 'keyrev API', version: '0.1.0', description: 'Keyword and ad attribution: clicks, postbacks, reports.' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
      transform: jsonSchemaTransform,
    });
    // No validator badge: it would send the document's URL to validator.swagger.io (and the CSP forbids it).
    await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null } });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'keyrev-platform' },
);

/**
 * Headers that let a browser run and show only keyrev's own pages, which matters because the
 * dashboard keeps an API key in localStorage: a Content-Security-Policy allowing scripts, styles,
 * fetches, fonts and images from keyrev itself only (no inline script, no eval, no plugins),
 * no framing by any page (frame-ancestors and X-Frame-Options), nosniff, no referrer, and the rest
 * of helmet's defaults. The dashboard (web/, built by Vite) has no inline script or style;
 * swagger-ui at /docs has no inline script and one inline style, allowed by its hash.
 *
 * helmet's middleware is built once and set in a route-level onSend hook: onSend runs for every
 * answer of the route, refusals from onRequest hooks (a 401) included, and routes that `bare`
 * names get no hook at all. @fastify/helmet instead adds two global onRequest hooks (one async,
 * rebuilding the middleware per request) that run on every route, the click redirect too: with
 * that route opted out they still cost a bare Fastify redirect route 8 to 16% of its requests per
 * second (autocannon, 20 connections, this 2-core machine), where this costs it nothing.
 */
function securityHeaders(app: FastifyInstance, bare: (url: string) => boolean): void {
  const policy = (styleSrc: string[]) => ({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc,
        // Not upgrade-insecure-requests (in helmet's defaults): keyrev is often reached over plain
        // HTTP (localhost, a private address), where it would turn the dashboard's own scripts into
        // https:// requests that fail.
      },
    },
    frameguard: { action: 'deny' as const },
  });
  // helmet sets its headers synchronously (and throws rather than passing an error on).
  const hookOf =
    (setHeaders: ReturnType<typeof helmet>): onSendHookHandler =>
    (request, reply, payload, done) => {
      setHeaders(request.raw, reply.raw, () => {});
      done(null, payload);
    };
  const pages = hookOf(helmet(policy(["'self'"])));
  // swagger-ui's bundle adds one <style> element of fixed content while it starts; its hash (the
  // one Chromium names in the violation) allows that one and no other inline style. A new
  // swagger-ui may bring another: test/security/headers.test.ts then fails naming it.
  const docs = hookOf(helmet(policy(["'self'", "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"])));
  app.addHook('onRoute', (route) => {
    if (bare(route.url)) return;
    const hook = route.url === '/docs' || route.url.startsWith('/docs/') ? docs : pages;
    route.onSend = [...(route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]), hook];
  });
}

const bodyLimit = Symbol('keyrev.bodyLimit');
type LimitedRequest = FastifyRequest & { [bodyLimit]?: { body: PassThrough; timer: NodeJS.Timeout } };

/**
 * Time limits for request bodies (headers have Node's headersTimeout, server/app.ts). A body that
 * the route reads whole (a postback, an admin JSON body) must be in within KEYREV_BODY_TIMEOUT_MS,
 * else the answer is 408 KR_REQUEST_TIMEOUT and the connection is closed. Node's own
 * requestTimeout cannot do this: it covers the whole request, and POST /postbacks may rightly
 * stream gigabytes for many minutes. A route whose content-type parser hands the body on as a
 * stream (the bulk route) has it at once, so the deadline ends there and no route needs to opt
 * out; from then on the stream is only cut when it sends nothing for
 * KEYREV_STREAM_IDLE_TIMEOUT_MS (its total time is the route's own business).
 *
 * The body passes through a PassThrough, which the deadline can fail without destroying the
 * socket: the parser sees the error and the one error handler answers. Only requests with a
 * body get one; a GET or HEAD (whose body Fastify never reads) closes its connection after the
 * answer instead of reading what the client keeps sending.
 */
function limitBodyTime(app: FastifyInstance, { bodyTimeoutMs, streamIdleTimeoutMs }: Pick<Config, 'bodyTimeoutMs' | 'streamIdleTimeoutMs'>, bare: (url: string) => boolean): void {
  const preParsing: preParsingHookHandler = (request, reply, payload, done) => {
    if (!announcesBody(request.raw)) return done(null, payload);
    if (request.method === 'GET' || request.method === 'HEAD') {
      reply.header('connection', 'close');
      return done(null, payload);
    }
    const body = new PassThrough();
    // A client that hung up fails the parser as before.
    payload.on('error', (err) => body.destroy(err));
    // Like the request it stands for, whose errors Node emits only to listeners: the parser or the
    // route reading it gets the error; one that pipes it on unheeded must not crash the process.
    body.on('error', () => {});
    payload.pipe(body);
    const timer = setTimeout(() => {
      if (!body.readableEnded) body.destroy(new KeyrevError('KR_REQUEST_TIMEOUT', `the request body did not arrive within ${bodyTimeoutMs} ms`));
    }, bodyTimeoutMs).unref();
    body.once('close', () => clearTimeout(timer));
    (request as LimitedRequest)[bodyLimit] = { body, timer };
    done(null, body);
  };

  // After the body parser: a buffered body is in; a streamed one is the request's body itself.
  const preValidation: preValidationHookHandler = (request, _reply, done) => {
    const limit = (request as LimitedRequest)[bodyLimit];
    if (!limit) return done();
    clearTimeout(limit.timer);
    const raw = request.raw;
    // app.inject's requests have no socket to time.
    if (request.body === limit.body && !limit.body.readableEnded && typeof raw.setTimeout === 'function') {
      raw.setTimeout(streamIdleTimeoutMs, () => {
        // Told once: the route answers 408 with what it recorded. Idle again (Node arms a socket's
        // timeout once per call): nobody answered, cut.
        if (limit.body.destroyed) return void raw.socket?.destroy();
        limit.body.destroy(new KeyrevError('KR_REQUEST_TIMEOUT', `the stream sent nothing for ${streamIdleTimeoutMs} ms`));
        raw.socket?.setTimeout(streamIdleTimeoutMs);
      });
      // Once the stream is read, the route may take its time to answer: no idle limit then.
      limit.body.once('end', () => raw.socket?.setTimeout(0));
    }
    done();
  };

  // Per route, so that the click redirect (a GET, the hottest route) runs neither hook.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (bare(route.url) && methods.every((m) => m === 'GET' || m === 'HEAD')) return;
    const list = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);
    route.preParsing = [...list(route.preParsing), preParsing];
    route.preValidation = [...list(route.preValidation), preValidation];
  });
}
