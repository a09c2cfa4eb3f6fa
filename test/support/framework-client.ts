// A scheduler as the e2e tests run one (no framework client ships yet): it registers with the framework
// token, heartbeats every interval, re-registers with its id and secret after a 409, stops for good on
// a 410, and retries anything else. `send` reaches the master however the runtime is reached (fetch to
// a Node server, a Lambda handler's events). `stop()` is a scheduler dying without a word.

export type Send = (method: string, path: string, token: string, body?: unknown) => Promise<{ status: number; body: any }>;

export interface RunningScheduler {
  readonly frameworkId: string;
  readonly secret: string;
  /** The epoch of its last accepted heartbeat or re-registration. */
  readonly epoch: number;
  /** Re-registrations so far (after 409s). */
  readonly reregistrations: number;
  /** Set once a 410 told it the framework was completed. */
  readonly completed: boolean;
  stop(): Promise<void>;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runScheduler(send: Send, token: string, info: Record<string, unknown>): Promise<RunningScheduler> {
  const registered = await send('POST', '/api/v1/frameworks', token, info);
  if (registered.status !== 201) throw new Error(`registration: ${registered.status} ${JSON.stringify(registered.body)}`);
  const { frameworkId, secret, heartbeatIntervalSeconds } = registered.body as { frameworkId: string; secret: string; heartbeatIntervalSeconds: number };
  const state = { frameworkId, secret, epoch: registered.body.epoch as number, reregistrations: 0, completed: false };
  let stopped = false;
  const loop = (async () => {
    while (!stopped && !state.completed) {
      await pause(heartbeatIntervalSeconds * 1000);
      if (stopped) break;
      try {
        const hb = await send('POST', `/api/v1/frameworks/${frameworkId}/heartbeat`, secret, { epoch: state.epoch });
        if (hb.status === 200) state.epoch = hb.body.epoch;
        else if (hb.status === 410) state.completed = true;
        else if (hb.status === 409) {
          const again = await send('POST', `/api/v1/frameworks/${frameworkId}/reregister`, secret, {});
          if (again.status === 200) {
            state.epoch = again.body.epoch;
            state.reregistrations++;
          } else if (again.status === 410) state.completed = true;
        }
      } catch {
        // No master answers (a failover): the next heartbeat tries again.
      }
    }
  })();
  return {
    get frameworkId() { return state.frameworkId; },
    get secret() { return state.secret; },
    get epoch() { return state.epoch; },
    get reregistrations() { return state.reregistrations; },
    get completed() { return state.completed; },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** `send` over HTTP to a running server. */
export const fetchSend = (url: string): Send => async (method, path, token, body) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
};
