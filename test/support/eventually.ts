// Waiting in tests that run on real time: poll a condition until it holds or a deadline passes, then
// fail saying what was awaited and what was last seen. Tests wait for conditions this way, never
// for a fixed time. Timers only, no Node modules, so that the Workers tests (workerd) use it too.

export interface PollOptions {
  /** The deadline in ms from now: generous for a loaded 2-core machine, and below the test's timeout. */
  within?: number;
  /** The pause between two checks, in ms. */
  every?: number;
}

const DEFAULT_WITHIN = 15_000;
const DEFAULT_EVERY = 50;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A short, readable account of a value for a failure message. */
function describe(seen: unknown): string {
  let text: string;
  try {
    text = typeof seen === 'string' ? seen : (JSON.stringify(seen) ?? String(seen));
  } catch {
    text = String(seen);
  }
  return text.length > 2_000 ? `${text.slice(0, 2_000)}… (${text.length} characters)` : text;
}

/**
 * Reads until `until` accepts what it read, and returns that; after the deadline, throws
 * "timed out after N ms waiting for <what>; last seen: …". An error thrown by `read` fails at once.
 */
export async function eventually<T>(
  what: string,
  read: () => T | Promise<T>,
  until: (seen: T) => boolean,
  opts: PollOptions = {},
): Promise<T> {
  const within = opts.within ?? DEFAULT_WITHIN;
  const every = opts.every ?? DEFAULT_EVERY;
  const started = Date.now();
  const deadline = started + within;
  for (let checks = 1; ; checks++) {
    const seen = await read();
    if (until(seen)) return seen;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`timed out after ${Date.now() - started} ms (${checks} checks) waiting for ${what}; last seen: ${describe(seen)}`);
    }
    await pause(Math.min(every, left));
  }
}

/**
 * Waits until the clock passes `at`: only for times the rules fix (a lease's end, a sweep's age),
 * never as a guess at how long something takes.
 */
export async function untilTime(at: number, what: string): Promise<void> {
  if (at - Date.now() > 60_000) throw new Error(`will not wait over a minute for ${what}`);
  while (Date.now() <= at) await pause(at - Date.now() + 1);
}
