// The event stream over HTTP: `GET /api/v1/events` as Server-Sent Events (docs/design.md, "Events").
// Every runtime serves it the same way, from the event log in the store: the backlog after
// `Last-Event-ID` (or `?since=`), then a read of the log each poll, keepalive comments, and an end
// after a bounded time, when the client reconnects with the last id it got.
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Registrar } from '../registrar.ts';
import { EVENT_RETENTION, positionId, settleTime, stampOfId, type LoggedEvent } from '../registrar/events.ts';
import { StoreUnavailableError } from '../store.ts';
import { requireToken, type TokenSource } from './auth.ts';
import { ApiError } from './errors.ts';

export interface EventStreamOptions {
  /** How often the log is read for new events. */
  pollMs?: number;
  /** A comment (with the stream's position as its id) at least this often, so proxies keep the connection. */
  keepaliveMs?: number;
  /** How long one stream lasts (the client reconnects with Last-Event-ID); `?timeoutSeconds=` may shorten it. */
  maxDurationMs?: number;
  /** How old a stamp must be before it is read: clock skew plus one commit, by default. */
  settleMs?: number;
}

/** The reconnection delay the stream asks of clients. */
const RETRY_MS = 1_000;
/** The log is read up to whole seconds: each poll then lists one aligned prefix. */
const STEP_MS = 1_000;

export function eventRoutes(registrar: Registrar, tokens: TokenSource, opts: EventStreamOptions = {}) {
  const { clock, policy } = registrar.core;
  const pollMs = opts.pollMs ?? 1_000;
  const keepaliveMs = opts.keepaliveMs ?? 15_000;
  const maxDurationMs = opts.maxDurationMs ?? 5 * 60_000;
  const settleMs = opts.settleMs ?? settleTime(policy);
  const app = new Hono();

  app.get('/', async (c) => {
    await requireToken(c, tokens, 'operator');
    const started = clock.now();
    const oldest = started - EVENT_RETENTION;
    const resume = c.req.header('last-event-id') ?? c.req.query('lastEventId');
    const since = c.req.query('since');
    let from: number;
    let after = '';
    if (resume !== undefined && resume !== '') {
      const stamp = stampOfId(resume);
      if (stamp === undefined) throw new ApiError(400, 'bad_request', 'Last-Event-ID is not an event id of this stream');
      from = stamp;
      after = resume;
    } else if (since !== undefined) {
      if (!/^\d{1,15}$/.test(since)) throw new ApiError(400, 'bad_request', 'since: milliseconds since the epoch');
      from = Number(since);
    } else {
      from = started;
    }
    const timeout = c.req.query('timeoutSeconds');
    if (timeout !== undefined && !/^\d{1,6}$/.test(timeout)) throw new ApiError(400, 'bad_request', 'timeoutSeconds: a whole number of seconds');
    const endAt = started + Math.min(maxDurationMs, timeout === undefined ? maxDurationMs : Number(timeout) * 1000);
    // Events older than the retention may be pruned already: the client learns that some may be lost.
    const lost = from < oldest;
    if (lost) from = oldest;

    /** Everything stamped before `watermark` has been read; `after` is the last id sent. */
    let watermark = from;
    const settled = () => Math.max(watermark, Math.floor((clock.now() - settleMs) / STEP_MS) * STEP_MS);
    const read = async (to: number): Promise<LoggedEvent[]> => {
      const found: LoggedEvent[] = [];
      for await (const e of registrar.events(watermark, to, after)) found.push(e);
      return found;
    };
    // The backlog is read before the response starts: a store that fails at once gets its 503.
    let upTo = settled();
    let backlog = await read(upTo);

    return streamSSE(c, async (stream) => {
      let aborted = false;
      stream.onAbort(() => {
        aborted = true;
      });
      let sentPosition = '';
      const send = async (events: LoggedEvent[], to: number) => {
        for (const { id, event } of events) {
          await stream.writeSSE({ id, data: JSON.stringify(event) });
          after = id;
        }
        watermark = to;
      };
      /** The position as an id without data: a client that got no event since still resumes here. */
      const position = async (comment: string) => {
        const id = positionId(watermark);
        const fresh = id > after && id !== sentPosition;
        await stream.write(`: ${comment}\n${fresh ? `id: ${id}\n` : ''}\n`);
        if (fresh) sentPosition = id;
      };
      try {
        await stream.write(`retry: ${RETRY_MS}\n\n`);
        if (lost) await stream.writeSSE({ event: 'lost', data: JSON.stringify({ message: 'the stream resumes after the retention window: some events may be lost; read the registry again', from: oldest }) });
        await send(backlog, upTo);
        backlog = [];
        let lastWrite = clock.now();
        while (!aborted && clock.now() < endAt) {
          await clock.sleep(Math.min(pollMs, Math.max(0, endAt - clock.now())));
          if (aborted) break;
          upTo = settled();
          if (upTo > watermark) {
            const events = await read(upTo);
            await send(events, upTo);
            if (events.length > 0) lastWrite = clock.now();
          }
          if (clock.now() - lastWrite >= keepaliveMs) {
            await position('keepalive');
            lastWrite = clock.now();
          }
        }
        if (!aborted) await position('end: reconnect with Last-Event-ID');
      } catch (err) {
        // Never a fake success: the stream ends with an error event, and the client resumes from its last id.
        const message = err instanceof StoreUnavailableError ? err.message : 'internal error';
        if (!aborted) await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: 'unavailable', message }) }).catch(() => {});
      }
    });
  });

  return app;
}
