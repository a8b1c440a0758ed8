// The dashboard's one way to the API: adds the key, turns error bodies into readable messages.
import type { paths } from './api-types.js';

type Responses<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R } ? R : never;

/**
 * The JSON body of an answer, from the types generated out of /openapi.json (api-types.ts), so a
 * change of the API's schemas shows up here as a type error instead of a silent mismatch.
 */
export type Json<P extends keyof paths, M extends keyof paths[P], S extends keyof Responses<P, M>> = Responses<P, M>[S] extends {
  content: { 'application/json': infer B };
}
  ? B
  : never;

/** The JSON body a route takes. */
export type JsonBody<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } }
  ? B
  : never;

/**
 * The API's one error body ({statusCode, code, error, message}), which every route answers with;
 * GET /api/report/meta is where the OpenAPI document declares it.
 */
export type ApiErrorBody = Json<'/api/report/meta', 'get', 401>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorBody['code'] | '',
    message: string,
  ) {
    super(message);
  }
}

const keyStorage = 'keyrev.apiKey';
const unreachable = 'The keyrev API cannot be reached; is it running?';

export function apiKey(): string {
  return localStorage.getItem(keyStorage) ?? '';
}

export function setApiKey(key: string): void {
  localStorage.setItem(keyStorage, key.trim());
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (apiKey()) headers.set('authorization', `Bearer ${apiKey()}`);
  if (init.body) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers }).catch(() => {
    // fetch rejects only when no answer came at all (server down, network gone): status 0.
    throw new ApiError(0, '', unreachable);
  });
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    // `reason`: /health (not in the OpenAPI document) answers 503 with one instead of an error body.
    const e = (body ?? {}) as Partial<ApiErrorBody> & { reason?: string };
    throw new ApiError(res.status, e.code ?? '', e.message ?? e.reason ?? res.statusText);
  }
  return body as T;
}

/**
 * Downloads an export with the key in the Authorization header (a plain link cannot send it, and
 * keys do not belong in URLs, where proxies and browser history keep them).
 */
export async function download(path: string): Promise<void> {
  const res = await fetch(path, { headers: apiKey() ? { authorization: `Bearer ${apiKey()}` } : {} });
  if (!res.ok) {
    const e = (await res.json().catch(() => ({}))) as Partial<ApiErrorBody>;
    throw new ApiError(res.status, e.code ?? '', e.message ?? res.statusText);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'keyrev-export';
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
