// The Worker's vars and secrets in the workers test project: tokens, and sub-second timings so that
// alarms (the sweeper) find lapsed leases and closed windows within a test.
export const JOIN = 'workers-join-token-0123456789';
export const OPERATOR = 'workers-operator-token-0123456789';

export const FAST_TIMINGS = {
  REGISTRAR_HEARTBEAT_INTERVAL: '200ms',
  REGISTRAR_AGENT_TIMEOUT: '1s',
  REGISTRAR_LIVENESS_GRANULARITY: '200ms',
  REGISTRAR_SWEEP_INTERVAL: '200ms',
  REGISTRAR_MAX_CLOCK_SKEW: '100ms',
  REGISTRAR_MASTER_LEASE: '1s',
  REGISTRAR_REREGISTER_TIMEOUT: '2s',
};

export const WORKER_TEST_BINDINGS: Record<string, string> = {
  REGISTRAR_JOIN_TOKEN: JOIN,
  REGISTRAR_OPERATOR_TOKEN: OPERATOR,
  ...FAST_TIMINGS,
};
