// What an edge in front of the master (the Cloudflare Worker before its one Durable Object) can refuse
// without the registry: API requests with no bearer credential, and agent paths whose id is no UUID.
// The answers are the master's own (401, 404), so refusing early changes nothing a client sees.
import { UUID_PATTERN } from '../secrets.ts';
import { bearerToken } from './auth.ts';

const AGENT_PATH = /^\/api\/v1\/agents\/([^/]+)(?:\/|$)/;

const refuse = (status: 401 | 404, error: string, message: string) => Response.json({ error, message }, { status });

/** The answer for a request the master would refuse anyway, or undefined to pass it on. */
export function refuseEarly(request: Request): Response | undefined {
  const { pathname } = new URL(request.url);
  if (!pathname.startsWith('/api/')) return undefined;
  if (bearerToken(request.headers.get('authorization')) === undefined) return refuse(401, 'unauthorized', 'missing bearer credentials');
  const id = AGENT_PATH.exec(pathname)?.[1];
  if (id !== undefined && !UUID_PATTERN.test(decodeURIComponent(id))) return refuse(404, 'not_found', 'no such agent: agent ids are UUIDs');
  return undefined;
}
