import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { WarehouseError } from '../warehouse/warehouse.js';
import { KeyrevError, errorCodes, type ErrorCode } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';

/** The one JSON error shape: {statusCode, code, error, message}, as Fastify's own, with keyrev codes. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  error: string;
  message: string;
}

/** The keyrev code of a 4xx status Fastify or a plugin answers with, from the registry (one 4xx code per status). */
const codeByStatus = new Map<number, ErrorCode>(
  (Object.keys(errorCodes) as ErrorCode[]).filter((code) => errorCodes[code].status < 500).map((code) => [errorCodes[code].status, code]),
);

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  const statusCode = errorCodes[code].status;
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message: oneLine(message) };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** Turns any error into a keyrev code and a one-line reason; only real bugs become 500. */
export function classify(error: FastifyError | Error): { code: ErrorCode; message: string } {
  if (error instanceof KeyrevError) return { code: error.code, message: error.message };
  if (error instanceof WarehouseError && error.unavailable) {
    return { code: 'KR_WAREHOUSE_UNAVAILABLE', message: 'ClickHouse is unreachable, try again shortly' };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const first = error.validation[0]!;
    const where = [error.validationContext, ...first.instancePath.split('/')].filter(Boolean).join('.');
    return { code: 'KR_BAD_REQUEST', message: `${where}: ${first.message}` };
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return { code: codeByStatus.get(status) ?? 'KR_BAD_REQUEST', message: error.message };
  }
  return { code: 'KR_INTERNAL', message: 'internal error' };
}

/** The request announces a body: a Content-Length above 0, or a Transfer-Encoding (chunked). */
export function announcesBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * A refusal sent before the body was read (a 401 from onRequest, a 415, a timeout) closes the
 * connection: otherwise Node reads and throws away the rest of the body, for as long as the client
 * keeps sending it, before the connection can take another request.
 */
function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.raw.complete && announcesBody(request.raw)) reply.header('connection', 'close');
}

export function installErrorHandler(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const { code, message } = classify(error);
    const body = errorBody(code, message);
    if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    // A 503 (ClickHouse away, spool full) is a refusal an operator watches for; KR_INTERNAL is a bug, in the log.
    if (code !== 'KR_INTERNAL') metrics.rejects.inc({ code });
    closeIfBodyUnread(request, reply);
    return reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    metrics.rejects.inc({ code: 'KR_NOT_FOUND' });
    closeIfBodyUnread(request, reply);
    return reply.status(404).send(errorBody('KR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}

/**
 * Fastify's clientErrorHandler: what Node refuses before there is a request to route (headers not
 * complete within KEYREV_HEADERS_TIMEOUT_MS, headers too large, not HTTP), answered in the one
 * error shape and counted like every refusal. The connection is closed once the answer is out.
 */
export function clientErrorAnswer(headersTimeoutMs: number) {
  return function answerClientError(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
    // A reset connection has nobody to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const body =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? errorBody('KR_REQUEST_TIMEOUT', `the request headers did not arrive within ${headersTimeoutMs} ms`)
        : errorBody('KR_BAD_REQUEST', err.code === 'HPE_HEADER_OVERFLOW' ? 'the request headers are too large' : 'not a valid HTTP request');
    // `metrics` is there once the platform plugin is registered, before the server listens.
    (this as Partial<FastifyInstance>).metrics?.rejects.inc({ code: body.code });
    if (!socket.writable) return void socket.destroy();
    const json = JSON.stringify(body);
    const head = `HTTP/1.1 ${body.statusCode} ${body.error}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n`;
    // Destroyed once written: a client that never closes its side would otherwise keep it open.
    socket.end(head + json, () => socket.destroy());
  };
}

/**
 * The router's own refusals (a path with a broken percent escape, a path parameter longer than the
 * router takes), answered in the one error shape: Fastify's default body echoes the path and uses
 * its own codes. Counted like every refusal.
 */
export function routerRefusal(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than 200 characters' : 'the URL path is not valid (a broken percent escape)';
  request.server.metrics?.rejects.inc({ code: 'KR_BAD_REQUEST' });
  void reply.status(400).send(errorBody('KR_BAD_REQUEST', message));
}
