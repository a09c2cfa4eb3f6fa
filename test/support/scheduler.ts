// One scheduler for a simulated world on a fake clock: every wait resolves when the world's time
// reaches it, in a fixed order, so that a seeded run replays exactly.
import type { FakeClock } from '../../src/clock.ts';

/** Promises resolved when the world's clock reaches their time, in a fixed order. */
export class Scheduler {
  #timers: { at: number; seq: number; resolve: () => void }[] = [];
  #seq = 0;
  readonly world: FakeClock;
  constructor(world: FakeClock) {
    this.world = world;
  }
  until(at: number): Promise<void> {
    return new Promise((resolve) => this.#timers.push({ at, seq: this.#seq++, resolve }));
  }
  fire(): void {
    const now = this.world.now();
    const due = this.#timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.#timers = this.#timers.filter((t) => t.at > now);
    for (const t of due) t.resolve();
  }
}

/** Lets every promise chain run until it waits on the scheduler again. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
