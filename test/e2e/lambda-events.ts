// Events as AWS sends them to the Lambda entry, built from a fetch Request: payload format 2.0 from a
// Function URL (auth NONE) or an API Gateway HTTP API ($default route), and EventBridge's scheduled event.
// Shapes follow the Lambda and API Gateway developer guides' examples: lowercased headers, cookies
// split out, rawPath/rawQueryString, requestContext.http, bodies base64-encoded unless text.
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyResult, LambdaEvent } from 'hono/aws-lambda';
import type { LambdaContainer, ScheduledEvent } from '../../src/lambda.ts';

export type Flavor = 'function-url' | 'http-api';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

/** The master URL an agent would be given for each front door. */
export const MASTER_URL: Record<Flavor, string> = {
  'function-url': `https://a1b2c3d4e5f6g7h8i9j0klmnopqrstuv.lambda-url.${REGION}.on.aws`,
  'http-api': `https://r4nd0m1d42.execute-api.${REGION}.amazonaws.com`,
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');
/** requestContext.time: "12/Mar/2020:19:03:58 +0000". */
const clf = (d: Date) =>
  `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;

const isText = (contentType: string | null) => !contentType || /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript))/.test(contentType);

export interface EventOptions {
  /** Send the body base64-encoded even when it is text (a client sending application/octet-stream, say). */
  base64?: boolean;
}

/** A payload 2.0 event for this request, as the Function URL or HTTP API would build it. */
export async function httpEvent(request: Request, flavor: Flavor, opts: EventOptions = {}): Promise<LambdaEvent> {
  const url = new URL(request.url);
  const now = new Date();
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value; // Headers gives lowercased names, repeated values joined by commas, as 2.0 does
  });
  const cookies = headers.cookie?.split(/;\s*/);
  delete headers.cookie;
  headers.host = url.host;
  headers['x-forwarded-for'] = '203.0.113.7';
  headers['x-forwarded-port'] = '443';
  headers['x-forwarded-proto'] = 'https';
  headers['x-amzn-trace-id'] = `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`;
  if (flavor === 'function-url') headers['x-amzn-tls-version'] = 'TLSv1.3';

  const bytes = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
  const base64 = bytes !== undefined && (opts.base64 === true || !isText(request.headers.get('content-type')));
  const query = url.searchParams.size > 0
    ? { queryStringParameters: Object.fromEntries([...new Set(url.searchParams.keys())].map((k) => [k, url.searchParams.getAll(k).join(',')])) }
    : {};
  const id = url.host.split('.')[0]!;

  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies ? { cookies } : {}),
    headers,
    ...query,
    requestContext: {
      accountId: flavor === 'function-url' ? 'anonymous' : ACCOUNT,
      apiId: id,
      domainName: url.host,
      domainPrefix: id,
      http: {
        method: request.method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.7',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: clf(now),
      timeEpoch: now.getTime(),
    },
    ...(bytes === undefined ? {} : { body: base64 ? Buffer.from(bytes).toString('base64') : new TextDecoder().decode(bytes) }),
    isBase64Encoded: base64,
  } as unknown as LambdaEvent;
}

/** The HTTP response the front door makes of the function's result. */
export function httpResponse(result: APIGatewayProxyResult): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers ?? {})) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  for (const cookie of result.cookies ?? []) headers.append('set-cookie', cookie);
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  const empty = [204, 205, 304].includes(result.statusCode) || body.length === 0;
  return new Response(empty ? null : body, { status: result.statusCode, headers });
}

/** EventBridge's "Scheduled Event" for a rule's rate(1 minute). */
export function scheduledEvent(rule = 'Registrar-SweepSchedule'): ScheduledEvent & Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/${rule}`],
    detail: {},
  };
}

/** A fetch that goes through the front door to whichever container `pick` chooses, as Lambda would. */
export function lambdaFetch(pick: () => LambdaContainer, flavor: Flavor, opts: EventOptions = {}): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    request.signal.throwIfAborted();
    const event = await httpEvent(request, flavor, opts);
    const aborted = new Promise<never>((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true }));
    aborted.catch(() => {}); // an abort after the answer is nobody's business
    return httpResponse(await Promise.race([pick().handler(event), aborted]));
  };
}
