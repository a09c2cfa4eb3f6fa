// The operator API as the CLI calls it: one request a call, and every failure turned into a
// CommandError that names the request, the HTTP status and the API's own message.
import { CommandError, type Connection } from './io.ts';

/** Sends a request with the operator token; resolves with the response when it is a 2xx. */
export async function request(conn: Connection, method: string, path: string, body?: unknown): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${conn.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${conn.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new CommandError(`cannot reach the master at ${conn.url}: ${cause ?? (err as Error).message}`);
  }
  if (res.ok) return res;
  const text = await res.text();
  let detail = text.trim();
  try {
    const json = JSON.parse(text) as { error?: string; message?: string };
    detail = [json.error, json.message].filter(Boolean).join(': ');
  } catch {
    // not JSON (a proxy's page): shown as it came
  }
  throw new CommandError(`${method} ${path}: ${res.status} ${res.statusText}${detail ? ` — ${detail}` : ''}`);
}

/** A request whose answer is JSON. */
export async function callJson<T>(conn: Connection, method: string, path: string, body?: unknown): Promise<T> {
  return (await (await request(conn, method, path, body)).json()) as T;
}

/**
 * Every item of a paged list (`{ [key]: T[], cursor? }`): pages are followed until the API sends no
 * cursor (a filtered page may be short or empty while one still comes).
 */
export async function listAll<T>(conn: Connection, path: string, key: string, filter: Record<string, string>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ ...filter, limit: '1000', ...(cursor ? { cursor } : {}) });
    const page = await callJson<Record<string, T[]> & { cursor?: string }>(conn, 'GET', `${path}?${query}`);
    items.push(...(page[key] as T[]));
    cursor = page.cursor as string | undefined;
  } while (cursor);
  return items;
}
