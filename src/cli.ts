// The `registrar` command: `registrar master [flags]` runs the Node server (as `npm start`);
// `registrar agent --master URL --join-token T --hostname H [...]` runs an agent;
// `registrar create-table --table T` makes a DynamoDB table for local or dev use.
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createAgent, type AgentOptions } from './agent/client.ts';
import { stateFile } from './agent/state.ts';
import { insecureMasterProblem } from './agent/transport.ts';
import { main as runMaster } from './node.ts';
import { jsonLog } from './runtime.ts';

const USAGE = `usage:
  registrar master [--port 5050] [--store leveldb:./data] [--join-token T] [--operator-token T] [--<setting> <value>]
  registrar agent --master URL --join-token T [--hostname H] [--port N] [--resources cpus:4,mem:8192]
                  [--attributes rack:r1,zone:z1] [--machine-id ID] [--version V] [--state-file agent-state.json]
                  [--leave-on-exit] [--ca-file ca.pem] [--insecure-http]
  registrar create-table --table T    (DynamoDB, from AWS_REGION, credentials and AWS_ENDPOINT_URL_DYNAMODB)`;

class UsageError extends Error {}

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

export function agentOptions(argv: string[], env: NodeJS.ProcessEnv): Omit<AgentOptions, 'log'> & { leaveOnExit: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
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
    },
    strict: true,
  });
  const master = values.master ?? env.REGISTRAR_MASTER;
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

async function runAgent(argv: string[]): Promise<number> {
  const { leaveOnExit, ...options } = agentOptions(argv, process.env);
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

async function createTable(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { table: { type: 'string' } }, strict: true });
  if (!values.table) throw new UsageError('--table is required');
  const { createTableFromEnv } = await import('../adapters/dynamodb/from-env.ts');
  await createTableFromEnv(values.table);
  process.stdout.write(`table ${values.table} is ready: REGISTRAR_STORE=dynamodb:${values.table}\n`);
  return 0;
}

export async function cli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'master') {
      await runMaster(rest);
      return -1; // keeps running until a signal
    }
    if (command === 'agent') return await runAgent(rest);
    if (command === 'create-table') return await createTable(rest);
    throw new UsageError(command ? `unknown command "${command}"` : 'a command is required');
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`registrar: ${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

if (process.argv[1] && import.meta.filename === resolve(process.argv[1])) {
  const code = await cli(process.argv.slice(2));
  if (code >= 0) process.exit(code);
}
