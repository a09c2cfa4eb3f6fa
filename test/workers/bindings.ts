// The Worker's vars and secrets in the workers test project: tokens, and sub-second timings so that
// alarms (the sweeper) find lapsed leases and closed windows within a test. They meet start-up's
// rules (lease ≥ 2 × sweep + skew; agent timeout > 2 × sweep + heartbeat + 2 × skew) with room to
// spare, so that a loaded 2-core machine (a late timer, a slow alarm) never makes a live agent look
// dead or a serving master look gone.
import { FAST } from '../support/timings.ts';

export const JOIN = 'workers-join-token-0123456789';
export const OPERATOR = 'workers-operator-token-0123456789';
export const FRAMEWORK = 'workers-framework-token-0123456789';

/** The same sub-second timings as the Node end-to-end tests. */
export const FAST_TIMINGS = FAST;

export const WORKER_TEST_BINDINGS: Record<string, string> = {
  REGISTRAR_JOIN_TOKEN: JOIN,
  REGISTRAR_OPERATOR_TOKEN: OPERATOR,
  REGISTRAR_FRAMEWORK_TOKEN: FRAMEWORK,
  ...FAST_TIMINGS,
};
