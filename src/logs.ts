// Node and Lambda logs (README, "Logs"): pino's JSON lines on stdout, at the level LOG_LEVEL names
// (info by default), each with the id of the request it was written in, credentials redacted. The
// code logs through `Log`; a line that carries an `error` is a warning, any other is info. Workers
// keep console JSON (runtime.ts): pino is not bundled into the Worker.
import pino, { type DestinationStream, type Level } from 'pino';
import type { Log } from './registrar.ts';
import { requestFields } from './request-context.ts';

const LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Credentials by field name, at the top of a line's fields or one level down (`headers.authorization`). */
const CREDENTIALS = ['authorization', 'secret', 'secretHash', 'token', 'joinToken', 'operatorToken', 'password'];
export const REDACT_PATHS = CREDENTIALS.flatMap((k) => [k, `*.${k}`]);

export interface PinoLogOptions {
  /** A level name; LOG_LEVEL by default, then info. */
  level?: string;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

export function pinoLog(opts: PinoLogOptions = {}): Log {
  const asked = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const known = LEVELS.includes(asked);
  const options = {
    level: known ? asked : 'info',
    messageKey: 'message',
    base: undefined, // no pid and hostname: a container's are of no use
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin: requestFields,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const logger = opts.destination ? pino(options, opts.destination) : pino(options);
  if (!known) logger.warn({ LOG_LEVEL: asked }, 'LOG_LEVEL is not a level (fatal, error, warn, info, debug, trace, silent): logging at info');
  return (message, fields) => {
    const level: Level = fields && 'error' in fields ? 'warn' : 'info';
    logger[level](fields ?? {}, message);
  };
}
