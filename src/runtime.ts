// What the runtime entries (node.ts, lambda.ts, worker.ts) share: JSON log lines, one sweep with its
// summary line, the first sweep run once when no `master` record exists yet, and the refusal that
// a misconfigured instance answers instead of ever serving an open API.
import type { Log, Registrar, SweepReport } from './registrar.ts';
import { NoMasterError } from './registrar.ts';
import { requestFields } from './request-context.ts';

/** A log line: within a request, with its id (the master's request-id middleware). */
const line = (message: string, fields?: Record<string, unknown>) =>
  JSON.stringify({ time: new Date().toISOString(), message, ...requestFields(), ...fields });

/** One JSON object per line, straight to stdout (the CLI's agent; the servers log with pino, logs.ts). */
export const jsonLog: Log = (message, fields) => {
  process.stdout.write(`${line(message, fields)}\n`);
};

/** Workers have no stdout: their console is the log. */
export const consoleJsonLog: Log = (message, fields) => console.log(line(message, fields));

/**
 * One sweep and its summary line (marks and prunes are logged one by one as they happen). A sweeper
 * running every few seconds logs only sweeps that did something; a scheduled one logs every sweep.
 */
export async function sweepAndLog(registrar: Registrar, log: Log, trigger: string, opts: { everySweep?: boolean } = {}): Promise<SweepReport> {
  const { clock } = registrar.core;
  const started = clock.now();
  try {
    const report = await registrar.sweep();
    const { marked, pruned, ...rest } = report;
    const eventful = report.outcome !== 'done' || report.step !== 'renewed' || marked.length + pruned.length > 0 || report.held !== undefined;
    if (opts.everySweep || eventful) {
      log('sweep', { trigger, ...rest, marked: marked.length, pruned: pruned.length, durationMs: clock.now() - started });
    }
    if (report.outcome === 'lease') log('sweep stopped: its lease would lapse before it finished');
    return report;
  } catch (err) {
    log('sweep failed', { trigger, error: (err as Error).message, durationMs: clock.now() - started });
    throw err;
  }
}

/**
 * The in-process sweeper (the Node server): sweeps scheduled start to start, so that a scan slower
 * than the interval delays the next sweep only by its overrun, never makes every sweep a gap (rule 3).
 * `stop()` resolves once the sweep in progress, if any, has finished.
 */
export function startSweeper(registrar: Registrar, log: Log): { stop(): Promise<void> } {
  const { clock, policy } = registrar.core;
  let stopping = false;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const loop = (async () => {
    let next = clock.now() + policy.sweepInterval;
    while (!stopping) {
      await Promise.race([clock.sleep(Math.max(0, next - clock.now())), stopped]);
      if (stopping) break;
      const started = clock.now();
      next = started + policy.sweepInterval;
      await sweepAndLog(registrar, log, 'interval').catch(() => {}); // logged; the next one retries
    }
  })();
  return {
    async stop() {
      stopping = true;
      wake();
      await loop;
    },
  };
}

/**
 * Where no sweeper has run yet (a first deploy), the first request runs the first sweep (rule 12)
 * rather than answering 503 until the schedule fires; concurrent requests share one sweep.
 */
export function firstSweep(registrar: Registrar, log: Log): () => Promise<void> {
  let seen = false;
  let running: Promise<void> | undefined;
  return async () => {
    if (seen) return;
    running ??= (async () => {
      try {
        await registrar.core.currentMaster({ fresh: true });
      } catch (err) {
        if (!(err instanceof NoMasterError)) return; // store trouble: the API answers 503 itself
        await sweepAndLog(registrar, log, 'first request');
      }
      seen = true;
    })()
      .catch(() => {}) // logged by sweepAndLog; the API answers 503 until a sweep succeeds
      .finally(() => {
        running = undefined;
      });
    await running;
  };
}

/** Retry-After of a refusal: configuration is fixed at deploy time, so there is no hurry. */
export const REFUSAL_RETRY_SECONDS = 60;

/** The answer of an instance that is not configured to serve. */
export const refusal = (problem: string): Response =>
  Response.json(
    { error: 'unavailable', message: `registrar is not configured: ${problem}` },
    { status: 503, headers: { 'retry-after': String(REFUSAL_RETRY_SECONDS) } },
  );
