// Timings for tests on real time, shared by the Node end-to-end tests and the Workers tests (no
// imports, so workerd can load it too).

/**
 * Sub-second timings so that a whole failover runs in a few seconds, yet with room for a loaded
 * 2-core machine running three JVMs beside the test: start-up's rules (lease ≥ 2 × sweep + skew =
 * 600ms; agent timeout > 2 × sweep + heartbeat + 2 × skew = 1s) hold with room to spare, a sweep may
 * be late by most of a second before the lease lapses, an agent's heartbeat by more than a second
 * before it is marked, and a live agent has a few heartbeat intervals to re-register in the window.
 */
export const FAST = {
  REGISTRAR_HEARTBEAT_INTERVAL: '300ms',
  REGISTRAR_AGENT_TIMEOUT: '1500ms',
  REGISTRAR_LIVENESS_GRANULARITY: '300ms',
  REGISTRAR_SWEEP_INTERVAL: '250ms',
  REGISTRAR_MAX_CLOCK_SKEW: '100ms',
  REGISTRAR_MASTER_LEASE: '1200ms',
  REGISTRAR_REREGISTER_TIMEOUT: '3s',
};
