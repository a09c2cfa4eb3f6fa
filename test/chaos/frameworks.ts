// Schedulers in the chaos run (DESIGN.md, "Frameworks"): a few frameworks follow the framework
// protocol over HTTP beside the agents (register with a chosen id and secret, heartbeat, re-register
// after a 409, tear themselves down now and then), die and come back as a new scheduler instance
// that re-registers the same id, and an operator tears some down. Their own seeded generator keeps
// the agents' schedule as it was; the store's faults, crashes and failovers are the agents'.
import { prng, seededEntropy, type Prng } from '../support/random.ts';

export const FRAMEWORK_TOKEN = 'chaos-framework-token-0123456789';

/** How long a disconnected framework may take to come back, drawn per framework (Mesos' default is 0). */
const FAILOVER_TIMEOUTS = [0, 30, 120, 600];

export interface ChaosFramework {
  name: string;
  id: string;
  secret: string;
  epoch: number;
  failoverTimeoutSeconds: number;
  registered: boolean;
  mustReregister: boolean;
  /** Torn down or answered 410: it stops for good. */
  completed: boolean;
  diedAt?: number;
  reviveAt?: number;
  nextAt: number;
  busy: boolean;
}

/** What the harness lends the frameworks: its clock, and a request through a random instance. */
export interface FrameworkWorld {
  now(): number;
  heartbeatInterval: number;
  call(actor: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number | 'network'; body?: Record<string, unknown> }>;
}

export function frameworkFleet(seed: number, count: number, world: FrameworkWorld) {
  const random: Prng = prng(seed ^ 0x5eed_f00d);
  const entropy = seededEntropy(random);
  const start = world.now();
  const fleet: ChaosFramework[] = Array.from({ length: count }, (_, n) => ({
    name: `f${n}`, id: entropy.id(), secret: entropy.secret(), epoch: 0, failoverTimeoutSeconds: random.pick(FAILOVER_TIMEOUTS),
    registered: false, mustReregister: false, completed: false, nextAt: start + random.between(0, world.heartbeatInterval), busy: false,
  }));
  const deaths: { name: string; at: number; revivedAt?: number }[] = [];

  async function act(f: ChaosFramework) {
    f.busy = true;
    const h = world.heartbeatInterval;
    try {
      const path = `/api/v1/frameworks/${f.id}`;
      let x: Awaited<ReturnType<FrameworkWorld['call']>>;
      if (!f.registered) {
        x = await world.call(f.name, 'POST', '/api/v1/frameworks', FRAMEWORK_TOKEN, { name: `${f.name}-scheduler`, user: 'chaos', roles: ['batch'], failoverTimeoutSeconds: f.failoverTimeoutSeconds, frameworkId: f.id, secret: f.secret });
      } else if (f.mustReregister) {
        x = await world.call(f.name, 'POST', `${path}/reregister`, f.secret, {});
      } else if (random.next() < 0.002) {
        x = await world.call(f.name, 'DELETE', path, f.secret);
        if (x.status === 204) f.completed = true;
      } else {
        x = await world.call(f.name, 'POST', `${path}/heartbeat`, f.secret, { epoch: f.epoch });
      }
      if (typeof x.status === 'number' && x.status < 300) {
        f.registered = true;
        f.mustReregister = false;
        if (typeof x.body?.epoch === 'number') f.epoch = x.body.epoch;
        f.nextAt = world.now() + random.between(0.8 * h, h);
      } else if (x.status === 409) {
        f.mustReregister = true;
        f.nextAt = world.now() + random.between(0, h);
      } else if (x.status === 410) {
        f.completed = true;
      } else if (x.status === 404) {
        f.registered = false; // pruned: registering its id again meets the tombstone (410)
        f.nextAt = world.now() + random.between(0, h);
      } else {
        f.nextAt = world.now() + random.between(0.25 * 1000, h);
      }
    } finally {
      f.busy = false;
    }
  }

  return {
    fleet,
    deaths,
    /** One step of the schedule: deaths (some for longer than any failover timeout), revivals, and who acts now. */
    step(now: number, dieChance: number, track: (p: Promise<void>) => void) {
      if (random.next() < dieChance) {
        const alive = fleet.filter((f) => f.diedAt === undefined && !f.completed);
        if (alive.length > 0) {
          const f = random.pick(alive);
          f.diedAt = now;
          f.reviveAt = now + random.between(30_000, 20 * 60_000);
          deaths.push({ name: f.name, at: now });
        }
      }
      for (const f of fleet) {
        if (f.reviveAt !== undefined && now >= f.reviveAt) {
          // A new scheduler instance takes over the same framework id.
          deaths.findLast((d) => d.name === f.name)!.revivedAt = now;
          f.diedAt = undefined;
          f.reviveAt = undefined;
          f.mustReregister = f.registered;
          f.nextAt = now;
        }
        if (!f.busy && !f.completed && f.diedAt === undefined && now >= f.nextAt) track(act(f));
      }
    },
    /** An operator's teardown of a random framework. */
    async teardown(operatorToken: string) {
      if (fleet.length === 0) return;
      await world.call('operator', 'POST', `/api/v1/frameworks/${random.pick(fleet).id}/teardown`, operatorToken, { reason: 'chaos' });
    },
  };
}
