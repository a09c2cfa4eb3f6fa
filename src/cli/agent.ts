// `registrar agent`: one agent (src/agent/client.ts) with its options from flags and the environment.
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import { createAgent, type AgentOptions } from '../agent/client.ts';
import { stateFile } from '../agent/state.ts';
import { insecureMasterProblem } from '../agent/transport.ts';
import { jsonLog } from '../runtime.ts';
import { parseFlags, UsageError, type Env } from './io.ts';

/** "cpus:4,mem:8192" → { cpus: 4, mem: 8192 }; values that are not numbers stay strings. */
export function parsePairs(flag: string, text: string | undefined, numbers: boolean): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const pair of (text ?? '').split(',').filter(Boolean)) {
    const colon = pair.indexOf(':');
    if (colon <= 0) throw new UsageError(`--${flag}: "${pair}" is not key:value`);
    const value = pair.slice(colon + 1);
    out[pair.slice(0, colon)] = numbers && value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return out;
}

export function agentOptions(argv: string[], env: Env): Omit<AgentOptions, 'log'> & { leaveOnExit: boolean } {
  const { values } = parseFlags(argv, {
    master: { type: 'string' },
    'join-token': { type: 'string' },
    hostname: { type: 'string' },
    port: { type: 'string' },
    resources: { type: 'string' },
    attributes: { type: 'string' },
    'machine-id': { type: 'string' },
    version: { type: 'string' },
    'state-file': { type: 'string' },
    'leave-on-exit': { type: 'boolean' },
    'ca-file': { type: 'string' },
    'insecure-http': { type: 'boolean' },
  });
  const master = values.master ?? env.REGISTRAR_MASTER ?? env.REGISTRAR_URL;
  const joinToken = values['join-token'] ?? env.REGISTRAR_JOIN_TOKEN;
  if (!master || !/^https?:\/\//.test(master)) throw new UsageError('--master must be the master URL, e.g. http://localhost:5050');
  if (!joinToken) throw new UsageError('--join-token is required (or REGISTRAR_JOIN_TOKEN)');
  const insecureHttp = values['insecure-http'] === true;
  const problem = insecureMasterProblem(master, insecureHttp);
  if (problem) throw new UsageError(problem);
  let ca: string | undefined;
  if (values['ca-file']) {
    try {
      ca = readFileSync(values['ca-file'], 'utf8');
    } catch (err) {
      throw new UsageError(`--ca-file: ${(err as Error).message}`);
    }
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UsageError('--port must be a port number');
  return {
    master,
    joinToken,
    info: {
      hostname: values.hostname ?? osHostname(),
      ...(port === undefined ? {} : { port }),
      resources: parsePairs('resources', values.resources, true),
      attributes: parsePairs('attributes', values.attributes, false) as Record<string, string>,
      ...(values.version ? { version: values.version } : {}),
      ...(values['machine-id'] ? { machineId: values['machine-id'] } : {}),
    },
    state: stateFile(resolve(values['state-file'] ?? 'agent-state.json')),
    ...(ca ? { ca } : {}),
    ...(insecureHttp ? { insecureHttp } : {}),
    leaveOnExit: values['leave-on-exit'] === true,
  };
}

/** Runs until the agent is marked gone (exit 0), refused (exit 3), or stopped by a signal. */
export async function agentCommand(argv: string[], env: Env): Promise<number> {
  const { leaveOnExit, ...options } = agentOptions(argv, env);
  const agent = createAgent({ ...options, log: jsonLog });
  const stop = async () => {
    if (leaveOnExit) await agent.leave();
    agent.stop();
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  const exit = await agent.run();
  return exit.reason === 'refused' ? 3 : 0;
}
