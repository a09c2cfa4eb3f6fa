// How the agent reaches its master: over TLS, trusting a private CA when given one, and never in
// clear to another machine unless told to (the join token and the agent's secret would cross the
// network readable by anyone on the path).

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

/** Why the master URL is refused, or undefined: plain http:// only to this machine, or when allowed. */
export function insecureMasterProblem(master: string, insecureHttp: boolean): string | undefined {
  const url = new URL(master);
  if (url.protocol === 'https:' || insecureHttp || LOOPBACK.test(url.hostname)) return undefined;
  return `refusing plain http:// to ${url.host}: the join token and the agent's secret would cross the network in clear; use https://, or --insecure-http to accept that`;
}

/**
 * A fetch that trusts the CA certificates in `ca` (PEM), as well as the system's. undici is loaded
 * only then, so the client also runs where it is not (the Workers tests drive agents from workerd).
 */
export function fetchTrusting(ca: string): typeof fetch {
  const client = import('undici').then(({ Agent, fetch }) => ({ fetch, dispatcher: new Agent({ connect: { ca } }) }));
  return (async (input: string | URL, init?: RequestInit) => {
    const { fetch, dispatcher } = await client;
    return fetch(input, { ...(init as object), dispatcher });
  }) as unknown as typeof fetch;
}
