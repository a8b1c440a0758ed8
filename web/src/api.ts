/** The dashboard's one way to the API: adds the key, turns error bodies into readable messages. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const keyStorage = 'keyrev.apiKey';

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
  const res = await fetch(path, { ...init, headers });
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = (body ?? {}) as { code?: string; message?: string; reason?: string };
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
    const e = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
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
