// The load generator of the HTTP bench, a process of its own so that it never shares the server's
// event loop: autocannon against one URL, the heartbeats of the agents in a JSON file in turn, one
// line of JSON out. `node bench/load.ts <url> <agents.json> <seconds> <connections>`
import autocannon from 'autocannon';
import { readFile } from 'node:fs/promises';
import type { BenchAgent } from './support.ts';

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

const [url, file, seconds, connections] = process.argv.slice(2);
const agents = JSON.parse(await readFile(file!, 'utf8')) as BenchAgent[];
let next = 0;
const result = await autocannon({
  url: url!,
  connections: Number(connections),
  duration: Number(seconds),
  requests: [
    {
      method: 'POST',
      setupRequest: (req) => {
        const a = agents[next++ % agents.length]!;
        return {
          ...req,
          path: `/api/v1/agents/${a.agentId}/heartbeat`,
          headers: { authorization: `Bearer ${a.secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ epoch: a.epoch, ...(a.ticket ? { ticket: a.ticket } : {}) }),
        };
      },
    },
  ],
});
const out: LoadResult = {
  requestsPerSecond: result['2xx'] / result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
  ok: result['2xx'],
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count])),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
