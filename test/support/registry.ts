// Fixtures for the registry's pure tests: the contract's default policy (DESIGN.md, "Configuration")
// in milliseconds, and a fixed start time.
import type { MasterRecord, Policy } from '../../src/registry/index.ts';

export const S = 1_000;
export const T0 = Date.UTC(2026, 0, 1);

export const POLICY: Policy = {
  heartbeatInterval: 15 * S,
  agentTimeout: 75 * S,
  livenessGranularity: 60 * S,
  masterLease: 30 * S,
  reregisterTimeout: 600 * S,
  sweepInterval: 5 * S,
  maxClockSkew: 2 * S,
  recoveryUnreachableLimit: 0.5,
  recoveryUnreachableMinimum: 3,
  registryRetention: 14 * 86_400 * S,
  registryMaxEntries: 102_400,
  maxAgents: 100_000,
};

/** A master record that swept at `at` in a steady state (epoch 5, no recovery). */
export const servingMaster = (at: number, over: Partial<MasterRecord> = {}): MasterRecord => ({
  epoch: 5,
  leaseExpiresAt: at + POLICY.masterLease,
  lastSweepAt: at,
  livenessFloor: T0 - 3_600 * S,
  recovery: { state: 'done' },
  startedAt: T0 - 3_600 * S,
  ...over,
});
