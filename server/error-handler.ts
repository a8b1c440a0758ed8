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

const codeByStatus: Record<number, ErrorCode> = {
  400: 'KR_BAD_REQUEST',
  401: 'KR_UNAUTHORIZED',
  403: 'KR_FORBIDDEN',
  404: 'KR_NOT_FOUND',
  409: 'KR_CONFLICT',
  413: 'KR_PAYLOAD_TOO_LARGE',
  415: 'KR_UNSUPPORTED_MEDIA_TYPE',
};

const statusText: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  const statusCode = errorCodes[code].status;
  return { statusCode, code, error: statusText[statusCode] ?? 'Error', message: oneLine(message) };
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
    return { code: codeByStatus[status] ?? 'KR_BAD_REQUEST', message: error.message };
  }
  return { code: 'KR_INTERNAL', message: 'internal error' };
}

export function installErrorHandler(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const { code, message } = classify(error);
    const body = errorBody(code, message);
    if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    // A 503 (ClickHouse away, spool full) is a refusal an operator watches for; KR_INTERNAL is a bug, in the log.
    if (code !== 'KR_INTERNAL') metrics.rejects.inc({ code });
    return reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    metrics.rejects.inc({ code: 'KR_NOT_FOUND' });
    return reply.status(404).send(errorBody('KR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
