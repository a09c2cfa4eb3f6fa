#!/usr/bin/env node
// The `registrar` command: dispatches to the commands in src/cli/. `run(argv, env, io)` is the whole
// CLI without a process, so tests call it; exit codes: 0 done, 1 an API or network error, 2 a usage
// mistake, 3 an agent whose credentials were refused; -1 a server that keeps running.
import { realpathSync } from 'node:fs';
import { main as runMaster } from './node.ts';
import { agentCommand } from './cli/agent.ts';
import { agentsCommand } from './cli/agents.ts';
import { frameworksCommand } from './cli/frameworks.ts';
import { CommandError, parseFlags, UsageError, type Env, type Io } from './cli/io.ts';
import { masterCommand, recoveryCommand, registryCommand } from './cli/master.ts';
import { simulateCommand } from './cli/simulate.ts';

export const USAGE = `usage: registrar <command> [flags]

Run:
  serve [--port 5050] [--store leveldb:./data] [--join-token T] [--operator-token T] [--<setting> <value>]
        the master (\`master\` with no command is the same)
  agent --master URL --join-token T [--hostname H] [--port N] [--resources cpus:4,mem:8192]
        [--attributes rack:r1,zone:z1] [--machine-id ID] [--version V] [--state-file agent-state.json]
        [--leave-on-exit] [--ca-file ca.pem] [--insecure-http]
  create-table --table T                 a DynamoDB table (AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB)

Operate (--url or REGISTRAR_URL, default http://localhost:5050; --operator-token or REGISTRAR_OPERATOR_TOKEN):
  agents list [--status admitted|unreachable|gone] [--hostname H] [--json]
  agents get ID [--json]
  agents mark-gone ID [--reason R]
  agents drain ID [--max-grace-period 10m] [--mark-gone] [--reason R]
  agents deactivate ID [--reason R]
  agents reactivate ID [--reason R]
  frameworks list [--status active|disconnected|completed] [--json]
  frameworks get ID [--json]
  frameworks teardown ID [--reason R] [--json]
  master status [--json]
  recovery release [--dry-run] [--reason R] [--json]
  registry export > registry.ndjson

Load (--join-token or REGISTRAR_JOIN_TOKEN):
  simulate --agents N [--duration 60s] [--heartbeat-interval 15s (default: the master's)] [--keep] [--json]

Exit codes: 0 done, 1 API or network error, 2 usage, 3 agent refused.`;

const processIo: Io = { stdout: process.stdout, stderr: process.stderr };

async function createTable(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { table: { type: 'string' } });
  if (!values.table) throw new UsageError('--table is required');
  const { createTableFromEnv } = await import('../adapters/dynamodb/from-env.ts');
  await createTableFromEnv(values.table);
  process.stdout.write(`table ${values.table} is ready: REGISTRAR_STORE=dynamodb:${values.table}\n`);
  return 0;
}

async function dispatch(command: string | undefined, rest: string[], env: Env, io: Io): Promise<number> {
  switch (command) {
    case 'serve':
    case 'master':
      if (command === 'master' && rest[0] !== undefined && !rest[0].startsWith('-')) return masterCommand(rest, env, io);
      await runMaster(rest, { ...process.env, ...env });
      return -1; // keeps running until a signal
    case 'agent':
      return agentCommand(rest, env);
    case 'agents':
      return agentsCommand(rest, env, io);
    case 'frameworks':
      return frameworksCommand(rest, env, io);
    case 'recovery':
      return recoveryCommand(rest, env, io);
    case 'registry':
      return registryCommand(rest, env, io);
    case 'simulate':
      return simulateCommand(rest, env, io);
    case 'create-table':
      return createTable(rest);
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(command ? `unknown command "${command}"\n${USAGE}` : `a command is required\n${USAGE}`);
  }
}

/** The CLI: runs one command and resolves with its exit code, writing only to `io`. */
export async function run(argv: string[], env: Env = process.env, io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    return await dispatch(command, rest, env, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`registrar: ${err.message}\n${err.message.includes('usage:') ? '' : 'run `registrar help` for usage\n'}`);
      return 2;
    }
    io.stderr.write(`registrar: ${(err as Error).message}\n`);
    if (!(err instanceof CommandError) && env.REGISTRAR_DEBUG) io.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}

// Run as a program, also through the bin's symlink (node_modules/.bin/registrar).
if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  const code = await run(process.argv.slice(2));
  if (code >= 0) process.exit(code);
}
