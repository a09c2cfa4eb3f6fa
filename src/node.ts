// The Node server entry (`npm start`): configuration from the environment and flags, the store,
// the registrar, an in-process sweeper (its first sweep before listening), and a graceful stop.
import { serve } from '@hono/node-server';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { systemClock } from './clock.ts';
import { ConfigError, flagsToEnv, loadConfig, requireTokens, type Config } from './config.ts';
import { createMaster } from './master/index.ts';
import { localTokens } from './local-tokens.ts';
import { pinoLog } from './logs.ts';
import { createMetrics } from './metrics/index.ts';
import { meteredStore } from './metrics/store.ts';
import { createRegistrar, type Log } from './registrar.ts';
import { startSweeper, sweepAndLog } from './runtime.ts';
import { openStore } from './stores.ts';

export interface RunningMaster {
  url: string;
  stop(): Promise<void>;
  /** Reads the TLS certificate and key again (SIGHUP): new connections use them, open ones keep theirs. */
  reloadTls(): Promise<void>;
}

const readTls = async (tls: NonNullable<Config['tls']>) => ({ cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) });

export async function startNodeMaster(config: Config, log: Log = pinoLog()): Promise<RunningMaster> {
  const tokens = config.store.kind === 'leveldb' ? await localTokens(config, config.store.path, log) : requireTokens(config);
  const metrics = createMetrics();
  const store = meteredStore(await openStore(config.store, { timeoutMs: config.storeTimeout }), config.store.kind, metrics);
  const registrar = createRegistrar({ store, clock: systemClock, policy: config.policy, log, ...(config.ticketKeys ? { ticketKeys: config.ticketKeys } : {}) });
  const app = createMaster({ registrar, tokens, log, registrationRateLimit: config.registrationRateLimit, metrics });

  // The API answers 503 until a master record exists; the first sweep writes it.
  await sweepAndLog(registrar, log, 'start').catch(() => {});
  const sweeper = startSweeper(registrar, log);

  // Agents' secrets and tokens cross the network: with a certificate, only over TLS.
  const tls = config.tls ? await readTls(config.tls).catch((err: Error) => {
    throw new ConfigError(`REGISTRAR_TLS_CERT/REGISTRAR_TLS_KEY: cannot read them: ${err.message}`);
  }) : undefined;
  const server = tls
    ? serve({ fetch: app.fetch, port: config.port, hostname: config.host, createServer: createHttpsServer, serverOptions: tls })
    : serve({ fetch: app.fetch, port: config.port, hostname: config.host });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  log('master listening', { url, store: config.store.kind, tls: tls !== undefined });

  return {
    url,
    async stop() {
      const sweeperStopped = sweeper.stop();
      await closeGracefully(server as Server);
      await sweeperStopped;
      await store.close();
      log('master stopped');
    },
    async reloadTls() {
      if (!config.tls) return;
      try {
        (server as HttpsServer).setSecureContext(await readTls(config.tls));
        log('tls certificate reloaded', { cert: config.tls.certFile });
      } catch (err) {
        log('tls certificate not reloaded: keeping the current one', { error: (err as Error).message });
      }
    },
  };
}

/**
 * Stops accepting connections and lets in-flight requests finish. Keep-alive connections (agents
 * keep theirs open) are closed as soon as they are idle; after a grace period, all of them.
 */
function closeGracefully(server: Server, graceMs = 10_000): Promise<void> {
  return new Promise<void>((resolve) => {
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const hard = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(hard);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Runs the master until SIGTERM or SIGINT; a bad configuration is one line and exit code 2. */
export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig({ ...env, ...flagsToEnv(argv) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`registrar: ${err.message}\n`);
    process.exit(2);
  }
  const log = pinoLog({ level: env.LOG_LEVEL });
  let master: RunningMaster;
  try {
    master = await startNodeMaster(config, log);
  } catch (err) {
    process.stderr.write(`registrar: cannot start: ${(err as Error).message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  const shutdown = async (signal: string) => {
    log('shutting down', { signal });
    await master.stop();
    process.exit(0);
  };
  process.on('SIGHUP', () => void master.reloadTls());
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.filename === resolve(process.argv[1])) await main();
