/**
 * The one registry of error codes keyrev answers with. Every code is listed in the README's
 * "Error codes" table (a test checks it), so an API user can look up any code they receive.
 */
export const errorCodes = {
  KR_BAD_REQUEST: { status: 400, title: 'the request is malformed or a value is out of range' },
  KR_UNAUTHORIZED: { status: 401, title: 'missing or wrong API key' },
  KR_FORBIDDEN: { status: 403, title: 'not allowed: a read-only report key on the admin API, a postback with a bad secret, signature or address' },
  KR_NOT_FOUND: { status: 404, title: 'no such route or object' },
  KR_REQUEST_TIMEOUT: { status: 408, title: 'the request (its headers or body) did not arrive in time; the connection is closed' },
  KR_CONFLICT: { status: 409, title: 'the object exists already' },
  KR_PAYLOAD_TOO_LARGE: { status: 413, title: 'the body is larger than the limit' },
  KR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'the Content-Type is not accepted here' },
  KR_TOO_MANY_REQUESTS: { status: 429, title: 'too many requests of this kind at once (exports: KEYREV_MAX_CONCURRENT_EXPORTS); retry shortly' },
  KR_SPOOL_FULL: { status: 503, title: 'the local spool cannot take the record (disk limit or write error); retry later' },
  KR_WAREHOUSE_UNAVAILABLE: { status: 503, title: 'ClickHouse cannot be reached; ingest keeps spooling' },
  KR_DISK_LOW: { status: 503, title: "the data directory's disk has less free space than an export may need (KEYREV_EXPORT_MIN_FREE_BYTES); retry when space is freed" },
  KR_INTERNAL: { status: 500, title: 'a bug in keyrev; the log has the details' },
} as const;

export type ErrorCode = keyof typeof errorCodes;

/**
 * The one error type meant for a client: its code picks the status, its message is one line, and
 * `reason` (when set) is a stable word for metrics and logs (`bad_secret`, `missing_click_id`).
 * Thrown by routes and domain code; returned as a value where a batch answers many requests at
 * once (an NDJSON line refused while the rest of its stream goes on).
 */
export class KeyrevError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'KeyrevError';
    this.statusCode = errorCodes[code].status;
  }
}

export function isKeyrevError(value: unknown): value is KeyrevError {
  return value instanceof KeyrevError;
}

export function fail(code: ErrorCode, message: string = errorCodes[code].title): never {
  throw new KeyrevError(code, message);
}

/** A reason to refuse to start, printed as one line without a stack trace. */
export class StartupError extends Error {
  override name = 'StartupError';
}
