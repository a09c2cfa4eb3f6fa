// How the agent reaches its master: over TLS, trusting a private CA when given one, and never in
// clear to another machine unless told to (the join token and the agent's secret would cross the
// network readable by anyone on the path).
import { Agent, fetch as undiciFetch } from 'undici';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

/** Why the master URL is refused, or undefined: plain http:// only to this machine, or when allowed. */
export function insecureMasterProblem(master: string, insecureHttp: boolean): string | undefined {
  const url = new URL(master);
  if (url.protocol === 'https:' || insecureHttp || LOOPBACK.test(url.hostname)) return undefined;
  return `refusing plain http:// to ${url.host}: the join token and the agent's secret would cross the network in clear; use https://, or --insecure-http to accept that`;
}

/** A fetch that trusts the CA certificates in `ca` (PEM), as well as the system's. */
export function fetchTrusting(ca: string): typeof fetch {
  const dispatcher = new Agent({ connect: { ca } });
  return ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof fetch;
}
