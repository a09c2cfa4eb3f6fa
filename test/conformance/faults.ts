// One armed fault at a time, counted where it fires: a harness arms it with `failNextWrite` and its
// injection point takes it with `take()` just before failing the write. The suite checks `fired()`
// after every faulted commit, so a harness whose injection point never runs fails the suite instead
// of passing it with nothing injected. No vitest here: test services import it too.

export type FaultMode = 'before' | 'after';

/** What a store handle exposes to the suite. */
export interface FaultInjector<M extends string = FaultMode> {
  /** Arms a transient failure of the next write the adapter sends to its backend. */
  failNextWrite(mode: M): void;
  /** How many armed faults have fired so far. */
  fired(): number;
}

export interface FaultSwitch<M extends string = FaultMode> extends FaultInjector<M> {
  /** At the injection point: the armed fault, now disarmed and counted as fired, or undefined. */
  take(): M | undefined;
}

export function faultSwitch<M extends string = FaultMode>(): FaultSwitch<M> {
  let armed: M | undefined;
  let fired = 0;
  return {
    failNextWrite(mode) {
      armed = mode;
    },
    take() {
      const mode = armed;
      armed = undefined;
      if (mode !== undefined) fired++;
      return mode;
    },
    fired: () => fired,
  };
}
