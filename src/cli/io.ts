// What every `registrar` command shares: where it writes, the two kinds of failure and their exit
// codes (2 for a usage mistake, 1 for an API or network error), and the operator's connection.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** stdout or stderr as a command sees them: a process's own, or a test's collector. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  once?(event: 'drain', listener: () => void): unknown;
}

export interface Io {
  stdout: Output;
  stderr: Output;
}

export type Env = Record<string, string | undefined>;

/** The command line is wrong: the usage is printed, exit code 2. */
export class UsageError extends Error {}

/** The master answered with an error, or could not be reached: exit code 1. */
export class CommandError extends Error {}

/** Writes text, waiting for a stream that asks for a pause (a large export into a slow pipe). */
export function writeOut(out: Output, text: string): Promise<void> | undefined {
  if (out.write(text) !== false || !out.once) return undefined;
  return new Promise((resolve) => out.once!('drain', resolve));
}

/** node's parseArgs in strict mode, with any parse error turned into a UsageError. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, positionals = 0) {
  const parsed = (() => {
    try {
      return parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  })();
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  return parsed;
}

/** The record's ID, the command's one positional argument: `requiredId(positionals, 'agents get', 'agent')`. */
export function requiredId(positionals: string[], command: string, kind: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`${command}: the ${kind}'s ID is required`);
  return id;
}

export const connectionFlags = {
  url: { type: 'string' },
  'operator-token': { type: 'string' },
} as const;

export interface Connection {
  url: string;
  token: string;
}

/** The master's URL and the operator token, from flags or REGISTRAR_URL / REGISTRAR_OPERATOR_TOKEN. */
export function operatorConnection(values: { url?: string | undefined; 'operator-token'?: string | undefined }, env: Env): Connection {
  const url = masterUrl(values.url, env);
  const token = values['operator-token'] ?? env.REGISTRAR_OPERATOR_TOKEN;
  if (!token) throw new UsageError('an operator token is required: --operator-token T or REGISTRAR_OPERATOR_TOKEN');
  return { url, token };
}

/** --url or REGISTRAR_URL, else the master `registrar serve` starts locally. */
export function masterUrl(flag: string | undefined, env: Env): string {
  const url = (flag ?? env.REGISTRAR_URL ?? 'http://localhost:5050').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url must be the master's URL, e.g. http://localhost:5050 (got "${url}")`);
  return url;
}
